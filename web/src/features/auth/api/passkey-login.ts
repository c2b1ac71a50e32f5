import type { AuthenticationResponseJSON } from '@simplewebauthn/browser';
import { call } from '@/lib/api-client';
import { http } from '@/lib/http';
import type { components } from '@/api/schema';
import type { SignInResponse } from './login';

/** Signs in with the passkey's assertion: the same answer as a password sign-in (cookie delivery). */
export function passkeyLogin(tenant: string, challengeId: string, credential: AuthenticationResponseJSON): Promise<SignInResponse> {
  return call(
    http.POST('/api/v1/auth/passkey/login', {
      body: { tenant, challenge_id: challengeId, credential: credential as unknown as components['schemas']['PasskeyLoginRequest']['credential'] },
    }),
  );
}
