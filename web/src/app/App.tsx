import { useEffect, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Alert, Loading } from '@/components/Alert';
import { AdminPage } from '@/features/admin/components/AdminPage';
import { ForgotPasswordPage } from '@/features/auth/components/ForgotPasswordPage';
import { LoginPage } from '@/features/auth/components/LoginPage';
import { ResetPasswordPage } from '@/features/auth/components/ResetPasswordPage';
import { SsoCompletePage } from '@/features/auth/components/SsoCompletePage';
import { useMe } from '@/lib/me';
import { problemMessage } from '@/lib/problem';
import { Link, navigate, safePath, useLocation } from '@/lib/router';
import { useSession } from '@/lib/session';
import { Header } from './Header';
import { AppProviders } from './providers';
import { SecurityRoute } from './routes/SecurityRoute';

const HOME = '/settings/security';

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

function FullPageLoading() {
  return (
    <main className="auth-page">
      <Loading />
    </main>
  );
}

/** Signed-in screens: the header, the 2FA-setup policy, and admin-only pages. */
function Protected({ children, admin = false }: { children: ReactNode; admin?: boolean }) {
  const { t } = useTranslation();
  const { me, loading, error } = useMe();
  const { pathname } = useLocation();
  if (loading && !me) return <FullPageLoading />;
  if (!me) {
    return (
      <main className="auth-page">
        <Alert>{problemMessage(error)}</Alert>
      </main>
    );
  }
  if (me.mfa_setup_required && pathname !== HOME) return <Redirect to={HOME} />;
  return (
    <>
      <a href="#content" className="skip-link">
        {t('app.skipToContent')}
      </a>
      <Header />
      <div id="content">
        {admin && me.role !== 'admin' ? (
          <main className="page">
            <h1>{t('app.adminOnlyTitle')}</h1>
            <p>{t('app.adminOnly')}</p>
            <Link href={HOME}>{t('app.backToSecurity')}</Link>
          </main>
        ) : (
          children
        )}
      </div>
    </>
  );
}

function Routes() {
  const { t } = useTranslation();
  const session = useSession();
  const { pathname, search } = useLocation();

  // The tab's title follows the page and the language shown.
  useEffect(() => {
    const titles: Record<string, string> = {
      '/login': t('app.titles.login'),
      '/forgot-password': t('app.titles.forgotPassword'),
      '/reset-password': t('app.titles.resetPassword'),
      [HOME]: t('app.titles.security'),
      '/admin': t('app.titles.admin'),
    };
    document.title = `${titles[pathname] ?? 'CloudCX'} · CloudCX`;
  }, [pathname, t]);

  if (pathname === '/sso/complete') return <SsoCompletePage />;
  // Open whether signed in or not: a reset link may be opened in a browser with a session.
  if (pathname === '/forgot-password') return <ForgotPasswordPage />;
  if (pathname === '/reset-password') return <ResetPasswordPage />;
  if (session.status === 'unknown') return <FullPageLoading />;

  if (pathname === '/login') {
    if (session.status === 'signed_in') return <Redirect to={safePath(search.get('next'), HOME)} />;
    return <LoginPage notice={session.notice} />;
  }

  if (session.status === 'signed_out') {
    const next = pathname === '/' || pathname === HOME ? '' : `?next=${encodeURIComponent(pathname + (search.size ? `?${search}` : ''))}`;
    return <Redirect to={`/login${next}`} />;
  }

  switch (pathname) {
    case '/':
      return <Redirect to={HOME} />;
    case HOME:
      return (
        <Protected>
          <SecurityRoute />
        </Protected>
      );
    case '/admin':
      return (
        <Protected admin>
          <AdminPage />
        </Protected>
      );
    default:
      return (
        <Protected>
          <main className="page">
            <h1>{t('app.notFoundTitle')}</h1>
            <Link href={HOME}>{t('app.goToSecurity')}</Link>
          </main>
        </Protected>
      );
  }
}

export function App() {
  return (
    <AppProviders>
      <Routes />
    </AppProviders>
  );
}
