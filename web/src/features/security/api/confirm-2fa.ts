import { api, call } from '@/lib/api-client';
import type { components } from '@/api/schema';

export type TwoFactorEnabled = components['schemas']['TwoFactorEnabled'];

export function confirm2fa(method: components['schemas']['TwoFactorMethod'], code: string): Promise<TwoFactorEnabled> {
  return call(api.POST('/api/v1/me/2fa/{method}/confirm', { params: { path: { method } }, body: { code } }));
}
