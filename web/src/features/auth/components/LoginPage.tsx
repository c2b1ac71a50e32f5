import {
  browserSupportsWebAuthnAutofill,
  startAuthentication,
  WebAuthnAbortService,
  type AuthenticationResponseJSON,
} from '@simplewebauthn/browser';
import { useEffect, useRef, useState, type FormEvent, type MouseEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Alert } from '@/components/Alert';
import { Button } from '@/components/Button';
import { Field } from '@/components/Field';
import { ProviderMark } from '@/components/ProviderMark';
import { acceptToken } from '@/lib/auth';
import { passkeyAborted, passkeyMessage, passkeysSupported } from '@/lib/passkeys';
import { hasCode, problemMessage } from '@/lib/problem';
import { Link, navigate, safePath, useLocation } from '@/lib/router';
import { useAction } from '@/lib/use-async';
import { authorizeSso } from '../api/authorize-sso';
import { getSsoProviders, type ProviderSummary } from '../api/get-sso-providers';
import { login, type SignInResponse } from '../api/login';
import { passkeyLogin } from '../api/passkey-login';
import { passkeyLoginOptions } from '../api/passkey-login-options';
import { SITE_KEY, rememberedSite } from '../site';
import { MfaStep } from './MfaStep';

/** What the SSO return page hands over for "connect from the login page". */
export type LinkState = { token: string; provider: string; email: string | null; returnTo: string | null };

const DEBOUNCE_MS = 350;
/**
 * The autofill's challenge is renewed before the server's 5 minutes run out: a page left open
 * still signs in with the passkey picked from the e-mail field.
 */
const AUTOFILL_RENEW_MS = 4 * 60_000;
/**
 * After this many passkeys in a row refused, the autofill is not offered again until the page
 * reloads: an authenticator that answers by itself (a removed passkey it still holds) must not
 * spend the address's sign-in budget in a loop.
 */
const AUTOFILL_MAX_REFUSALS = 3;
const HOME = '/settings/security';

function readLink(state: unknown): LinkState | null {
  const link = (state as { link?: LinkState } | null)?.link;
  return link && typeof link.token === 'string' ? link : null;
}

export function LoginPage({ notice }: { notice?: string | undefined }) {
  const { t } = useTranslation('auth');
  const location = useLocation();
  const [link, setLink] = useState<LinkState | null>(() => readLink(location.state));
  const [site, setSite] = useState(() => rememberedSite(location.search));
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [mfa, setMfa] = useState<{ token: string; method: string; rememberDays: number | null } | null>(null);
  const [message, setMessage] = useState<string | null>(notice ?? null);
  const [providers, setProviders] = useState<ProviderSummary[]>([]);
  const shownProviders = site.trim() ? providers : [];
  const [providersLoading, setProvidersLoading] = useState(false);
  const [passkeyOk] = useState(passkeysSupported);
  const [passkeyError, setPasskeyError] = useState<unknown>(null);
  /** The site that answered `passkeys_disabled`: its sign-in page offers no passkey. */
  const [passkeysOffAt, setPasskeysOffAt] = useState<string | null>(null);
  /** Bumped to start the autofill's ceremony again (after a modal attempt, or to renew it). */
  const [autofillRound, setAutofillRound] = useState(0);
  /** True while the autofill's (conditional) ceremony is waiting for the user. */
  const autofillPending = useRef(false);
  const autofillRefusals = useRef(0);
  /** True while "Sign in with a passkey" runs: the autofill must not start and abort it. */
  const modalRunning = useRef(false);

  const next = safePath(link?.returnTo ?? location.search.get('next'), HOME);

  // The site's "Sign in with …" buttons follow the site field, a moment after typing stops.
  useEffect(() => {
    const slug = site.trim();
    if (!slug) return; // no buttons without a site: see `shownProviders`
    const ctrl = new AbortController();
    const timer = setTimeout(() => {
      setProvidersLoading(true);
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
      clearTimeout(timer);
      ctrl.abort();
    };
  }, [site]);

  function signedIn(token: string, expiresIn: number) {
    acceptToken(token, expiresIn);
    navigate(next, { replace: true });
  }

  function answered(res: SignInResponse) {
    if (res.status === 'authenticated') signedIn(res.access_token, res.expires_in);
    else setMfa({ token: res.mfa_token, method: res.method, rememberDays: res.remember_device_days });
  }

  /** Ends the autofill's waiting ceremony (the user signs in another way). */
  function stopAutofill() {
    if (!autofillPending.current) return;
    autofillPending.current = false;
    WebAuthnAbortService.cancelCeremony();
  }

  async function finishPasskey(tenant: string, challengeId: string, credential: AuthenticationResponseJSON) {
    rememberSite();
    setMessage(null);
    setPasskeyError(null);
    try {
      answered(await passkeyLogin(tenant, challengeId, credential));
    } catch (err) {
      throw new PasskeyRefused(err);
    }
  }

  // The browser's passkey autofill: a conditional ceremony that waits, from page load, for the
  // user to pick a passkey in the e-mail field's suggestions. Its challenge belongs to the site,
  // so it starts again when the site changes; it is aborted when the page goes, the user signs
  // in with the password, or the modal passkey button takes over.
  useEffect(() => {
    const slug = site.trim();
    if (!passkeyOk || !slug || mfa || link || slug === passkeysOffAt || autofillRefusals.current >= AUTOFILL_MAX_REFUSALS) return;
    const ctrl = new AbortController();
    let live = true;
    const start = setTimeout(() => {
      void (async () => {
        try {
          if (!(await browserSupportsWebAuthnAutofill()) || !live) return;
          const options = await passkeyLoginOptions(slug, ctrl.signal);
          if (!live || modalRunning.current) return;
          autofillPending.current = true;
          const credential = await startAuthentication({ optionsJSON: options.publicKey, useBrowserAutofill: true });
          autofillPending.current = false;
          if (!live) return;
          await finishPasskey(slug, options.challengeId, credential);
        } catch (err) {
          autofillPending.current = false;
          // Quiet when the autofill is not to be: aborted, a site without passkeys, a slow server.
          // A passkey the user picked and the server refused is worth a sentence.
          if (live && hasCode(err, 'passkeys_disabled')) setPasskeysOffAt(slug);
          if (live && !passkeyAborted(err) && err instanceof PasskeyRefused) {
            setPasskeyError(err.cause);
            autofillRefusals.current += 1;
            if (autofillRefusals.current < AUTOFILL_MAX_REFUSALS) setAutofillRound((n) => n + 1);
          }
        }
      })();
    }, DEBOUNCE_MS);
    const renew = setTimeout(() => setAutofillRound((n) => n + 1), AUTOFILL_RENEW_MS);
    return () => {
      live = false;
      clearTimeout(start);
      clearTimeout(renew);
      ctrl.abort();
      stopAutofill();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [site, mfa, link, passkeyOk, passkeysOffAt, autofillRound]);

  const passkey = useAction(async () => {
    setMessage(null);
    setPasskeyError(null);
    const tenant = site.trim();
    // startAuthentication aborts the autofill's ceremony itself (one ceremony at a time).
    autofillPending.current = false;
    modalRunning.current = true;
    try {
      const options = await passkeyLoginOptions(tenant);
      let credential: AuthenticationResponseJSON;
      try {
        credential = await startAuthentication({ optionsJSON: options.publicKey });
      } catch (err) {
        // An autofill ceremony that was already on its way in when the button was pressed
        // aborts this one as it starts; it is ended by now, so ask once more.
        if (!passkeyAborted(err)) throw err;
        credential = await startAuthentication({ optionsJSON: options.publicKey });
      }
      await finishPasskey(tenant, options.challengeId, credential);
    } catch (err) {
      const cause = err instanceof PasskeyRefused ? err.cause : err;
      if (!passkeyAborted(cause)) setPasskeyError(cause);
      if (hasCode(cause, 'passkeys_disabled')) setPasskeysOffAt(tenant);
      // Offer the autofill again.
      setAutofillRound((n) => n + 1);
    } finally {
      modalRunning.current = false;
    }
  });

  function rememberSite() {
    try {
      localStorage.setItem(SITE_KEY, site.trim());
    } catch {
      // Private mode: the site is simply not remembered.
    }
  }

  const submit = useAction(async () => {
    setMessage(null);
    setPasskeyError(null);
    stopAutofill();
    rememberSite();
    let res: SignInResponse;
    try {
      res = await login({
        tenant: site.trim(),
        email: email.trim(),
        password,
        link_token: link?.token ?? null,
      });
    } catch (err) {
      // A wrong password: the passkey autofill is offered again.
      setAutofillRound((n) => n + 1);
      throw err;
    }
    answered(res);
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
  const offerPasskey = passkeyOk && site.trim() !== passkeysOffAt;
  const errorText = error ? problemMessage(error) : passkeyError ? passkeyMessage(passkeyError, 'passkey_sign_in') : null;
  return (
    <main className="auth-page">
      <div className="card auth-card">
        <h1>{t('login.title')}</h1>
        {link && (
          <Alert kind="info">
            {link.email
              ? t('login.linkNoticeWithEmail', { provider: link.provider, email: link.email })
              : t('login.linkNotice', { provider: link.provider })}{' '}
            <Button variant="link" onClick={() => setLink(null)}>
              {t('login.dontConnect')}
            </Button>
          </Alert>
        )}
        <Alert kind="warning">{message}</Alert>
        <Alert>{errorText}</Alert>
        <form onSubmit={onSubmit} noValidate>
          <Field
            label={t('fields.site')}
            name="tenant"
            autoComplete="organization"
            autoCapitalize="none"
            spellCheck={false}
            required
            value={site}
            onChange={(e) => setSite(e.target.value)}
            hint={t('fields.siteHint')}
          />
          <Field
            label={t('fields.email')}
            name="email"
            type="email"
            autoComplete="username webauthn"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
          <Field
            label={t('fields.password')}
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <p className="field-aside">
            <Link href={forgotHref} onClick={openForgot}>
              {t('login.forgotPassword')}
            </Link>
          </p>
          <Button type="submit" variant="primary" className="wide" busy={submit.pending} disabled={!site.trim() || !email.trim() || !password}>
            {t('login.submit')}
          </Button>
        </form>
        {!link && (
          <div className="sso-buttons" aria-busy={providersLoading || undefined}>
            {(offerPasskey || shownProviders.length > 0) && <p className="divider">{t('login.or')}</p>}
            {offerPasskey && (
              <Button className="wide" onClick={() => void passkey.run()} busy={passkey.pending} disabled={!site.trim()}>
                {t('login.withPasskey')}
              </Button>
            )}
            {shownProviders.map((p) => (
              <Button key={p.id} className={`wide sso-${p.kind}`} onClick={() => void sso.run(p)} busy={sso.pending}>
                <ProviderMark kind={p.kind} />
                {t('login.withProvider', { name: p.display_name })}
              </Button>
            ))}
          </div>
        )}
      </div>
    </main>
  );
}

/** The server refused a passkey the browser produced (as opposed to a ceremony that never ended). */
class PasskeyRefused extends Error {
  constructor(readonly cause: unknown) {
    super('passkey refused');
    this.name = 'PasskeyRefused';
  }
}
