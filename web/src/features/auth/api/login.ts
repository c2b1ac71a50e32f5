import { call } from '@/lib/api-client';
import { http } from '@/lib/http';
import type { components } from '@/api/schema';

export type LoginInput = components['schemas']['LoginRequest'];
export type SignInResponse = components['schemas']['SignInResponse'];

export function login(body: LoginInput): Promise<SignInResponse> {
  return call(http.POST('/api/v1/auth/login', { body }));
}
