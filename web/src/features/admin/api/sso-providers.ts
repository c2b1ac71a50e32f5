import { api, call } from '@/lib/api-client';
import type { components } from '@/api/schema';

export type ProviderView = components['schemas']['ProviderView'];
export type ProviderInput = components['schemas']['ProviderInput'];
export type ProviderTest = components['schemas']['ProviderTest'];

export async function listProviders(): Promise<ProviderView[]> {
  return (await call(api.GET('/api/v1/admin/sso-providers'))).providers;
}

export function createProvider(body: ProviderInput): Promise<ProviderView> {
  return call(api.POST('/api/v1/admin/sso-providers', { body }));
}

export function patchProvider(id: string, body: ProviderInput): Promise<ProviderView> {
  return call(api.PATCH('/api/v1/admin/sso-providers/{id}', { params: { path: { id } }, body }));
}

export function deleteProvider(id: string) {
  return call(api.DELETE('/api/v1/admin/sso-providers/{id}', { params: { path: { id } } }));
}

export function testProvider(id: string): Promise<ProviderTest> {
  return call(api.POST('/api/v1/admin/sso-providers/{id}/test', { params: { path: { id } } }));
}
