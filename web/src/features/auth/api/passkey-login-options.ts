import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { call } from '@/lib/api-client';
import { http } from '@/lib/http';

export type AuthenticationStart = { challengeId: string; publicKey: PublicKeyCredentialRequestOptionsJSON };

/** Turns `{challenge_id, options: {publicKey}}` into what @simplewebauthn/browser takes. */
export function toAuthenticationStart(data: { challenge_id: string; options: unknown }): AuthenticationStart {
  const options = data.options as { publicKey?: PublicKeyCredentialRequestOptionsJSON } | null;
  if (!options?.publicKey) throw new Error('The server answered without passkey options.');
  return { challengeId: data.challenge_id, publicKey: options.publicKey };
}

/**
 * A discoverable sign-in challenge for the site (no e-mail: the passkey says who). Spends the
 * address's sign-in budget (429); 403 `passkeys_disabled` where the site turned them off.
 */
export async function passkeyLoginOptions(tenant: string, signal?: AbortSignal): Promise<AuthenticationStart> {
  return toAuthenticationStart(await call(http.POST('/api/v1/auth/passkey/options', { body: { tenant }, signal })));
}
