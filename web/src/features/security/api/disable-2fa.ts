import { api, call } from '@/lib/api-client';

export function disable2fa(password: string) {
  return call(api.POST('/api/v1/me/2fa/disable', { body: { password } }));
}
