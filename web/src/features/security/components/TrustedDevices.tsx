import { useState } from 'react';
import { Alert, Loading } from '@/components/Alert';
import { Button } from '@/components/Button';
import { hasCode, problemMessage } from '@/lib/problem';
import { useAction, useAsync } from '@/lib/use-async';
import {
  forgetAllTrustedDevices,
  forgetTrustedDevice,
  listTrustedDevices,
  type TrustedDevice,
} from '../api/trusted-devices';

/** A date from the API (RFC 3339) in the reader's locale, without the time of day. */
function formatDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleDateString();
}

function label(d: Pick<TrustedDevice, 'label'>): string {
  return d.label.trim() || 'Unknown device';
}

/**
 * The Devices card's "Trusted devices": browsers that skip the second factor at sign-in, until
 * when, with "Forget" for each and "Forget all". `version` reloads the list (after "Sign out
 * other devices" forgot the others).
 */
export function TrustedDevices({ version = 0 }: { version?: number }) {
  const devices = useAsync(listTrustedDevices, [version]);
  const [notice, setNotice] = useState<string | null>(null);
  const [busyId, setBusyId] = useState<string | null>(null);

  const forgetOne = useAction(async (d: TrustedDevice) => {
    setNotice(null);
    setBusyId(d.id);
    try {
      await forgetTrustedDevice(d.id);
      setNotice(`${label(d)} will ask for the second factor again.`);
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
    setNotice('Every device will ask for the second factor again.');
    devices.reload();
  });

  const list = devices.data ?? null;
  const error = devices.error ?? forgetOne.error ?? forgetAll.error;

  return (
    <div className="trusted-devices" aria-busy={devices.loading || undefined}>
      <div className="row spread">
        <h3 id="trusted-devices-title">Trusted devices</h3>
        {list && list.length > 0 && (
          <Button variant="danger" onClick={() => void forgetAll.run()} busy={forgetAll.pending} disabled={busyId !== null}>
            Forget all
          </Button>
        )}
      </div>
      <p className="muted">
        Devices where you chose "Remember this device": they still need your password, but not the second factor.
      </p>
      <Alert kind="success">{notice}</Alert>
      <Alert>{error ? problemMessage(error) : null}</Alert>
      {devices.loading && !list && <Loading label="Loading trusted devices…" />}
      {list && list.length === 0 && <p className="empty">No device is trusted.</p>}
      {list && list.length > 0 && (
        <ul className="method-list" aria-labelledby="trusted-devices-title">
          {list.map((d) => (
            <li key={d.id} className="method device">
              <div>
                <h4>
                  {label(d)} {d.current && <span className="badge badge-ok">This device</span>}
                </h4>
                <p className="muted small">
                  Trusted until <time dateTime={d.expires_at}>{formatDate(d.expires_at)}</time>
                </p>
              </div>
              <div className="method-actions">
                <Button
                  onClick={() => void forgetOne.run(d)}
                  busy={busyId === d.id}
                  disabled={busyId !== null || forgetAll.pending}
                  aria-label={`Forget ${label(d)}${d.current ? ' (this device)' : ''}`}
                >
                  Forget
                </Button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
