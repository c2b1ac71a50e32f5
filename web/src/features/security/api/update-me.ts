import { api, call } from '@/lib/api-client';
import type { components } from '@/api/schema';
import type { Me } from '@/lib/me';

export type Locale = components['schemas']['Locale'];

/** The account's language for the app and its mails; `null` goes back to the browser's. */
export function updateLocale(locale: Locale | null): Promise<Me> {
  return call(api.PATCH('/api/v1/me', { body: { locale } }));
}
