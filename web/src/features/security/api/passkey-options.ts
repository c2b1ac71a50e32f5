import type { PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/browser';
import { api, call } from '@/lib/api-client';

export type RegistrationStart = { challengeId: string; publicKey: PublicKeyCredentialCreationOptionsJSON };

/**
 * The browser's "create a passkey" options (fresh sign-in, else 403 `reauth_required`; 403
 * `passkeys_disabled` when the site turned passkeys off). The server's answer is webauthn-rs's
 * `{publicKey: …}` JSON, which is the WebAuthn Level 3 JSON form @simplewebauthn/browser reads.
 */
export async function passkeyOptions(): Promise<RegistrationStart> {
  const data = await call(api.POST('/api/v1/me/passkeys/options'));
  const options = data.options as { publicKey?: PublicKeyCredentialCreationOptionsJSON };
  if (!options.publicKey) throw new Error('The server answered without passkey options.');
  return { challengeId: data.challenge_id, publicKey: options.publicKey };
}
