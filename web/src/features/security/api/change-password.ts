import { api, call } from '@/lib/api-client';

/** Needs a fresh sign-in (403 `reauth_required`); ends the user's other sessions. */
export async function changePassword(currentPassword: string, newPassword: string): Promise<void> {
  await call(api.POST('/api/v1/me/password', { body: { current_password: currentPassword, new_password: newPassword } }));
}
