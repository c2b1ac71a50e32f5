import { api, call } from '@/lib/api-client';
import type { components } from '@/api/schema';

export type User = components['schemas']['UserView'];
export type CreateUserInput = components['schemas']['CreateUserRequest'];
export type ResetTwoFactorInput = components['schemas']['ResetTwoFactorRequest'];

export async function listUsers(): Promise<User[]> {
  return (await call(api.GET('/api/v1/admin/users'))).users;
}

export function createUser(body: CreateUserInput): Promise<User> {
  return call(api.POST('/api/v1/admin/users', { body }));
}

export function resetTwoFactor(id: string, body: ResetTwoFactorInput) {
  return call(api.POST('/api/v1/admin/users/{id}/2fa/reset', { params: { path: { id } }, body }));
}

export type UpdateUserInput = components['schemas']['UpdateUserRequest'];

/** Name, role or disabled; disabling ends every session of the user. 409 `self_action_forbidden`. */
export function updateUser(id: string, body: UpdateUserInput): Promise<User> {
  return call(api.PATCH('/api/v1/admin/users/{id}', { params: { path: { id } }, body }));
}

/** Lifts a password or second-factor lock. */
export async function unlockUser(id: string): Promise<void> {
  await call(api.POST('/api/v1/admin/users/{id}/unlock', { params: { path: { id } } }));
}

/** Mails the user a single-use reset link (202). */
export async function sendResetLink(id: string): Promise<void> {
  await call(api.POST('/api/v1/admin/users/{id}/password-reset', { params: { path: { id } } }));
}

/** Deletes the user; their audit history stays. 409 `self_action_forbidden`. */
export async function deleteUser(id: string): Promise<void> {
  await call(api.DELETE('/api/v1/admin/users/{id}', { params: { path: { id } } }));
}
