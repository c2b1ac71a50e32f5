import { api, call } from '@/lib/api-client';

/** "Sign out other devices": every session but this one ends. */
export async function revokeOtherSessions(): Promise<void> {
  await call(api.POST('/api/v1/me/sessions/revoke-others'));
}
