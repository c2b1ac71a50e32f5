import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Alert } from '@/components/Alert';
import { Button } from '@/components/Button';
import { CodeInput } from '@/components/CodeInput';
import { Field } from '@/components/Field';
import { hasCode, problemMessage } from '@/lib/problem';
import { useAction } from '@/lib/use-async';
import { useCooldown } from '@/lib/use-cooldown';
import { resendMfa } from '../api/resend-mfa';
import { verifyMfa } from '../api/verify-mfa';

export const RESEND_COOLDOWN_SECONDS = 60;

type Props = {
  mfaToken: string;
  method: string;
  /** Days the site lets this browser be remembered for; `null` when it does not (no checkbox). */
  rememberDeviceDays?: number | null;
  /** Called with the access token once the second factor is accepted. */
  onSignedIn: (accessToken: string, expiresIn: number) => void;
  /** The attempt is over (expired token): back to the password form with this message. */
  onRestart: (message: string) => void;
};

/** "Enter the Authentication Code": authenticator or e-mailed code, or a backup code. */
export function MfaStep({ mfaToken, method, rememberDeviceDays = null, onSignedIn, onRestart }: Props) {
  const { t } = useTranslation('auth');
  const [code, setCode] = useState('');
  const [backup, setBackup] = useState('');
  const [useBackup, setUseBackup] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [remember, setRemember] = useState(false);
  // The e-mailed code has just been sent: "Resend code" waits out its cool-down.
  const cooldown = useCooldown(method === 'email' ? RESEND_COOLDOWN_SECONDS : 0);

  const verify = useAction(async () => {
    const factor = useBackup ? { backup_code: backup.trim() } : { code };
    // Only asked for where the site allows it; the server ignores it otherwise.
    const body = { mfa_token: mfaToken, ...factor, ...(rememberDeviceDays != null && remember ? { remember_device: true } : {}) };
    try {
      const res = await verifyMfa(body);
      if (res.status === 'authenticated') onSignedIn(res.access_token, res.expires_in);
    } catch (err) {
      if (hasCode(err, 'invalid_mfa_token')) {
        onRestart(problemMessage(err));
        return;
      }
      throw err;
    }
  });

  const resend = useAction(async () => {
    setNotice(null);
    try {
      await resendMfa(mfaToken);
      setNotice(t('mfa.resent'));
      cooldown.start(RESEND_COOLDOWN_SECONDS);
    } catch (err) {
      if (hasCode(err, 'invalid_mfa_token')) {
        onRestart(problemMessage(err));
        return;
      }
      if (hasCode(err, 'too_many_attempts')) cooldown.start(RESEND_COOLDOWN_SECONDS);
      throw err;
    }
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    void verify.run();
  }

  const ready = useBackup ? backup.trim().length >= 10 : code.length === 6;
  const error = verify.error ?? resend.error;

  return (
    <form onSubmit={submit} noValidate aria-labelledby="mfa-title">
      <h1 id="mfa-title">{t('mfa.title')}</h1>
      {useBackup ? (
        <p>{t('mfa.introBackup')}</p>
      ) : method === 'email' ? (
        <p>{t('mfa.introEmail')}</p>
      ) : (
        <p>{t('mfa.introTotp')}</p>
      )}
      <Alert>{error ? problemMessage(error) : null}</Alert>
      <Alert kind="info">{notice}</Alert>
      {useBackup ? (
        <Field
          label={t('mfa.backupCode')}
          name="backup_code"
          autoComplete="off"
          spellCheck={false}
          placeholder="xxxxx-xxxxx"
          value={backup}
          onChange={(e) => setBackup(e.target.value)}
          autoFocus
        />
      ) : (
        <CodeInput value={code} onChange={setCode} autoFocus />
      )}
      {rememberDeviceDays != null && (
        <div className="field checkbox">
          <input
            id="remember-device"
            type="checkbox"
            name="remember_device"
            checked={remember}
            onChange={(e) => setRemember(e.target.checked)}
          />
          <label htmlFor="remember-device">
            {t('mfa.rememberDevice', { count: rememberDeviceDays })}
          </label>
        </div>
      )}
      <Button type="submit" variant="primary" className="wide" busy={verify.pending} disabled={!ready}>
        {t('mfa.verify')}
      </Button>
      <div className="row spread">
        <Button
          variant="link"
          onClick={() => {
            setUseBackup((v) => !v);
            verify.setError(null);
          }}
        >
          {useBackup ? t('mfa.useCode') : t('mfa.useBackupCode')}
        </Button>
        {method === 'email' && !useBackup && (
          <Button variant="link" onClick={() => void resend.run()} busy={resend.pending} disabled={cooldown.left > 0}>
            {cooldown.left > 0 ? t('mfa.resendWait', { seconds: cooldown.left }) : t('mfa.resend')}
          </Button>
        )}
      </div>
    </form>
  );
}
