import { api, call } from '@/lib/api-client';
import { acceptToken } from '@/lib/auth';
import type { components } from '@/api/schema';

export type ReauthInput = components['schemas']['ReauthRequest'];

/** A fresh `auth_time`: the new access token replaces the old one in every tab. */
export async function reauth(body: ReauthInput): Promise<void> {
  const data = await call(api.POST('/api/v1/auth/reauth', { body }));
  if (data.status === 'authenticated') acceptToken(data.access_token, data.expires_in);
}
