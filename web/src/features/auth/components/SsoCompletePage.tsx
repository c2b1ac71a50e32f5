import { useEffect, useState } from 'react';
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
const KIND_LABEL: Record<string, string> = { google: 'Google', microsoft: 'Office 365', oidc: 'single sign-on' };

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
  const { search } = useLocation();
  const session = useSession();
  const result = search.get('result');
  const [view, setView] = useState<View>({ kind: 'loading' });

  useEffect(() => {
    // Wait for the silent refresh: a "connect" attempt needs the bearer token.
    if (session.status === 'unknown') return;
    if (!result) {
      setView({ kind: 'error', message: 'This single sign-on link is incomplete. Please start again.', returnTo: null });
      return;
    }
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
          case 'connected':
            navigate(safePath(res.return_to, HOME), {
              replace: true,
              state: { notice: `Your ${KIND_LABEL[res.connection.kind] ?? 'single sign-on'} account${res.connection.email ? ` ${res.connection.email}` : ''} is connected.` },
            });
            break;
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
        {view.kind === 'loading' && <Loading label="Completing single sign-on…" />}
        {view.kind === 'error' && (
          <>
            <h1>Single sign-on did not work</h1>
            <Alert>{view.message}</Alert>
            {session.status === 'signed_in' ? (
              <Link className="btn btn-primary" href={safePath(view.returnTo, HOME)}>
                Back to CloudCX
              </Link>
            ) : (
              <Link className="btn btn-primary" href="/login">
                Back to sign in
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
            <h1>Connect your account</h1>
            <p>
              Connect {view.link.provider} account {view.link.email ?? ''} to your CloudCX account?
            </p>
            <p className="muted">Sign in with your CloudCX password once; after that you can use {view.link.provider} to sign in.</p>
            <div className="row">
              <Button variant="primary" onClick={() => navigate('/login', { replace: true, state: { link: view.link } })}>
                Connect
              </Button>
              <Button onClick={() => navigate('/login', { replace: true })}>Cancel</Button>
            </div>
          </>
        )}
      </div>
    </main>
  );
}
