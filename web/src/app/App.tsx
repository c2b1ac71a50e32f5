import { useEffect, type ReactNode } from 'react';
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
        Skip to content
      </a>
      <Header />
      <div id="content">
        {admin && me.role !== 'admin' ? (
          <main className="page">
            <h1>Administration</h1>
            <p>Only administrators of your site can open this page.</p>
            <Link href={HOME}>Back to Security Settings</Link>
          </main>
        ) : (
          children
        )}
      </div>
    </>
  );
}

function Routes() {
  const session = useSession();
  const { pathname, search } = useLocation();

  useEffect(() => {
    const titles: Record<string, string> = {
      '/login': 'Sign in',
      '/forgot-password': 'Forgot password',
      '/reset-password': 'Reset password',
      [HOME]: 'Security Settings',
      '/admin': 'Administration',
    };
    document.title = `${titles[pathname] ?? 'CloudCX'} · CloudCX`;
  }, [pathname]);

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
            <h1>Page not found</h1>
            <Link href={HOME}>Go to Security Settings</Link>
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
