import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Alert, Loading } from '@/components/Alert';
import { Button } from '@/components/Button';
import { acceptToken } from '@/lib/auth';
import { problemMessage } from '@/lib/problem';
import { Link, navigate, safePath, useLocation } from '@/lib/router';
import { useSession } from '@/lib/session';
import { completeSso, type CompleteResponse } from '../api/complete-sso';
import type { LinkState } from './LoginPage';
import { MfaStep } from './MfaStep';

const HOME = '/settings/security';
/** The providers' own names; any other kind is "single sign-on" in the language shown. */
const BRAND: Record<string, string> = { google: 'Google', microsoft: 'Office 365' };

// `result` is single use: React's development double effects must not redeem it twice.
const redeemed = new Map<string, Promise<CompleteResponse>>();

function redeem(result: string): Promise<CompleteResponse> {
  let p = redeemed.get(result);
  if (!p) {
    p = completeSso(result);
    redeemed.set(result, p);
  }
  return p;
}

type View =
  | { kind: 'loading' }
  | { kind: 'error'; message: string; returnTo: string | null }
  | { kind: 'mfa'; token: string; method: string; rememberDays: number | null; returnTo: string | null }
  | { kind: 'not_connected'; link: LinkState };

/** `/sso/complete?result=…`: where the provider's redirect lands. */
export function SsoCompletePage() {
  const { t } = useTranslation('auth');
  const { search } = useLocation();
  const session = useSession();
  const result = search.get('result');
  const [loaded, setView] = useState<View>({ kind: 'loading' });
  // No `result` in the address: nothing to redeem.
  const view: View = result ? loaded : { kind: 'error', message: t('ssoComplete.incomplete'), returnTo: null };

  useEffect(() => {
    // Wait for the silent refresh: a "connect" attempt needs the bearer token.
    if (session.status === 'unknown') return;
    if (!result) return; // shown below, while rendering
    let live = true;
    redeem(result).then(
      (res) => {
        if (!live) return;
        switch (res.status) {
          case 'authenticated':
            acceptToken(res.access_token, res.expires_in);
            navigate(safePath(res.return_to, HOME), { replace: true });
            break;
          case 'mfa_required':
            setView({
              kind: 'mfa',
              token: res.mfa_token,
              method: res.method,
              rememberDays: res.remember_device_days,
              returnTo: res.return_to ?? null,
            });
            break;
          case 'not_connected':
            setView({
              kind: 'not_connected',
              link: { token: res.link_token, provider: res.provider.display_name, email: res.email ?? null, returnTo: res.return_to ?? null },
            });
            break;
          case 'connected': {
            const provider = BRAND[res.connection.kind] ?? t('ssoComplete.genericProvider');
            const notice = res.connection.email
              ? t('ssoComplete.connectedWithEmail', { provider, email: res.connection.email })
              : t('ssoComplete.connected', { provider });
            navigate(safePath(res.return_to, HOME), { replace: true, state: { notice } });
            break;
          }
        }
      },
      (err: unknown) => {
        if (!live) return;
        const returnTo = (err as { problem?: { return_to?: string | null } }).problem?.return_to ?? null;
        setView({ kind: 'error', message: problemMessage(err), returnTo });
      },
    );
    return () => {
      live = false;
    };
    // The session's later changes (the token we accept) must not redeem again.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [result, session.status === 'unknown']);

  return (
    <main className="auth-page">
      <div className="card auth-card">
        {view.kind === 'loading' && <Loading label={t('ssoComplete.completing')} />}
        {view.kind === 'error' && (
          <>
            <h1>{t('ssoComplete.failedTitle')}</h1>
            <Alert>{view.message}</Alert>
            {session.status === 'signed_in' ? (
              <Link className="btn btn-primary" href={safePath(view.returnTo, HOME)}>
                {t('ssoComplete.backToApp')}
              </Link>
            ) : (
              <Link className="btn btn-primary" href="/login">
                {t('backToSignIn')}
              </Link>
            )}
          </>
        )}
        {view.kind === 'mfa' && (
          <MfaStep
            mfaToken={view.token}
            method={view.method}
            rememberDeviceDays={view.rememberDays}
            onSignedIn={(token, expiresIn) => {
              acceptToken(token, expiresIn);
              navigate(safePath(view.returnTo, HOME), { replace: true });
            }}
            onRestart={(message) => setView({ kind: 'error', message, returnTo: null })}
          />
        )}
        {view.kind === 'not_connected' && (
          <>
            <h1>{t('ssoComplete.connectTitle')}</h1>
            <p>
              {view.link.email
                ? t('ssoComplete.connectQuestionWithEmail', { provider: view.link.provider, email: view.link.email })
                : t('ssoComplete.connectQuestion', { provider: view.link.provider })}
            </p>
            <p className="muted">{t('ssoComplete.connectHint', { provider: view.link.provider })}</p>
            <div className="row">
              <Button variant="primary" onClick={() => navigate('/login', { replace: true, state: { link: view.link } })}>
                {t('ssoComplete.connect')}
              </Button>
              <Button onClick={() => navigate('/login', { replace: true })}>{t('ssoComplete.cancel')}</Button>
            </div>
          </>
        )}
      </div>
    </main>
  );
}
