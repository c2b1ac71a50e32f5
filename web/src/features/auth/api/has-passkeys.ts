import { api, call } from '@/lib/api-client';

/** Whether the user has a passkey, so the re-authentication dialog can offer one. */
export async function hasPasskeys(): Promise<boolean> {
  return (await call(api.GET('/api/v1/me/passkeys'))).passkeys.length > 0;
}
