import { api, call } from '@/lib/api-client';
import type { components } from '@/api/schema';

export type Session = components['schemas']['SessionView'];

/** The user's sessions (one per sign-in), newest first. */
export async function listSessions(): Promise<Session[]> {
  return (await call(api.GET('/api/v1/me/sessions'))).sessions;
}
