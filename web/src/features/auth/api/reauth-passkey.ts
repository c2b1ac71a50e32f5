import type { AuthenticationResponseJSON } from '@simplewebauthn/browser';
import { api, call } from '@/lib/api-client';
import { acceptToken } from '@/lib/auth';
import type { components } from '@/api/schema';

/** A fresh `auth_time` from a passkey: the new access token replaces the old one in every tab. */
export async function reauthPasskey(challengeId: string, credential: AuthenticationResponseJSON): Promise<void> {
  const data = await call(
    api.POST('/api/v1/auth/reauth/passkey', {
      body: { challenge_id: challengeId, credential: credential as unknown as components['schemas']['PasskeyReauthRequest']['credential'] },
    }),
  );
  if (data.status === 'authenticated') acceptToken(data.access_token, data.expires_in);
}
