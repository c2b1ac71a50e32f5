import { api, call } from '@/lib/api-client';

/** Sends a code to the user's e-mail; confirm it with `confirm2fa('email', code)`. */
export function setupEmail() {
  return call(api.POST('/api/v1/me/2fa/email/setup'));
}
