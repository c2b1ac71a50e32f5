import { api, call } from '@/lib/api-client';
import type { components } from '@/api/schema';

export type TotpSetup = components['schemas']['TotpSetupStarted'];

export function setupTotp(): Promise<TotpSetup> {
  return call(api.POST('/api/v1/me/2fa/totp/setup'));
}
