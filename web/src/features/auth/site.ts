export const SITE_KEY = 'cx_site';

/** The site's slug from `?site=`, else the one remembered from the last sign-in (never a token). */
export function rememberedSite(search: URLSearchParams): string {
  try {
    return search.get('site') ?? localStorage.getItem(SITE_KEY) ?? '';
  } catch {
    return search.get('site') ?? '';
  }
}
