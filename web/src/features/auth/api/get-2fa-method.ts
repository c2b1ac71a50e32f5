import { api, call } from '@/lib/api-client';

/** The user's second factor, which the re-authentication dialog has to ask for. */
export async function get2faMethod(): Promise<'email' | 'totp' | null> {
  const status = await call(api.GET('/api/v1/me/2fa'));
  if (!status.enabled) return null;
  return status.method === 'email' ? 'email' : status.method === 'totp' ? 'totp' : null;
}
