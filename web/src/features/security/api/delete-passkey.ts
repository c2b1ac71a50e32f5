import { api, call } from '@/lib/api-client';

/** Removes one passkey (fresh sign-in); it can no longer sign in. */
export async function deletePasskey(id: string): Promise<void> {
  await call(api.DELETE('/api/v1/me/passkeys/{id}', { params: { path: { id } } }));
}
