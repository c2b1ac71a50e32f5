import { api, call } from '@/lib/api-client';
import type { components } from '@/api/schema';

export type MySso = components['schemas']['MySso'];

export function getMySso(): Promise<MySso> {
  return call(api.GET('/api/v1/me/sso'));
}
