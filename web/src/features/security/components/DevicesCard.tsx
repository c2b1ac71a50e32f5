import { useState } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import { Alert, Loading } from '@/components/Alert';
import { Button } from '@/components/Button';
import { formatTime } from '@/lib/format';
import { hasCode, problemMessage } from '@/lib/problem';
import { useSensitive } from '@/lib/reauth';
import { useAction, useAsync } from '@/lib/use-async';
import { deleteSession } from '../api/delete-session';
import { listSessions, type Session } from '../api/list-sessions';
import { revokeOtherSessions } from '../api/revoke-other-sessions';
import { deviceName, orderSessions } from './sessions';
import { TrustedDevices } from './TrustedDevices';

/**
 * Security Settings → "Devices": where the account is signed in (one row per sign-in), with
 * "Sign out" for each other device and "Sign out other devices". `version` reloads the list
 * (after a password change ended the other sessions).
 */
export function DevicesCard({ version = 0 }: { version?: number }) {
  const { t } = useTranslation('security');
  const sessions = useAsync(listSessions, [version]);
  const sensitive = useSensitive();
  const [notice, setNotice] = useState<string | null>(null);
  const [busyId, setBusyId] = useState<string | null>(null);
  // "Sign out other devices" forgets their trust too: the trusted list reloads after it.
  const [trustVersion, setTrustVersion] = useState(0);

  const signOutOne = useAction(async (s: Session) => {
    setNotice(null);
    setBusyId(s.id);
    try {
      await sensitive(() => deleteSession(s.id));
      setNotice(t('devices.signedOut', { device: deviceName(s) }));
    } catch (err) {
      if (!hasCode(err, 'not_found')) throw err;
      setNotice(problemMessage(err, 'sign_out_session'));
    } finally {
      setBusyId(null);
    }
    sessions.reload();
  });

  const signOutOthers = useAction(async () => {
    setNotice(null);
    await sensitive(revokeOtherSessions);
    setNotice(t('devices.othersSignedOut'));
    sessions.reload();
    setTrustVersion((v) => v + 1);
  });

  const list = sessions.data ? orderSessions(sessions.data) : null;
  const others = list?.filter((s) => !s.current) ?? [];
  const error = sessions.error ?? signOutOne.error ?? signOutOthers.error;

  return (
    <section className="card" aria-labelledby="devices-title" aria-busy={sessions.loading || undefined}>
      <div className="row spread">
        <h2 id="devices-title">{t('devices.title')}</h2>
        {others.length > 0 && (
          <Button variant="danger" onClick={() => void signOutOthers.run()} busy={signOutOthers.pending}>
            {t('devices.signOutOthers')}
          </Button>
        )}
      </div>
      <p className="muted">{t('devices.intro')}</p>
      <Alert kind="success">{notice}</Alert>
      <Alert>{error ? problemMessage(error) : null}</Alert>
      {sessions.loading && !list && <Loading label={t('devices.loading')} />}
      {list && list.length === 0 && <p className="empty">{t('devices.none')}</p>}
      {list && list.length > 0 && (
        <ul className="method-list" aria-label={t('devices.listLabel')}>
          {list.map((s) => (
            <li key={s.id} className="method device">
              <div>
                <h3>
                  {deviceName(s)} {s.current && <span className="badge badge-ok">{t('devices.thisDevice')}</span>}
                </h3>
                <p className="muted small">
                  {s.ip ? t('devices.ip', { ip: s.ip }) : null}
                  <Trans
                    t={t}
                    i18nKey="devices.signedInLastUsed"
                    values={{ created: formatTime(s.created_at), used: formatTime(s.last_used_at) }}
                    components={{ created: <time dateTime={s.created_at} />, used: <time dateTime={s.last_used_at} /> }}
                  />
                </p>
              </div>
              {!s.current && (
                <div className="method-actions">
                  <Button
                    onClick={() => void signOutOne.run(s)}
                    busy={busyId === s.id}
                    disabled={busyId !== null || signOutOthers.pending}
                    aria-label={s.ip ? t('devices.signOutLabelIp', { device: deviceName(s), ip: s.ip }) : t('devices.signOutLabel', { device: deviceName(s) })}
                  >
                    {t('devices.signOut')}
                  </Button>
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      {list && list.length > 0 && others.length === 0 && <p className="muted small">{t('devices.noOthers')}</p>}
      <TrustedDevices version={version + trustVersion} />
    </section>
  );
}
