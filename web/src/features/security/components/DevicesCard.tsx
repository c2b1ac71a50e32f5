import { useState } from 'react';
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
      setNotice(`${deviceName(s)} was signed out.`);
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
    setNotice('Your other devices were signed out.');
    sessions.reload();
    setTrustVersion((v) => v + 1);
  });

  const list = sessions.data ? orderSessions(sessions.data) : null;
  const others = list?.filter((s) => !s.current) ?? [];
  const error = sessions.error ?? signOutOne.error ?? signOutOthers.error;

  return (
    <section className="card" aria-labelledby="devices-title" aria-busy={sessions.loading || undefined}>
      <div className="row spread">
        <h2 id="devices-title">Devices</h2>
        {others.length > 0 && (
          <Button variant="danger" onClick={() => void signOutOthers.run()} busy={signOutOthers.pending}>
            Sign out other devices
          </Button>
        )}
      </div>
      <p className="muted">Where your account is signed in. Sign out a device you do not recognise, then change your password.</p>
      <Alert kind="success">{notice}</Alert>
      <Alert>{error ? problemMessage(error) : null}</Alert>
      {sessions.loading && !list && <Loading label="Loading devices…" />}
      {list && list.length === 0 && <p className="empty">No devices are signed in.</p>}
      {list && list.length > 0 && (
        <ul className="method-list" aria-label="Signed-in devices">
          {list.map((s) => (
            <li key={s.id} className="method device">
              <div>
                <h3>
                  {deviceName(s)} {s.current && <span className="badge badge-ok">This device</span>}
                </h3>
                <p className="muted small">
                  {s.ip ? <>IP address {s.ip} · </> : null}
                  Signed in <time dateTime={s.created_at}>{formatTime(s.created_at)}</time> · Last used{' '}
                  <time dateTime={s.last_used_at}>{formatTime(s.last_used_at)}</time>
                </p>
              </div>
              {!s.current && (
                <div className="method-actions">
                  <Button
                    onClick={() => void signOutOne.run(s)}
                    busy={busyId === s.id}
                    disabled={busyId !== null || signOutOthers.pending}
                    aria-label={`Sign out ${deviceName(s)}${s.ip ? ` (${s.ip})` : ''}`}
                  >
                    Sign out
                  </Button>
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      {list && list.length > 0 && others.length === 0 && <p className="muted small">No other device is signed in.</p>}
      <TrustedDevices version={version + trustVersion} />
    </section>
  );
}
