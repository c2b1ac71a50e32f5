import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { components } from '@/api/schema';
import { Alert } from '@/components/Alert';
import { Button } from '@/components/Button';
import { CodeInput } from '@/components/CodeInput';
import { Dialog } from '@/components/Dialog';
import { problemMessage } from '@/lib/problem';
import { useSensitive } from '@/lib/reauth';
import { useAction } from '@/lib/use-async';
import { useCooldown } from '@/lib/use-cooldown';
import { confirm2fa, type TwoFactorEnabled } from '../api/confirm-2fa';
import { downloadBackupCodes, saveTextFile } from '../api/download-backup-codes';
import { setupEmail } from '../api/setup-email';
import type { TotpSetup } from '../api/setup-totp';
import { BackupCodeList } from './BackupCodeList';

/** Where focus goes back when the dialog closes (see `Dialog`). */
type Focus = { opener?: HTMLElement | null; fallbackFocus?: HTMLElement | null };

function useConfirm(method: components['schemas']['TwoFactorMethod'], onEnabled: (r: TwoFactorEnabled) => void) {
  const sensitive = useSensitive();
  const [code, setCode] = useState('');
  const action = useAction(async () => onEnabled(await sensitive(() => confirm2fa(method, code))));
  return { code, setCode, action };
}

/** E-mail method: the code was just sent; "Enter the Authentication Code". */
export function EmailSetupDialog({
  email,
  onClose,
  onEnabled,
  ...focus
}: { email: string | undefined; onClose: () => void; onEnabled: (r: TwoFactorEnabled) => void } & Focus) {
  const { t } = useTranslation('security');
  const { code, setCode, action } = useConfirm('email', onEnabled);
  const sensitive = useSensitive();
  const cooldown = useCooldown(60);
  const [notice, setNotice] = useState<string | null>(null);
  const resend = useAction(async () => {
    await sensitive(setupEmail);
    cooldown.start(60);
    setNotice(t('emailSetup.resent'));
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    void action.run();
  }
  const error = action.error ?? resend.error;
  return (
    <Dialog
      {...focus}
      title={t('emailSetup.title')}
      onClose={onClose}
      dismissable={!action.pending}
      size="small"
      footer={
        <>
          <Button onClick={onClose} disabled={action.pending}>
            {t('actions.cancel')}
          </Button>
          <Button type="submit" form="email-setup-form" variant="primary" busy={action.pending} disabled={code.length !== 6}>
            {t('actions.confirm')}
          </Button>
        </>
      }
    >
      <form id="email-setup-form" onSubmit={submit} noValidate>
        <p>{t('emailSetup.sent', { email: email ?? t('emailSetup.yourAddress') })}</p>
        <Alert>{error ? problemMessage(error) : null}</Alert>
        <Alert kind="info">{notice}</Alert>
        <CodeInput value={code} onChange={setCode} autoFocus />
        <Button variant="link" onClick={() => void resend.run()} busy={resend.pending} disabled={cooldown.left > 0}>
          {cooldown.left > 0 ? t('emailSetup.resendIn', { seconds: cooldown.left }) : t('emailSetup.resend')}
        </Button>
      </form>
    </Dialog>
  );
}

/** Authenticator app: "Link the app to your account" (QR and secret), "Next", then the code. */
export function TotpSetupDialog({
  setup,
  onClose,
  onEnabled,
  ...focus
}: { setup: TotpSetup; onClose: () => void; onEnabled: (r: TwoFactorEnabled) => void } & Focus) {
  const { t } = useTranslation('security');
  const { code, setCode, action } = useConfirm('totp', onEnabled);
  const [step, setStep] = useState<'link' | 'code'>('link');
  const [copied, setCopied] = useState(false);

  async function copy() {
    try {
      await navigator.clipboard.writeText(setup.secret);
      setCopied(true);
    } catch {
      // No clipboard permission: select the text so Ctrl+C works.
      const el = document.getElementById('totp-secret');
      if (el) window.getSelection()?.selectAllChildren(el);
    }
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    void action.run();
  }

  if (step === 'link') {
    return (
      <Dialog
        {...focus}
        title={t('totpSetup.linkTitle')}
        onClose={onClose}
        footer={
          <>
            <Button onClick={onClose}>{t('actions.cancel')}</Button>
            <Button variant="primary" onClick={() => setStep('code')}>
              {t('actions.next')}
            </Button>
          </>
        }
      >
        <ol className="steps">
          <li>{t('totpSetup.openApp')}</li>
          <li>{t('totpSetup.scan')}</li>
        </ol>
        <img
          className="qr"
          width={200}
          height={200}
          alt={t('totpSetup.qrAlt')}
          src={`data:image/svg+xml;utf8,${encodeURIComponent(setup.qr_svg)}`}
        />
        <div className="secret">
          <span id="totp-secret-label">{t('totpSetup.secretKey')}</span>
          <code id="totp-secret" aria-labelledby="totp-secret-label" data-testid="totp-secret">
            {setup.secret}
          </code>
          <Button onClick={() => void copy()} aria-label={t('totpSetup.copySecret')}>
            {copied ? t('totpSetup.copied') : t('totpSetup.copy')}
          </Button>
        </div>
      </Dialog>
    );
  }

  return (
    <Dialog
      {...focus}
      title={t('totpSetup.codeTitle')}
      onClose={onClose}
      dismissable={!action.pending}
      size="small"
      footer={
        <>
          <Button onClick={() => setStep('link')} disabled={action.pending}>
            {t('actions.back')}
          </Button>
          <Button type="submit" form="totp-setup-form" variant="primary" busy={action.pending} disabled={code.length !== 6}>
            {t('actions.confirm')}
          </Button>
        </>
      }
    >
      <form id="totp-setup-form" onSubmit={submit} noValidate>
        <p>{t('totpSetup.enterCode')}</p>
        <Alert>{action.error ? problemMessage(action.error) : null}</Alert>
        <CodeInput value={code} onChange={setCode} autoFocus />
      </form>
    </Dialog>
  );
}

/** "2FA is enabled": the ten backup codes, shown once here. */
export function EnabledDialog({
  result,
  onClose,
  onViewCodes,
  onDownloaded,
  ...focus
}: { result: TwoFactorEnabled; onClose: () => void; onViewCodes: () => void; onDownloaded: () => void } & Focus) {
  const { t } = useTranslation('security');
  const sensitive = useSensitive();
  const [done, setDone] = useState(false);
  const download = useAction(async () => {
    saveTextFile(await sensitive(downloadBackupCodes));
    setDone(true);
    onDownloaded();
  });
  return (
    <Dialog
      {...focus}
      title={t('enabled.title')}
      onClose={onClose}
      footer={
        <>
          <Button onClick={onViewCodes}>{t('twoFactor.viewBackupCodes')}</Button>
          <Button onClick={() => void download.run()} busy={download.pending}>
            {t('actions.download')}
          </Button>
          <Button variant="primary" onClick={onClose}>
            {t('actions.done')}
          </Button>
        </>
      }
    >
      <p>{result.method === 'email' ? t('enabled.signInEmail') : t('enabled.signInTotp')}</p>
      {/* The help page's words, the same for every method. */}
      <p>{t('backupCodes.keepSafe')}</p>
      <Alert>{download.error ? problemMessage(download.error) : null}</Alert>
      <Alert kind="success">{done ? t('backupCodes.downloaded') : null}</Alert>
      <BackupCodeList codes={result.backup_codes.map((code) => ({ code }))} />
    </Dialog>
  );
}
