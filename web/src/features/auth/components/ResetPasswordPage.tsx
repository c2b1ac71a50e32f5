import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Alert } from '@/components/Alert';
import { Button } from '@/components/Button';
import { NewPasswordFields } from '@/components/NewPasswordFields';
import { checkNewPassword, type NewPasswordError } from '@/lib/password';
import { hasCode, problemMessage } from '@/lib/problem';
import { Link, navigate, useLocation } from '@/lib/router';
import { useAction } from '@/lib/use-async';
import { resetPassword } from '../api/reset-password';

export const RESET_PATH = '/reset-password';

/**
 * The link's token: from `?token=` when the e-mail link was just opened, else from history state
 * (where the page keeps it after taking it out of the address bar).
 */
export function readResetToken(search: URLSearchParams, state: unknown): string | null {
  const fromUrl = search.get('token')?.trim();
  if (fromUrl) return fromUrl;
  const kept = (state as { resetToken?: unknown } | null)?.resetToken;
  return typeof kept === 'string' && kept ? kept : null;
}

/** `/reset-password?token=…`: a new password, typed twice. Signs nobody in. */
export function ResetPasswordPage() {
  const { t } = useTranslation('auth');
  const location = useLocation();
  const [token] = useState(() => readResetToken(location.search, location.state));
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [check, setCheck] = useState<NewPasswordError | null>(null);
  const [done, setDone] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);

  // Keep the secret out of the address bar, the history list and any Referer; a reload still
  // finds it in history state.
  useEffect(() => {
    if (token && location.search.has('token')) navigate(RESET_PATH, { replace: true, state: { resetToken: token } });
  }, [token, location.search]);

  useEffect(() => {
    if (done) heading.current?.focus();
  }, [done]);

  const submit = useAction(async () => {
    await resetPassword(token!, password);
    setDone(true);
    // The token is spent: forget it.
    navigate(RESET_PATH, { replace: true });
  });

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    const problem = checkNewPassword(password, repeat);
    setCheck(problem);
    if (!problem) void submit.run();
  }

  if (done) {
    return (
      <main className="auth-page">
        <div className="card auth-card">
          <h1 ref={heading} tabIndex={-1}>
            {t('reset.doneTitle')}
          </h1>
          <Alert kind="success">{t('reset.done')}</Alert>
          <p className="muted">{t('reset.doneDetail')}</p>
          <Link href="/login" className="btn btn-primary wide">
            {t('reset.signIn')}
          </Link>
        </div>
      </main>
    );
  }

  if (!token) {
    return (
      <main className="auth-page">
        <div className="card auth-card">
          <h1>{t('forgot.title')}</h1>
          <Alert>{t('reset.incomplete')}</Alert>
          <div className="row spread">
            <Link href="/forgot-password">{t('reset.askNewLink')}</Link>
            <Link href="/login">{t('backToSignIn')}</Link>
          </div>
        </div>
      </main>
    );
  }

  const weak = hasCode(submit.error, 'weak_password');
  const linkDead = hasCode(submit.error, 'invalid_code');
  const passwordError = check?.field === 'password' ? check.message : weak ? problemMessage(submit.error) : null;
  const repeatError = check?.field === 'repeat' ? check.message : null;

  return (
    <main className="auth-page">
      <div className="card auth-card">
        <h1>{t('reset.title')}</h1>
        <Alert>
          {submit.error && !weak ? (
            <>
              {problemMessage(submit.error, 'reset_password')}
              {linkDead && (
                <>
                  {' '}
                  <Link href="/forgot-password">{t('reset.askNewLink')}</Link>
                </>
              )}
            </>
          ) : null}
        </Alert>
        <form onSubmit={onSubmit} noValidate>
          <NewPasswordFields
            password={password}
            repeat={repeat}
            onPassword={(v) => {
              setPassword(v);
              setCheck(null);
              submit.setError(null);
            }}
            onRepeat={(v) => {
              setRepeat(v);
              setCheck(null);
            }}
            passwordError={passwordError}
            repeatError={repeatError}
            autoFocus
          />
          <Button type="submit" variant="primary" className="wide" busy={submit.pending} disabled={!password || !repeat}>
            {t('reset.submit')}
          </Button>
        </form>
        <p>
          <Link href="/login">{t('backToSignIn')}</Link>
        </p>
      </div>
    </main>
  );
}
