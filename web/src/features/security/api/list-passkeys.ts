import { api, call } from '@/lib/api-client';
import type { PendingPasskey } from '@/api/passkeys-pending';

export type Passkey = PendingPasskey;

/** The user's passkeys, in the order the API gives them. */
export async function listPasskeys(): Promise<Passkey[]> {
  return (await call(api.GET('/api/v1/me/passkeys'))).passkeys;
}
