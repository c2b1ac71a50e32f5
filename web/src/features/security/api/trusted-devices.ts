import { api, call } from '@/lib/api-client';
import type { components } from '@/api/schema';

export type TrustedDevice = components['schemas']['TrustedDeviceView'];

/** The browsers that skip the second factor at sign-in ("Remember this device"), newest first. */
export async function listTrustedDevices(): Promise<TrustedDevice[]> {
  return (await call(api.GET('/api/v1/me/trusted-devices'))).devices;
}

/** Forgets one trusted device: its next sign-in asks for the second factor again. */
export async function forgetTrustedDevice(id: string): Promise<void> {
  await call(api.DELETE('/api/v1/me/trusted-devices/{id}', { params: { path: { id } } }));
}

/** Forgets every trusted device, this browser's too. */
export async function forgetAllTrustedDevices(): Promise<void> {
  await call(api.DELETE('/api/v1/me/trusted-devices'));
}
