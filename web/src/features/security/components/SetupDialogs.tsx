import { useState, type FormEvent } from 'react';
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

function useConfirm(method: components['schemas']['TwoFactorMethod'], onEnabled: (r: TwoFactorEnabled) => void) {
  const sensitive = useSensitive();
  const [code, setCode] = useState('');
  const action = useAction(async () => onEnabled(await sensitive(() => confirm2fa(method, code))));
  return { code, setCode, action };
}

/** E-mail method: the code was just sent; "Enter the Authentication Code". */
export function EmailSetupDialog({ email, onClose, onEnabled }: { email: string | undefined; onClose: () => void; onEnabled: (r: TwoFactorEnabled) => void }) {
  const { code, setCode, action } = useConfirm('email', onEnabled);
  const sensitive = useSensitive();
  const cooldown = useCooldown(60);
  const [notice, setNotice] = useState<string | null>(null);
  const resend = useAction(async () => {
    await sensitive(setupEmail);
    cooldown.start(60);
    setNotice('A new code is on its way. The previous code no longer works.');
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    void action.run();
  }
  const error = action.error ?? resend.error;
  return (
    <Dialog
      title="Enter the Authentication Code"
      onClose={onClose}
      dismissable={!action.pending}
      size="small"
      footer={
        <>
          <Button onClick={onClose} disabled={action.pending}>
            Cancel
          </Button>
          <Button type="submit" form="email-setup-form" variant="primary" busy={action.pending} disabled={code.length !== 6}>
            Confirm
          </Button>
        </>
      }
    >
      <form id="email-setup-form" onSubmit={submit} noValidate>
        <p>We sent a 6-digit code to {email ?? 'your e-mail address'}. Enter it to turn on e-mail authentication.</p>
        <Alert>{error ? problemMessage(error) : null}</Alert>
        <Alert kind="info">{notice}</Alert>
        <CodeInput value={code} onChange={setCode} autoFocus />
        <Button variant="link" onClick={() => void resend.run()} busy={resend.pending} disabled={cooldown.left > 0}>
          {cooldown.left > 0 ? `Resend code (${cooldown.left} s)` : 'Resend code'}
        </Button>
      </form>
    </Dialog>
  );
}

/** Authenticator app: "Link the app to your account" (QR and secret), "Next", then the code. */
export function TotpSetupDialog({ setup, onClose, onEnabled }: { setup: TotpSetup; onClose: () => void; onEnabled: (r: TwoFactorEnabled) => void }) {
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
        title="Link the app to your account"
        onClose={onClose}
        footer={
          <>
            <Button onClick={onClose}>Cancel</Button>
            <Button variant="primary" onClick={() => setStep('code')}>
              Next
            </Button>
          </>
        }
      >
        <ol className="steps">
          <li>Open an authenticator app such as Google Authenticator or Microsoft Authenticator.</li>
          <li>Scan this QR code, or enter the secret key by hand.</li>
        </ol>
        <img
          className="qr"
          width={200}
          height={200}
          alt="QR code to scan with your authenticator app"
          src={`data:image/svg+xml;utf8,${encodeURIComponent(setup.qr_svg)}`}
        />
        <div className="secret">
          <span id="totp-secret-label">Secret key</span>
          <code id="totp-secret" aria-labelledby="totp-secret-label" data-testid="totp-secret">
            {setup.secret}
          </code>
          <Button onClick={() => void copy()} aria-label="Copy secret key">
            {copied ? 'Copied' : 'Copy'}
          </Button>
        </div>
      </Dialog>
    );
  }

  return (
    <Dialog
      title="Enter the Authentication Code"
      onClose={onClose}
      dismissable={!action.pending}
      size="small"
      footer={
        <>
          <Button onClick={() => setStep('link')} disabled={action.pending}>
            Back
          </Button>
          <Button type="submit" form="totp-setup-form" variant="primary" busy={action.pending} disabled={code.length !== 6}>
            Confirm
          </Button>
        </>
      }
    >
      <form id="totp-setup-form" onSubmit={submit} noValidate>
        <p>Enter the 6-digit code your authenticator app shows for CloudCX.</p>
        <Alert>{action.error ? problemMessage(action.error) : null}</Alert>
        <CodeInput value={code} onChange={setCode} autoFocus />
      </form>
    </Dialog>
  );
}

/** "2FA is enabled": the ten backup codes, shown once here. */
export function EnabledDialog({ result, onClose, onViewCodes, onDownloaded }: { result: TwoFactorEnabled; onClose: () => void; onViewCodes: () => void; onDownloaded: () => void }) {
  const sensitive = useSensitive();
  const [done, setDone] = useState(false);
  const download = useAction(async () => {
    saveTextFile(await sensitive(downloadBackupCodes));
    setDone(true);
    onDownloaded();
  });
  return (
    <Dialog
      title="2FA is enabled"
      onClose={onClose}
      footer={
        <>
          <Button onClick={onViewCodes}>View Backup Codes</Button>
          <Button onClick={() => void download.run()} busy={download.pending}>
            Download
          </Button>
          <Button variant="primary" onClick={onClose}>
            Done
          </Button>
        </>
      }
    >
      <p>
        From now on you sign in with your password and {result.method === 'email' ? 'a code sent to your e-mail' : 'a code from your authenticator app'}.
      </p>
      <p>Save these backup codes. Each one signs you in once if you lose access to your {result.method === 'email' ? 'e-mail' : 'app'}.</p>
      <Alert>{download.error ? problemMessage(download.error) : null}</Alert>
      <Alert kind="success">{done ? 'Backup codes downloaded as cloudcx-backup-codes.txt.' : null}</Alert>
      <BackupCodeList codes={result.backup_codes.map((code) => ({ code }))} />
    </Dialog>
  );
}
