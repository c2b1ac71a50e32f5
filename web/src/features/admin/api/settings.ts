import { api, call } from '@/lib/api-client';
import type { components } from '@/api/schema';

export type SiteSettings = components['schemas']['SiteSettings'];

export function getSettings(): Promise<SiteSettings> {
  return call(api.GET('/api/v1/admin/settings'));
}

export function patchSettings(body: SiteSettings): Promise<SiteSettings> {
  return call(api.PATCH('/api/v1/admin/settings', { body }));
}
