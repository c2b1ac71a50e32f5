/**
 * The web app's languages (i18next + react-i18next). One catalog per language and namespace:
 * `src/locales/<language>/<namespace>.json`, picked up here by file name — a new file is a new
 * namespace, a new folder a new language (add it to `LANGUAGES` too).
 *
 * The language shown: the account's own choice (`locale` of GET /me, set in the profile), else
 * the browser's preferred language we have, else English.
 */
import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';

/** The languages we ship, with their names as their speakers write them (the profile's picker). */
export const LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'zh-CN', name: '简体中文' },
] as const;
export type Language = (typeof LANGUAGES)[number]['code'];
export const DEFAULT_LANGUAGE: Language = 'en';

const files = import.meta.glob<{ default: Record<string, unknown> }>('../locales/*/*.json', { eager: true });

/** `{ en: { auth: {...}, ... }, 'zh-CN': {...} }` from the catalog files. */
export const catalogs: Record<string, Record<string, Record<string, unknown>>> = {};
for (const [path, mod] of Object.entries(files)) {
  const m = /\/locales\/([^/]+)\/([^/]+)\.json$/.exec(path);
  if (!m) continue;
  const [, lang, ns] = m as unknown as [string, string, string];
  (catalogs[lang] ??= {})[ns] = mod.default;
}

/** The first of the browser's preferred languages we have (`zh`, `zh-Hans`, `zh-SG` → `zh-CN`). */
export function browserLanguage(preferred: readonly string[] = navigatorLanguages()): Language {
  for (const tag of preferred) {
    const lower = tag.toLowerCase();
    if (lower === 'zh' || lower.startsWith('zh-cn') || lower.startsWith('zh-hans') || lower === 'zh-sg') return 'zh-CN';
    if (lower === 'en' || lower.startsWith('en-')) return 'en';
  }
  return DEFAULT_LANGUAGE;
}

function navigatorLanguages(): readonly string[] {
  if (typeof navigator === 'undefined') return [];
  return navigator.languages?.length ? navigator.languages : navigator.language ? [navigator.language] : [];
}

/** The language to show: the account's choice when it has one, else the browser's. */
export function resolveLanguage(accountChoice: string | null | undefined): Language {
  const chosen = LANGUAGES.find((l) => l.code === accountChoice);
  return chosen ? chosen.code : browserLanguage();
}

void i18n.use(initReactI18next).init({
  resources: catalogs,
  lng: browserLanguage(),
  fallbackLng: DEFAULT_LANGUAGE,
  supportedLngs: LANGUAGES.map((l) => l.code),
  defaultNS: 'common',
  ns: Object.keys(catalogs[DEFAULT_LANGUAGE] ?? {}),
  interpolation: { escapeValue: false }, // React escapes.
  initAsync: false,
});

/** Shows `language` from now on (and sets `<html lang>`). */
export function setLanguage(language: Language): void {
  if (i18n.language !== language) void i18n.changeLanguage(language);
  if (typeof document !== 'undefined') document.documentElement.lang = language;
}
if (typeof document !== 'undefined') document.documentElement.lang = i18n.language;

export default i18n;
