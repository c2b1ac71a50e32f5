import { call } from '@/lib/api-client';
import { http } from '@/lib/http';
import type { components } from '@/api/schema';

export type ProviderSummary = components['schemas']['ProviderSummary'];

/** The "Sign in with …" buttons of a site; an unknown site has none. */
export async function getSsoProviders(tenant: string, signal?: AbortSignal): Promise<ProviderSummary[]> {
  const data = await call(http.GET('/api/v1/auth/sso/providers', { params: { query: { tenant } }, signal }));
  return data.providers;
}
