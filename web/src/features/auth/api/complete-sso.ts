import { api, call } from '@/lib/api-client';
import type { components } from '@/api/schema';

export type CompleteResponse = components['schemas']['CompleteResponse'];

export function completeSso(result: string): Promise<CompleteResponse> {
  return call(api.POST('/api/v1/auth/sso/complete', { body: { result } }));
}
