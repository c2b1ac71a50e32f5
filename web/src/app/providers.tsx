import { useEffect, useMemo, type ReactNode } from 'react';
import { ReauthProvider } from '@/features/auth/components/ReauthProvider';
import { getMe } from '@/features/auth/api/get-me';
import { bootstrapSession } from '@/lib/auth';
import { browserLanguage, resolveLanguage, setLanguage } from '@/lib/i18n';
import { MeContext } from '@/lib/me';
import { useSession } from '@/lib/session';
import { useAsync } from '@/lib/use-async';

/** Loads GET /me once per signed-in session (again after a sign-in as someone else). */
function MeProvider({ children }: { children: ReactNode }) {
  const session = useSession();
  const signedIn = session.status === 'signed_in';
  const me = useAsync(() => (signedIn ? getMe() : Promise.resolve(null)), [signedIn]);
  // The language shown: the account's choice once /me is known, the browser's when signed out.
  const locale = signedIn ? me.data?.locale : null;
  useEffect(() => {
    if (!signedIn) setLanguage(browserLanguage());
    else if (me.data) setLanguage(resolveLanguage(locale));
  }, [signedIn, me.data, locale]);
  const value = useMemo(
    () => ({ me: signedIn ? me.data ?? null : null, loading: signedIn && me.loading, error: me.error, reload: me.reload }),
    [signedIn, me.data, me.loading, me.error, me.reload],
  );
  return <MeContext.Provider value={value}>{children}</MeContext.Provider>;
}

export function AppProviders({ children }: { children: ReactNode }) {
  useEffect(() => {
    void bootstrapSession();
  }, []);
  return (
    <MeProvider>
      <ReauthProvider>{children}</ReauthProvider>
    </MeProvider>
  );
}
