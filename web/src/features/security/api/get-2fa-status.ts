import { api, call } from '@/lib/api-client';
import type { components } from '@/api/schema';

export type TwoFactorStatus = components['schemas']['TwoFactorStatus'];

export function get2faStatus(): Promise<TwoFactorStatus> {
  return call(api.GET('/api/v1/me/2fa'));
}
