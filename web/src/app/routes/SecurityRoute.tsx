import { useState } from 'react';
import { Alert } from '@/components/Alert';
import { ChangePasswordCard } from '@/features/security/components/ChangePasswordCard';
import { DevicesCard } from '@/features/security/components/DevicesCard';
import { LanguageCard } from '@/features/security/components/LanguageCard';
import { PasskeysCard } from '@/features/security/components/PasskeysCard';
import { TwoFactorCard } from '@/features/security/components/TwoFactorCard';
import { SsoCard } from '@/features/sso/components/SsoCard';
import { useMe } from '@/lib/me';
import { useLocation } from '@/lib/router';

/** Edit Profile → Security Settings: 2FA, passkeys, SSO, the password and the signed-in devices. */
export function SecurityRoute() {
  const { me, reload } = useMe();
  const { state } = useLocation();
  const [devicesVersion, setDevicesVersion] = useState(0);
  const notice = (state as { notice?: string } | null)?.notice ?? null;
  const setupRequired = me?.mfa_setup_required ?? false;
  return (
    <main className="page">
      <h1>Security Settings</h1>
      {me && (
        <p className="muted">
          {me.display_name} · {me.email} · {me.tenant.name}
        </p>
      )}
      {setupRequired && (
        <Alert kind="warning">
          Your site requires two-factor authentication. Set up one of the methods below to continue using CloudCX.
        </Alert>
      )}
      <Alert kind="success">{notice}</Alert>
      <TwoFactorCard email={me?.email} onChanged={() => setupRequired && reload()} />
      {/* A passkey also satisfies the site's "require 2FA" policy: offered during that set-up too. */}
      <PasskeysCard onChanged={() => setupRequired && reload()} />
      {!setupRequired && (
        <>
          <SsoCard />
          <ChangePasswordCard onChanged={() => setDevicesVersion((v) => v + 1)} />
          <DevicesCard version={devicesVersion} />
        </>
      )}
      <LanguageCard />
    </main>
  );
}
