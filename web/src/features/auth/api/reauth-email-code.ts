import { api, call } from '@/lib/api-client';

export function sendReauthEmailCode() {
  return call(api.POST('/api/v1/auth/reauth/email-code'));
}
