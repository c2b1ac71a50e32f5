import type { RegistrationResponseJSON } from '@simplewebauthn/browser';
import { api, call } from '@/lib/api-client';
import type { components } from '@/api/schema';
import type { Passkey } from './list-passkeys';

/** Stores the passkey the browser just created (fresh sign-in). An empty name gets a default. */
export function addPasskey(challengeId: string, name: string, credential: RegistrationResponseJSON): Promise<Passkey> {
  return call(
    api.POST('/api/v1/me/passkeys', {
      body: { challenge_id: challengeId, name, credential: credential as unknown as components['schemas']['AddPasskeyRequest']['credential'] },
    }),
  );
}
