import { useState } from 'react';
import type { components } from '@/api/schema';
import { Alert, Loading } from '@/components/Alert';
import { Button } from '@/components/Button';
import { problemMessage } from '@/lib/problem';
import { useSensitive } from '@/lib/reauth';
import { useAction, useAsync } from '@/lib/use-async';
import type { TwoFactorEnabled } from '../api/confirm-2fa';
import { get2faStatus } from '../api/get-2fa-status';
import { setupEmail } from '../api/setup-email';
import { setupTotp, type TotpSetup } from '../api/setup-totp';
import { BackupCodesDialog } from './BackupCodesDialog';
import { DownloadBanner } from './DownloadBanner';
import { EmailSetupDialog, EnabledDialog, TotpSetupDialog } from './SetupDialogs';
import { TurnOffDialog } from './TurnOffDialog';

type Open =
  | { kind: 'none' }
  | { kind: 'email' }
  | { kind: 'totp'; setup: TotpSetup }
  | { kind: 'enabled'; result: TwoFactorEnabled }
  | { kind: 'codes' }
  | { kind: 'off' };

const METHODS: { id: components['schemas']['TwoFactorMethod']; name: string; text: string }[] = [
  { id: 'email', name: 'Email authentication', text: 'Receive a 6-digit code by e-mail each time you sign in.' },
  {
    id: 'totp',
    name: 'Authenticator app authentication',
    text: 'Use a code from an app such as Google Authenticator or Microsoft Authenticator.',
  },
];

/** Security Settings → "Two-Factor Authentication (2FA)". */
export function TwoFactorCard({ email, onChanged }: { email: string | undefined; onChanged?: () => void }) {
  const status = useAsync(get2faStatus, []);
  const sensitive = useSensitive();
  const [open, setOpen] = useState<Open>({ kind: 'none' });
  const [notice, setNotice] = useState<string | null>(null);

  const start = useAction(async (method: components['schemas']['TwoFactorMethod']) => {
    setNotice(null);
    if (method === 'email') {
      await sensitive(setupEmail);
      setOpen({ kind: 'email' });
    } else {
      setOpen({ kind: 'totp', setup: await sensitive(setupTotp) });
    }
  });

  function changed() {
    status.reload();
    onChanged?.();
  }

  const s = status.data;
  const active = s?.enabled ? (s.method ?? null) : null;

  return (
    <section className="card" aria-labelledby="tfa-title">
      <h2 id="tfa-title">Two-Factor Authentication (2FA)</h2>
      <p className="muted">Protect your account with a second step at sign-in. You can use one method at a time.</p>
      <Alert kind="success">{notice}</Alert>
      <Alert>{status.error ? problemMessage(status.error) : start.error ? problemMessage(start.error) : null}</Alert>
      {status.loading && !s && <Loading />}
      {s && (
        <>
          <DownloadBanner status={s} onView={() => setOpen({ kind: 'codes' })} />
          <ul className="method-list">
            {METHODS.map((m) => (
              <li key={m.id} className="method">
                <div>
                  <h3>{m.name}</h3>
                  <p className="muted">{m.text}</p>
                </div>
                <div className="method-actions">
                  {active === m.id ? (
                    <>
                      <span className="badge badge-ok">Active</span>
                      <Button variant="danger" onClick={() => setOpen({ kind: 'off' })} aria-label={`Turn off ${m.name}`}>
                        Turn off
                      </Button>
                    </>
                  ) : active ? (
                    <span className="muted">You can only choose one method</span>
                  ) : (
                    <Button
                      variant="primary"
                      onClick={() => void start.run(m.id)}
                      busy={start.pending}
                      aria-label={`Set Up ${m.name}`}
                    >
                      Set Up
                    </Button>
                  )}
                </div>
              </li>
            ))}
          </ul>
          {s.enabled && s.backup_codes && (
            <div className="row spread backup-summary">
              <span>
                Backup codes: {s.backup_codes.remaining} of {s.backup_codes.total} left
              </span>
              <Button onClick={() => setOpen({ kind: 'codes' })}>View Backup Codes</Button>
            </div>
          )}
        </>
      )}

      {open.kind === 'email' && (
        <EmailSetupDialog email={email} onClose={() => setOpen({ kind: 'none' })} onEnabled={(result) => (changed(), setOpen({ kind: 'enabled', result }))} />
      )}
      {open.kind === 'totp' && (
        <TotpSetupDialog setup={open.setup} onClose={() => setOpen({ kind: 'none' })} onEnabled={(result) => (changed(), setOpen({ kind: 'enabled', result }))} />
      )}
      {open.kind === 'enabled' && (
        <EnabledDialog
          result={open.result}
          onClose={() => setOpen({ kind: 'none' })}
          onViewCodes={() => setOpen({ kind: 'codes' })}
          onDownloaded={changed}
        />
      )}
      {open.kind === 'codes' && <BackupCodesDialog onClose={() => setOpen({ kind: 'none' })} onChanged={changed} />}
      {open.kind === 'off' && (
        <TurnOffDialog
          onClose={() => setOpen({ kind: 'none' })}
          onDone={() => {
            setOpen({ kind: 'none' });
            setNotice('Two-factor authentication is turned off.');
            changed();
          }}
        />
      )}
    </section>
  );
}
