import { startAuthentication, WebAuthnAbortService } from '@simplewebauthn/browser';
import { useCallback, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Alert, Loading } from '@/components/Alert';
import { Button } from '@/components/Button';
import { CodeInput } from '@/components/CodeInput';
import { Dialog } from '@/components/Dialog';
import { Field } from '@/components/Field';
import { passkeyAborted, passkeyMessage, passkeysSupported } from '@/lib/passkeys';
import { hasCode, problemMessage } from '@/lib/problem';
import { ReauthCancelled, ReauthContext } from '@/lib/reauth';
import { useAction, useAsync } from '@/lib/use-async';
import { useCooldown } from '@/lib/use-cooldown';
import { get2faMethod } from '../api/get-2fa-method';
import { hasPasskeys } from '../api/has-passkeys';
import { reauth } from '../api/reauth';
import { reauthPasskey } from '../api/reauth-passkey';
import { reauthPasskeyOptions } from '../api/reauth-passkey-options';
import { sendReauthEmailCode } from '../api/reauth-email-code';

type Pending = { resolve: () => void; reject: (e: Error) => void };

/**
 * Provides `useSensitive()`: the dialog that asks for the password again on `reauth_required`
 * (or, for a user with a passkey, the passkey instead).
 */
export function ReauthProvider({ children }: { children: ReactNode }) {
  const [open, setOpen] = useState(false);
  const waiting = useRef<Pending[]>([]);

  const ask = useCallback(
    () =>
      new Promise<void>((resolve, reject) => {
        waiting.current.push({ resolve, reject });
        setOpen(true);
      }),
    [],
  );

  function finish(ok: boolean) {
    const all = waiting.current;
    waiting.current = [];
    setOpen(false);
    all.forEach((p) => (ok ? p.resolve() : p.reject(new ReauthCancelled())));
  }

  return (
    <ReauthContext.Provider value={ask}>
      {children}
      {open && <ReauthDialog onDone={() => finish(true)} onCancel={() => finish(false)} />}
    </ReauthContext.Provider>
  );
}

function ReauthDialog({ onDone, onCancel }: { onDone: () => void; onCancel: () => void }) {
  const { t } = useTranslation('auth');
  const method = useAsync(get2faMethod, []);
  // Offered only to a user who has a passkey (a site with passkeys off, or no WebAuthn here: not).
  const passkeys = useAsync(() => (passkeysSupported() ? hasPasskeys().catch(() => false) : Promise.resolve(false)), []);
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [backup, setBackup] = useState('');
  const [useBackup, setUseBackup] = useState(false);
  const [sent, setSent] = useState(false);
  const cooldown = useCooldown();

  const confirm = useAction(async () => {
    const second = !method.data ? {} : useBackup ? { backup_code: backup.trim() } : { code };
    await reauth({ password, ...second });
    onDone();
  });

  const withPasskey = useAction(async () => {
    try {
      const start = await reauthPasskeyOptions();
      const credential = await startAuthentication({ optionsJSON: start.publicKey });
      await reauthPasskey(start.challengeId, credential);
    } catch (err) {
      if (passkeyAborted(err)) return;
      throw err;
    }
    onDone();
  });

  function cancel() {
    // The browser's passkey dialog may be up: end that ceremony with ours.
    WebAuthnAbortService.cancelCeremony();
    onCancel();
  }

  const send = useAction(async () => {
    await sendReauthEmailCode();
    setSent(true);
    cooldown.start(60);
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    withPasskey.setError(null);
    void confirm.run();
  }

  const err = confirm.error ?? send.error;
  const message = withPasskey.error
    ? passkeyMessage(withPasskey.error, 'passkey_reauth')
    : hasCode(err, 'invalid_credentials')
      ? t('reauth.wrongPassword')
      : err
        ? problemMessage(err)
        : null;
  const twoFactor = method.data;
  const ready = password.length > 0 && (!twoFactor || (useBackup ? backup.trim().length >= 10 : code.length === 6));

  return (
    <Dialog
      title={t('reauth.title')}
      onClose={cancel}
      dismissable={!confirm.pending}
      size="small"
      footer={
        <>
          <Button onClick={cancel} disabled={confirm.pending}>
            {t('reauth.cancel')}
          </Button>
          <Button type="submit" form="reauth-form" variant="primary" busy={confirm.pending} disabled={!ready}>
            {t('reauth.confirm')}
          </Button>
        </>
      }
    >
      <form id="reauth-form" onSubmit={submit} noValidate>
        <p>{twoFactor ? t('reauth.introWithCode') : t('reauth.intro')}</p>
        <Alert>{message}</Alert>
        {passkeys.data && (
          <>
            <Button className="wide" onClick={() => {
                confirm.setError(null);
                void withPasskey.run();
              }} busy={withPasskey.pending} disabled={confirm.pending}>
              {t('reauth.usePasskey')}
            </Button>
            <p className="divider">{t('reauth.orPassword')}</p>
          </>
        )}
        <Field
          label={t('fields.password')}
          type="password"
          name="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          autoFocus
        />
        {method.loading && <Loading />}
        {twoFactor && !useBackup && (
          <>
            {twoFactor === 'email' && (
              <div className="row">
                <Button onClick={() => void send.run()} busy={send.pending} disabled={cooldown.left > 0}>
                  {cooldown.left > 0 ? t('reauth.sendCodeWait', { seconds: cooldown.left }) : sent ? t('reauth.sendNewCode') : t('reauth.sendCode')}
                </Button>
                {sent && (
                  <span className="muted" role="status">
                    {t('reauth.codeSent')}
                  </span>
                )}
              </div>
            )}
            <CodeInput
              value={code}
              onChange={setCode}
              label={twoFactor === 'email' ? t('reauth.codeFromEmail') : t('reauth.codeFromApp')}
            />
          </>
        )}
        {twoFactor && useBackup && (
          <Field
            label={t('mfa.backupCode')}
            name="backup_code"
            autoComplete="off"
            spellCheck={false}
            placeholder="xxxxx-xxxxx"
            value={backup}
            onChange={(e) => setBackup(e.target.value)}
          />
        )}
        {twoFactor && (
          <Button variant="link" onClick={() => setUseBackup((v) => !v)}>
            {useBackup ? t('mfa.useCode') : t('mfa.useBackupCode')}
          </Button>
        )}
      </form>
    </Dialog>
  );
}
