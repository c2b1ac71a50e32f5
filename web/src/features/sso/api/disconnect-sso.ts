import { api, call } from '@/lib/api-client';

export function disconnectSso(connectionId: string) {
  return call(api.DELETE('/api/v1/me/sso/connections/{id}', { params: { path: { id: connectionId } } }));
}
