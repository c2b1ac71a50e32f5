import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Alert } from '@/components/Alert';
import { Button } from '@/components/Button';
import { Field } from '@/components/Field';
import { problemMessage } from '@/lib/problem';
import { Link, useLocation } from '@/lib/router';
import { useAction } from '@/lib/use-async';
import { forgotPassword } from '../api/forgot-password';
import { rememberedSite } from '../site';

export const FORGOT_SENT = 'If the account exists, we sent a link to reset its password.';

/** `/forgot-password`: site and e-mail → always the same answer, whether the account exists or not. */
export function ForgotPasswordPage() {
  const location = useLocation();
  const [site, setSite] = useState(() => rememberedSite(location.search));
  const [email, setEmail] = useState(() => (location.state as { email?: string } | null)?.email ?? '');
  const [sent, setSent] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  const submit = useAction(async () => {
    await forgotPassword({ tenant: site.trim(), email: email.trim() });
    setSent(email.trim());
  });

  // The form is replaced by the answer: move focus to it so keyboard and screen reader users follow.
  useEffect(() => {
    if (sent !== null) heading.current?.focus();
  }, [sent]);

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    void submit.run();
  }

  const loginHref = `/login${site.trim() ? `?site=${encodeURIComponent(site.trim())}` : ''}`;

  if (sent !== null) {
    return (
      <main className="auth-page">
        <div className="card auth-card">
          <h1 ref={heading} tabIndex={-1}>
            Check your e-mail
          </h1>
          <Alert kind="success">
            {FORGOT_SENT} Look for it in the inbox of <strong>{sent}</strong>. The link works once, for 30 minutes.
          </Alert>
          <p className="muted">Nothing arrived? Check the spam folder, or ask again in a few minutes.</p>
          <div className="row spread">
            <Link href={loginHref}>Back to sign in</Link>
            <Button variant="link" onClick={() => setSent(null)}>
              Send another link
            </Button>
          </div>
        </div>
      </main>
    );
  }

  return (
    <main className="auth-page">
      <div className="card auth-card">
        <h1>Reset your password</h1>
        <p className="muted">Enter your site and e-mail. If the account exists, we will e-mail you a link to choose a new password.</p>
        <Alert>{submit.error ? problemMessage(submit.error) : null}</Alert>
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
            autoFocus={!!site.trim() && !email}
          />
          <Button type="submit" variant="primary" className="wide" busy={submit.pending} disabled={!site.trim() || !email.trim()}>
            Send reset link
          </Button>
        </form>
        <p>
          <Link href={loginHref}>Back to sign in</Link>
        </p>
      </div>
    </main>
  );
}
