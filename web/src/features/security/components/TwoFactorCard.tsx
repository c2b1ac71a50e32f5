import { useState, type MouseEvent } from 'react';
import { useTranslation } from 'react-i18next';
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

/**
 * The open dialog, with the button that opened it: recorded on the click, before any request or
 * "Confirm it's you" prompt, so that focus goes back there (the button is disabled while busy and
 * the prompt's password field has focus by the time the dialog opens).
 */
type Open = { opener: HTMLElement | null } & (
  | { kind: 'none' }
  | { kind: 'email' }
  | { kind: 'totp'; setup: TotpSetup }
  | { kind: 'enabled'; result: TwoFactorEnabled }
  | { kind: 'codes' }
  | { kind: 'off' }
);

const CLOSED: Open = { kind: 'none', opener: null };

const METHODS = [
  { id: 'email', name: 'twoFactor.emailName', text: 'twoFactor.emailText' },
  { id: 'totp', name: 'twoFactor.totpName', text: 'twoFactor.totpText' },
] as const satisfies readonly { id: components['schemas']['TwoFactorMethod']; name: string; text: string }[];

/** Security Settings → "Two-Factor Authentication (2FA)". */
export function TwoFactorCard({ email, onChanged }: { email: string | undefined; onChanged?: () => void }) {
  const { t } = useTranslation('security');
  const status = useAsync(get2faStatus, []);
  const sensitive = useSensitive();
  const [open, setOpen] = useState<Open>(CLOSED);
  const [notice, setNotice] = useState<string | null>(null);
  // Takes focus when a dialog closes and the button that opened it is gone (2FA turned on or off).
  const [heading, setHeading] = useState<HTMLHeadingElement | null>(null);

  const start = useAction(async (method: components['schemas']['TwoFactorMethod'], opener: HTMLElement | null) => {
    setNotice(null);
    if (method === 'email') {
      await sensitive(setupEmail);
      setOpen({ kind: 'email', opener });
    } else {
      setOpen({ kind: 'totp', setup: await sensitive(setupTotp), opener });
    }
  });

  function changed() {
    status.reload();
    onChanged?.();
  }

  const opened = (e: MouseEvent<HTMLElement>) => e.currentTarget;
  const close = () => setOpen(CLOSED);
  const focus = { opener: open.opener, fallbackFocus: heading };

  const s = status.data;
  const active = s?.enabled ? (s.method ?? null) : null;

  return (
    <section className="card" aria-labelledby="tfa-title">
      <h2 id="tfa-title" ref={setHeading} tabIndex={-1}>
        {t('twoFactor.title')}
      </h2>
      <p className="muted">{t('twoFactor.intro')}</p>
      <Alert kind="success">{notice}</Alert>
      <Alert>{status.error ? problemMessage(status.error) : start.error ? problemMessage(start.error) : null}</Alert>
      {status.loading && !s && <Loading />}
      {s && (
        <>
          <DownloadBanner status={s} onView={(e) => setOpen({ kind: 'codes', opener: opened(e) })} />
          <ul className="method-list">
            {METHODS.map((m) => (
              <li key={m.id} className="method">
                <div>
                  <h3>{t(m.name)}</h3>
                  <p className="muted">{t(m.text)}</p>
                </div>
                <div className="method-actions">
                  {active === m.id ? (
                    <>
                      <span className="badge badge-ok">{t('twoFactor.active')}</span>
                      <Button
                        variant="danger"
                        onClick={(e) => setOpen({ kind: 'off', opener: opened(e) })}
                        aria-label={t('twoFactor.turnOffLabel', { method: t(m.name) })}
                      >
                        {t('twoFactor.turnOff')}
                      </Button>
                    </>
                  ) : active ? (
                    <span className="muted">{t('twoFactor.onlyOne')}</span>
                  ) : (
                    <Button
                      variant="primary"
                      onClick={(e) => void start.run(m.id, opened(e))}
                      busy={start.pending}
                      aria-label={t('twoFactor.setUpLabel', { method: t(m.name) })}
                    >
                      {t('twoFactor.setUp')}
                    </Button>
                  )}
                </div>
              </li>
            ))}
          </ul>
          {s.enabled && s.backup_codes && (
            <div className="row spread backup-summary">
              <span>{t('twoFactor.backupSummary', { remaining: s.backup_codes.remaining, total: s.backup_codes.total })}</span>
              <Button onClick={(e) => setOpen({ kind: 'codes', opener: opened(e) })}>{t('twoFactor.viewBackupCodes')}</Button>
            </div>
          )}
        </>
      )}

      {open.kind === 'email' && (
        <EmailSetupDialog
          {...focus}
          email={email}
          onClose={close}
          onEnabled={(result) => (changed(), setOpen({ kind: 'enabled', result, opener: open.opener }))}
        />
      )}
      {open.kind === 'totp' && (
        <TotpSetupDialog
          {...focus}
          setup={open.setup}
          onClose={close}
          onEnabled={(result) => (changed(), setOpen({ kind: 'enabled', result, opener: open.opener }))}
        />
      )}
      {open.kind === 'enabled' && (
        <EnabledDialog
          {...focus}
          result={open.result}
          onClose={close}
          onViewCodes={() => setOpen({ kind: 'codes', opener: open.opener })}
          onDownloaded={changed}
        />
      )}
      {open.kind === 'codes' && <BackupCodesDialog {...focus} onClose={close} onChanged={changed} />}
      {open.kind === 'off' && (
        <TurnOffDialog
          {...focus}
          onClose={close}
          onDone={() => {
            close();
            setNotice(t('twoFactor.turnedOff'));
            changed();
          }}
        />
      )}
    </section>
  );
}
