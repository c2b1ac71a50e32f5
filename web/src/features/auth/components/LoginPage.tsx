import { useEffect, useState, type FormEvent, type MouseEvent } from 'react';
import { Alert } from '@/components/Alert';
import { Button } from '@/components/Button';
import { Field } from '@/components/Field';
import { acceptToken } from '@/lib/auth';
import { problemMessage } from '@/lib/problem';
import { Link, navigate, safePath, useLocation } from '@/lib/router';
import { useAction } from '@/lib/use-async';
import { authorizeSso } from '../api/authorize-sso';
import { getSsoProviders, type ProviderSummary } from '../api/get-sso-providers';
import { login } from '../api/login';
import { SITE_KEY, rememberedSite } from '../site';
import { MfaStep } from './MfaStep';

/** What the SSO return page hands over for "connect from the login page". */
export type LinkState = { token: string; provider: string; email: string | null; returnTo: string | null };

const DEBOUNCE_MS = 350;
const HOME = '/settings/security';

function readLink(state: unknown): LinkState | null {
  const link = (state as { link?: LinkState } | null)?.link;
  return link && typeof link.token === 'string' ? link : null;
}

export function LoginPage({ notice }: { notice?: string | undefined }) {
  const location = useLocation();
  const [link, setLink] = useState<LinkState | null>(() => readLink(location.state));
  const [site, setSite] = useState(() => rememberedSite(location.search));
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [mfa, setMfa] = useState<{ token: string; method: string; rememberDays: number | null } | null>(null);
  const [message, setMessage] = useState<string | null>(notice ?? null);
  const [providers, setProviders] = useState<ProviderSummary[]>([]);
  const [providersLoading, setProvidersLoading] = useState(false);

  const next = safePath(link?.returnTo ?? location.search.get('next'), HOME);

  // The site's "Sign in with …" buttons follow the site field, a moment after typing stops.
  useEffect(() => {
    const slug = site.trim();
    if (!slug) {
      setProviders([]);
      return;
    }
    const ctrl = new AbortController();
    setProvidersLoading(true);
    const t = setTimeout(() => {
      getSsoProviders(slug, ctrl.signal)
        .then((list) => setProviders(list))
        .catch(() => {
          if (!ctrl.signal.aborted) setProviders([]);
        })
        .finally(() => {
          if (!ctrl.signal.aborted) setProvidersLoading(false);
        });
    }, DEBOUNCE_MS);
    return () => {
      clearTimeout(t);
      ctrl.abort();
    };
  }, [site]);

  function signedIn(token: string, expiresIn: number) {
    acceptToken(token, expiresIn);
    navigate(next, { replace: true });
  }

  function rememberSite() {
    try {
      localStorage.setItem(SITE_KEY, site.trim());
    } catch {
      // Private mode: the site is simply not remembered.
    }
  }

  const submit = useAction(async () => {
    setMessage(null);
    rememberSite();
    const res = await login({
      tenant: site.trim(),
      email: email.trim(),
      password,
      link_token: link?.token ?? null,
    });
    if (res.status === 'authenticated') signedIn(res.access_token, res.expires_in);
    else setMfa({ token: res.mfa_token, method: res.method, rememberDays: res.remember_device_days });
  });

  const sso = useAction(async (p: ProviderSummary) => {
    // Back from the provider ("connect this account?"), the form starts with the same site.
    rememberSite();
    const url = await authorizeSso(p.id, 'login', location.search.get('next') ?? undefined);
    window.location.assign(url);
  });

  // Carry what was typed over to the "Forgot password?" form: the site in the URL, the e-mail
  // only in history state.
  const forgotHref = `/forgot-password${site.trim() ? `?site=${encodeURIComponent(site.trim())}` : ''}`;
  function openForgot(e: MouseEvent<HTMLAnchorElement>) {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(forgotHref, { state: { email: email.trim() } });
  }

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    void submit.run();
  }

  if (mfa) {
    return (
      <main className="auth-page">
        <div className="card auth-card">
          <MfaStep
            mfaToken={mfa.token}
            method={mfa.method}
            rememberDeviceDays={mfa.rememberDays}
            onSignedIn={signedIn}
            onRestart={(msg) => {
              setMfa(null);
              setPassword('');
              setMessage(msg);
            }}
          />
        </div>
      </main>
    );
  }

  const error = submit.error ?? sso.error;
  return (
    <main className="auth-page">
      <div className="card auth-card">
        <h1>Sign in to CloudCX</h1>
        {link && (
          <Alert kind="info">
            Sign in to connect your {link.provider} account{link.email ? ` ${link.email}` : ''} to your CloudCX account.{' '}
            <Button variant="link" onClick={() => setLink(null)}>
              Don't connect
            </Button>
          </Alert>
        )}
        <Alert kind="warning">{message}</Alert>
        <Alert>{error ? problemMessage(error) : null}</Alert>
        <form onSubmit={onSubmit} noValidate>
          <Field
            label="Site"
            name="tenant"
            autoComplete="organization"
            autoCapitalize="none"
            spellCheck={false}
            required
            value={site}
            onChange={(e) => setSite(e.target.value)}
            hint="Your CloudCX site name, e.g. acme"
          />
          <Field
            label="E-mail"
            name="email"
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
          <Field
            label="Password"
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <p className="field-aside">
            <Link href={forgotHref} onClick={openForgot}>
              Forgot password?
            </Link>
          </p>
          <Button type="submit" variant="primary" className="wide" busy={submit.pending} disabled={!site.trim() || !email.trim() || !password}>
            Sign in
          </Button>
        </form>
        {!link && (
          <div className="sso-buttons" aria-busy={providersLoading || undefined}>
            {providers.length > 0 && <p className="divider">or</p>}
            {providers.map((p) => (
              <Button key={p.id} className={`wide sso-${p.kind}`} onClick={() => void sso.run(p)} busy={sso.pending}>
                Sign in with {p.display_name}
              </Button>
            ))}
          </div>
        )}
      </div>
    </main>
  );
}
