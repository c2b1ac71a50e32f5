import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Alert } from '@/components/Alert';
import { LANGUAGES, resolveLanguage, setLanguage } from '@/lib/i18n';
import { useMe } from '@/lib/me';
import { problemMessage } from '@/lib/problem';
import { useAction } from '@/lib/use-async';
import { updateLocale, type Locale } from '../api/update-me';

/** The value of "Browser default" in the picker: no choice stored on the account. */
const BROWSER_DEFAULT = '';

/**
 * Edit Profile → "Language": the account's language for the app and its mails, or the browser's.
 * A preference: no fresh sign-in needed. The app switches at once.
 */
export function LanguageCard() {
  const { t } = useTranslation('profile');
  const { me, reload } = useMe();
  const selectId = useId();
  const [saved, setSaved] = useState(false);
  // What was picked last: shown while the change is on its way and until /me has reloaded.
  const [picked, setPicked] = useState<string | null>(null);

  const save = useAction(async (locale: Locale | null) => {
    setSaved(false);
    const updated = await updateLocale(locale);
    setLanguage(resolveLanguage(updated.locale));
    setSaved(true);
    reload();
    return true;
  });

  const stored = me?.locale ?? BROWSER_DEFAULT;
  const value = picked ?? stored;

  return (
    <section className="card" aria-labelledby="language-title">
      <h2 id="language-title">{t('language.title')}</h2>
      <p className="muted">{t('language.description')}</p>
      <Alert kind="success">{saved ? t('language.saved') : null}</Alert>
      <Alert>{save.error ? problemMessage(save.error) : null}</Alert>
      <div className="field narrow-form">
        <label htmlFor={selectId}>{t('language.label')}</label>
        <select
          id={selectId}
          name="locale"
          value={value}
          // Not disabled while saving: a disabled control would drop the keyboard focus.
          disabled={!me}
          onChange={(e) => {
            const next = e.target.value;
            setPicked(next);
            // On failure the picker goes back to what the account holds.
            void save.run(next === BROWSER_DEFAULT ? null : (next as Locale)).then((ok) => {
              if (!ok) setPicked(null);
            });
          }}
        >
          <option value={BROWSER_DEFAULT}>{t('language.browserDefault')}</option>
          {LANGUAGES.map((l) => (
            <option key={l.code} value={l.code} lang={l.code}>
              {l.name}
            </option>
          ))}
        </select>
      </div>
    </section>
  );
}
