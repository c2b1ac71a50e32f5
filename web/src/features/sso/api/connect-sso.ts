import { api, call } from '@/lib/api-client';

/** Start connecting an external account; the browser then goes to the provider. */
export async function connectSso(providerId: string, returnTo = '/settings/security'): Promise<string> {
  const data = await call(
    api.POST('/api/v1/auth/sso/{provider_id}/authorize', {
      params: { path: { provider_id: providerId } },
      body: { intent: 'connect', return_to: returnTo },
    }),
  );
  return data.authorization_url;
}
