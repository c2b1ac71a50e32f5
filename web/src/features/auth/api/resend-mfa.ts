import { call } from '@/lib/api-client';
import { http } from '@/lib/http';

export function resendMfa(mfaToken: string) {
  return call(http.POST('/api/v1/auth/mfa/resend', { body: { mfa_token: mfaToken } }));
}
