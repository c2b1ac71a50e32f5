import { api, call } from '@/lib/api-client';
import type { Me } from '@/lib/me';

export function getMe(): Promise<Me> {
  return call(api.GET('/api/v1/me'));
}
