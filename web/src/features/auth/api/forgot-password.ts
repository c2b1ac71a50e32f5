import { call } from '@/lib/api-client';
import { http } from '@/lib/http';
import type { components } from '@/api/schema';

export type ForgotInput = components['schemas']['ForgotRequest'];

/** 202 whatever the account: the answer never says whether it exists. */
export async function forgotPassword(body: ForgotInput): Promise<void> {
  await call(http.POST('/api/v1/auth/password/forgot', { body }));
}
