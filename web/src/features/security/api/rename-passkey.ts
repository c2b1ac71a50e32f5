import { api, call } from '@/lib/api-client';
import type { Passkey } from './list-passkeys';

/** A new name (1–64 characters once trimmed); no fresh sign-in needed. */
export function renamePasskey(id: string, name: string): Promise<Passkey> {
  return call(api.PATCH('/api/v1/me/passkeys/{id}', { params: { path: { id } }, body: { name } }));
}
