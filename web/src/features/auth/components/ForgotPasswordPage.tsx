import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import { Alert } from '@/components/Alert';
import { Button } from '@/components/Button';
import { Field } from '@/components/Field';
import { problemMessage } from '@/lib/problem';
import { Link, useLocation } from '@/lib/router';
import { useAction } from '@/lib/use-async';
import { forgotPassword } from '../api/forgot-password';
import { rememberedSite } from '../site';

/** `/forgot-password`: site and e-mail → always the same answer, whether the account exists or not. */
export function ForgotPasswordPage() {
  const { t } = useTranslation('auth');
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
            {t('forgot.sentTitle')}
          </h1>
          <Alert kind="success">
            <Trans t={t} i18nKey="forgot.sentBody" values={{ email: sent }} components={[<strong key="email" />]} />
          </Alert>
          <p className="muted">{t('forgot.nothingArrived')}</p>
          <div className="row spread">
            <Link href={loginHref}>{t('backToSignIn')}</Link>
            <Button variant="link" onClick={() => setSent(null)}>
              {t('forgot.sendAnother')}
            </Button>
          </div>
        </div>
      </main>
    );
  }

  return (
    <main className="auth-page">
      <div className="card auth-card">
        <h1>{t('forgot.title')}</h1>
        <p className="muted">{t('forgot.intro')}</p>
        <Alert>{submit.error ? problemMessage(submit.error) : null}</Alert>
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
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            autoFocus={!!site.trim() && !email}
          />
          <Button type="submit" variant="primary" className="wide" busy={submit.pending} disabled={!site.trim() || !email.trim()}>
            {t('forgot.submit')}
          </Button>
        </form>
        <p>
          <Link href={loginHref}>{t('backToSignIn')}</Link>
        </p>
      </div>
    </main>
  );
}
