import { call } from '@/lib/api-client';
import { http } from '@/lib/http';

/** Sets a new password with the link's token; signs nobody in (2FA is still asked at sign-in). */
export async function resetPassword(token: string, newPassword: string): Promise<void> {
  await call(http.POST('/api/v1/auth/password/reset', { body: { token, new_password: newPassword } }));
}
