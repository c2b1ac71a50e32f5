import { api, call } from '@/lib/api-client';
import type { components } from '@/api/schema';

export type Me = components['schemas']['MeResponse'];

export function getMe(): Promise<Me> {
  return call(api.GET('/api/v1/me'));
}
