import { api, call } from '@/lib/api-client';

/** Signs one device out. */
export async function deleteSession(id: string): Promise<void> {
  await call(api.DELETE('/api/v1/me/sessions/{id}', { params: { path: { id } } }));
}
