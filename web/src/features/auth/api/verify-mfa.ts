import { call } from '@/lib/api-client';
import { http } from '@/lib/http';
import type { components } from '@/api/schema';

export type VerifyInput = components['schemas']['VerifyRequest'];

export function verifyMfa(body: VerifyInput) {
  return call(http.POST('/api/v1/auth/mfa/verify', { body }));
}
