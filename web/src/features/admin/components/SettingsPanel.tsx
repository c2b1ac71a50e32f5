import { Alert, Loading } from '@/components/Alert';
import { problemMessage } from '@/lib/problem';
import { useSensitive } from '@/lib/reauth';
import { useAction, useAsync } from '@/lib/use-async';
import { getSettings, patchSettings } from '../api/settings';

export function SettingsPanel() {
  const settings = useAsync(getSettings, []);
  const sensitive = useSensitive();
  const save = useAction(async (require2fa: boolean) =>
    settings.setData(await sensitive(() => patchSettings({ require_2fa: require2fa }))),
  );
  const s = settings.data;
  return (
    <section aria-labelledby="settings-title">
      <h2 id="settings-title">Site settings</h2>
      <Alert>{settings.error ? problemMessage(settings.error) : save.error ? problemMessage(save.error) : null}</Alert>
      {settings.loading && !s && <Loading />}
      {s && (
        <div className="field checkbox">
          <input
            id="require-2fa"
            type="checkbox"
            checked={s.require_2fa}
            disabled={save.pending}
            onChange={(e) => void save.run(e.target.checked)}
            aria-describedby="require-2fa-hint"
          />
          <label htmlFor="require-2fa">Require 2FA for everyone</label>
          <p className="field-hint" id="require-2fa-hint">
            Users without two-factor authentication must set it up at their next sign-in before they can do anything else.
          </p>
        </div>
      )}
    </section>
  );
}
