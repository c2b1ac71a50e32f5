import type { components } from '@/api/schema';
import { api, call } from '@/lib/api-client';

/** The user's second factor, which the re-authentication dialog has to ask for. */
export async function get2faMethod(): Promise<components['schemas']['TwoFactorMethod'] | null> {
  const status = await call(api.GET('/api/v1/me/2fa'));
  if (!status.enabled) return null;
  return status.method ?? null;
}
