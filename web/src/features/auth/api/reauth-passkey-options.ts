import { api, call } from '@/lib/api-client';
import { toAuthenticationStart, type AuthenticationStart } from './passkey-login-options';

/** A challenge for confirming it's you with one of your own passkeys. */
export async function reauthPasskeyOptions(): Promise<AuthenticationStart> {
  return toAuthenticationStart(await call(api.POST('/api/v1/auth/reauth/passkey/options')));
}
