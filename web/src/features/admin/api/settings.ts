import { api, call } from '@/lib/api-client';
import type { components } from '@/api/schema';

export type SiteSettings = components['schemas']['SiteSettings'];

export function getSettings(): Promise<SiteSettings> {
  return call(api.GET('/api/v1/admin/settings'));
}

export type SiteSettingsPatch = components['schemas']['SiteSettingsPatch'];

export function patchSettings(body: SiteSettingsPatch): Promise<SiteSettings> {
  return call(api.PATCH('/api/v1/admin/settings', { body }));
}
