import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Alert, Loading } from '@/components/Alert';
import { Button } from '@/components/Button';
import { Field } from '@/components/Field';
import { problemMessage } from '@/lib/problem';
import { useSensitive } from '@/lib/reauth';
import { useAction, useAsync } from '@/lib/use-async';
import { getSettings, patchSettings, type SiteSettingsPatch } from '../api/settings';

export const MIN_REMEMBER_DAYS = 1;
export const MAX_REMEMBER_DAYS = 90;

/** The days typed, if they are a whole number the server accepts (1–90). */
export function parseRememberDays(text: string): number | null {
  if (!/^\d{1,2}$/.test(text.trim())) return null;
  const days = Number(text.trim());
  return days >= MIN_REMEMBER_DAYS && days <= MAX_REMEMBER_DAYS ? days : null;
}

/**
 * Site settings: require 2FA, passkeys, and "Remember this device" (allowed or not, for how many
 * days, and the assurance level such a sign-in gets). Each change is sent alone (PATCH takes only
 * the changed field), behind the admin's re-authentication.
 */
export function SettingsPanel() {
  const { t } = useTranslation('admin');
  const settings = useAsync(getSettings, []);
  const sensitive = useSensitive();
  const save = useAction(async (patch: SiteSettingsPatch) =>
    settings.setData(await sensitive(() => patchSettings(patch))),
  );
  const s = settings.data;
  const [days, setDays] = useState('');
  // The field follows what the server holds after every load or save (set while rendering, the
  // way React adjusts state to a changed input, not in an effect).
  const [daysOf, setDaysOf] = useState<typeof s>(undefined);
  if (s !== daysOf) {
    setDaysOf(s);
    if (s) setDays(String(s.remember_device_days));
  }
  const parsedDays = parseRememberDays(days);
  const daysChanged = s != null && parsedDays != null && parsedDays !== s.remember_device_days;

  function saveDays(e: FormEvent) {
    e.preventDefault();
    if (daysChanged && parsedDays != null) void save.run({ remember_device_days: parsedDays });
  }

  return (
    <section aria-labelledby="settings-title">
      <h2 id="settings-title">{t('settings.title')}</h2>
      <Alert>{settings.error ? problemMessage(settings.error) : save.error ? problemMessage(save.error) : null}</Alert>
      {settings.loading && !s && <Loading />}
      {s && (
        <>
          <div className="field checkbox">
            <input
              id="require-2fa"
              type="checkbox"
              checked={s.require_2fa}
              disabled={save.pending}
              onChange={(e) => void save.run({ require_2fa: e.target.checked })}
              aria-describedby="require-2fa-hint"
            />
            <label htmlFor="require-2fa">{t('settings.require2fa.label')}</label>
            <p className="field-hint" id="require-2fa-hint">
              {t('settings.require2fa.hint')}
            </p>
          </div>
          <div className="field checkbox">
            <input
              id="passkeys-enabled"
              type="checkbox"
              checked={s.passkeys_enabled}
              disabled={save.pending}
              onChange={(e) => void save.run({ passkeys_enabled: e.target.checked })}
              aria-describedby="passkeys-enabled-hint"
            />
            <label htmlFor="passkeys-enabled">{t('settings.passkeys.label')}</label>
            <p className="field-hint" id="passkeys-enabled-hint">
              {t('settings.passkeys.hint')}
            </p>
          </div>
          <div className="field checkbox">
            <input
              id="remember-device"
              type="checkbox"
              checked={s.remember_device}
              disabled={save.pending}
              onChange={(e) => void save.run({ remember_device: e.target.checked })}
              aria-describedby="remember-device-hint"
            />
            <label htmlFor="remember-device">{t('settings.rememberDevice.label')}</label>
            <p className="field-hint" id="remember-device-hint">
              {t('settings.rememberDevice.hint')}
            </p>
          </div>
          <form className="row" onSubmit={saveDays} noValidate>
            <Field
              label={t('settings.rememberDays.label')}
              name="remember_device_days"
              type="number"
              inputMode="numeric"
              min={MIN_REMEMBER_DAYS}
              max={MAX_REMEMBER_DAYS}
              value={days}
              disabled={save.pending}
              onChange={(e) => setDays(e.target.value)}
              hint={t('settings.rememberDays.hint')}
              error={days.trim() !== '' && parsedDays == null ? t('settings.rememberDays.invalid') : undefined}
            />
            <Button type="submit" busy={save.pending} disabled={!daysChanged}>
              {t('buttons.save')}
            </Button>
          </form>
          <div className="field">
            <label htmlFor="remembered-acr">{t('settings.rememberedAcr.label')}</label>
            <select
              id="remembered-acr"
              value={s.remembered_device_acr}
              disabled={save.pending}
              onChange={(e) =>
                void save.run({ remembered_device_acr: e.target.value === 'aal1' ? 'aal1' : 'aal2' })
              }
              aria-describedby="remembered-acr-hint"
            >
              <option value="aal2">{t('settings.rememberedAcr.aal2')}</option>
              <option value="aal1">{t('settings.rememberedAcr.aal1')}</option>
            </select>
            <p className="field-hint" id="remembered-acr-hint">
              {t('settings.rememberedAcr.hint')}
            </p>
          </div>
        </>
      )}
    </section>
  );
}
