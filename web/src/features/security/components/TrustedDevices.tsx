import { useState } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import { Alert, Loading } from '@/components/Alert';
import { Button } from '@/components/Button';
import { formatDate } from '@/lib/format';
import i18n from '@/lib/i18n';
import { hasCode, problemMessage } from '@/lib/problem';
import { useAction, useAsync } from '@/lib/use-async';
import {
  forgetAllTrustedDevices,
  forgetTrustedDevice,
  listTrustedDevices,
  type TrustedDevice,
} from '../api/trusted-devices';

function label(d: Pick<TrustedDevice, 'label'>): string {
  return d.label.trim() || i18n.t('security:trusted.unknown');
}

/**
 * The Devices card's "Trusted devices": browsers that skip the second factor at sign-in, until
 * when, with "Forget" for each and "Forget all". `version` reloads the list (after "Sign out
 * other devices" forgot the others).
 */
export function TrustedDevices({ version = 0 }: { version?: number }) {
  const { t } = useTranslation('security');
  const devices = useAsync(listTrustedDevices, [version]);
  const [notice, setNotice] = useState<string | null>(null);
  const [busyId, setBusyId] = useState<string | null>(null);

  const forgetOne = useAction(async (d: TrustedDevice) => {
    setNotice(null);
    setBusyId(d.id);
    try {
      await forgetTrustedDevice(d.id);
      setNotice(t('trusted.forgotten', { device: label(d) }));
    } catch (err) {
      // Already forgotten (another tab, or it expired): the reload shows the list as it is.
      if (!hasCode(err, 'not_found')) throw err;
    } finally {
      setBusyId(null);
    }
    devices.reload();
  });

  const forgetAll = useAction(async () => {
    setNotice(null);
    await forgetAllTrustedDevices();
    setNotice(t('trusted.allForgotten'));
    devices.reload();
  });

  const list = devices.data ?? null;
  const error = devices.error ?? forgetOne.error ?? forgetAll.error;

  return (
    <div className="trusted-devices" aria-busy={devices.loading || undefined}>
      <div className="row spread">
        <h3 id="trusted-devices-title">{t('trusted.title')}</h3>
        {list && list.length > 0 && (
          <Button variant="danger" onClick={() => void forgetAll.run()} busy={forgetAll.pending} disabled={busyId !== null}>
            {t('trusted.forgetAll')}
          </Button>
        )}
      </div>
      <p className="muted">{t('trusted.intro')}</p>
      <Alert kind="success">{notice}</Alert>
      <Alert>{error ? problemMessage(error) : null}</Alert>
      {devices.loading && !list && <Loading label={t('trusted.loading')} />}
      {list && list.length === 0 && <p className="empty">{t('trusted.none')}</p>}
      {list && list.length > 0 && (
        <ul className="method-list" aria-labelledby="trusted-devices-title">
          {list.map((d) => (
            <li key={d.id} className="method device">
              <div>
                <h4>
                  {label(d)} {d.current && <span className="badge badge-ok">{t('trusted.thisDevice')}</span>}
                </h4>
                <p className="muted small">
                  <Trans
                    t={t}
                    i18nKey="trusted.until"
                    values={{ date: formatDate(d.expires_at) }}
                    components={{ time: <time dateTime={d.expires_at} /> }}
                  />
                </p>
              </div>
              <div className="method-actions">
                <Button
                  onClick={() => void forgetOne.run(d)}
                  busy={busyId === d.id}
                  disabled={busyId !== null || forgetAll.pending}
                  aria-label={t(d.current ? 'trusted.forgetLabelCurrent' : 'trusted.forgetLabel', { device: label(d) })}
                >
                  {t('trusted.forget')}
                </Button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
