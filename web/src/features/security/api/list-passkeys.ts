import { api, call } from '@/lib/api-client';
import type { components } from '@/api/schema';

export type Passkey = components['schemas']['PasskeyView'];

/** The user's passkeys, in the order the API gives them. */
export async function listPasskeys(): Promise<Passkey[]> {
  return (await call(api.GET('/api/v1/me/passkeys'))).passkeys;
}
