import { api, call } from '@/lib/api-client';
import type { components } from '@/api/schema';

export type Intent = components['schemas']['Intent'];

/** Start an SSO attempt; `connect` sends the bearer token (the `api` client adds it). */
export async function authorizeSso(providerId: string, intent: Intent, returnTo?: string): Promise<string> {
  const data = await call(
    api.POST('/api/v1/auth/sso/{provider_id}/authorize', {
      params: { path: { provider_id: providerId } },
      body: { intent, return_to: returnTo ?? null },
    }),
  );
  return data.authorization_url;
}
