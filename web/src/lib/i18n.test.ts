import { describe, expect, it } from 'vitest';
import i18n, { browserLanguage, catalogs, DEFAULT_LANGUAGE, LANGUAGES, resolveLanguage } from './i18n';

/** Every leaf key of a catalog, dotted (`a.b.c`), with its text. */
function leaves(obj: Record<string, unknown>, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object') for (const [kk, vv] of leaves(v as Record<string, unknown>, key)) out.set(kk, vv);
    else out.set(key, String(v));
  }
  return out;
}

/** The `{{variables}}` a text interpolates, and the `<0>` tags it wraps. */
function placeholders(text: string): string[] {
  return [...text.matchAll(/\{\{\s*([\w.]+)[^}]*\}\}|<(\d+)>/g)].map((m) => m[1] ?? `<${m[2]}>`).sort();
}

describe('message catalogs', () => {
  const base = catalogs[DEFAULT_LANGUAGE]!;

  it('every_language_has_every_namespace_and_key_and_no_extra_ones', () => {
    for (const { code } of LANGUAGES) {
      const cat = catalogs[code];
      expect(cat, `no catalog for ${code}`).toBeDefined();
      expect(Object.keys(cat!).sort(), `namespaces of ${code}`).toEqual(Object.keys(base).sort());
      for (const ns of Object.keys(base)) {
        const want = [...leaves(base[ns]!).keys()].sort();
        const have = [...leaves(cat![ns]!).keys()].sort();
        expect(have, `keys of ${code}/${ns}.json`).toEqual(want);
      }
    }
  });

  it('no_text_is_empty_and_every_translation_keeps_the_variables', () => {
    for (const { code } of LANGUAGES) {
      for (const ns of Object.keys(base)) {
        const en = leaves(base[ns]!);
        for (const [key, text] of leaves(catalogs[code]![ns]!)) {
          expect(text.trim(), `${code}/${ns}:${key} is empty`).not.toBe('');
          expect(placeholders(text), `${code}/${ns}:${key} variables`).toEqual(placeholders(en.get(key) ?? ''));
        }
      }
    }
  });

  it('the_chinese_catalog_is_translated_not_copied', () => {
    // A text left in English in zh-CN is a forgotten translation (product names may stay).
    const same: string[] = [];
    for (const ns of Object.keys(base)) {
      const en = leaves(base[ns]!);
      for (const [key, text] of leaves(catalogs['zh-CN']![ns]!)) {
        if (text === en.get(key) && /[a-z]{4,}/.test(text) && !/^[A-Z][\w ]*$/.test(text)) same.push(`${ns}:${key}`);
      }
    }
    expect(same).toEqual([]);
  });
});

describe('language choice', () => {
  it('the_account_choice_wins_over_the_browser', () => {
    expect(resolveLanguage('zh-CN')).toBe('zh-CN');
    expect(resolveLanguage('en')).toBe('en');
  });

  it('the_browser_language_is_used_when_the_account_has_none', () => {
    expect(browserLanguage(['zh-CN', 'en'])).toBe('zh-CN');
    expect(browserLanguage(['zh'])).toBe('zh-CN');
    expect(browserLanguage(['zh-Hans-CN'])).toBe('zh-CN');
    expect(browserLanguage(['fr-FR', 'en-GB'])).toBe('en');
  });

  it('english_is_the_last_resort', () => {
    expect(browserLanguage(['fr-FR', 'de'])).toBe('en');
    expect(browserLanguage([])).toBe('en');
    expect(resolveLanguage('xx')).toBe(browserLanguage());
  });

  it('a_missing_key_falls_back_to_english_never_the_raw_key', async () => {
    await i18n.changeLanguage('zh-CN');
    expect(i18n.t('common:loading')).toBe(catalogs['zh-CN']!.common!.loading);
    await i18n.changeLanguage('en');
  });
});
