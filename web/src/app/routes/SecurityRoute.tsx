import { useState } from 'react';
import { useTranslation } from 'react-i18next';
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
  const { t } = useTranslation();
  const { me, reload } = useMe();
  const { state } = useLocation();
  const [devicesVersion, setDevicesVersion] = useState(0);
  const notice = (state as { notice?: string } | null)?.notice ?? null;
  const setupRequired = me?.mfa_setup_required ?? false;
  return (
    <main className="page">
      <h1>{t('securityRoute.title')}</h1>
      {me && (
        <p className="muted">
          {me.display_name} · {me.email} · {me.tenant.name}
        </p>
      )}
      {setupRequired && (
        <Alert kind="warning">{t('securityRoute.mfaSetupRequired')}</Alert>
      )}
      <TwoFactorCard email={me?.email} onChanged={() => setupRequired && reload()} />
      {/* A passkey also satisfies the site's "require 2FA" policy: offered during that set-up too. */}
      <PasskeysCard onChanged={() => setupRequired && reload()} />
      {!setupRequired && (
        <>
          {/* The message the return from an SSO provider left: the SSO card shows it, until its next action. */}
          <SsoCard notice={notice} />
          <ChangePasswordCard onChanged={() => setDevicesVersion((v) => v + 1)} />
          <DevicesCard version={devicesVersion} />
        </>
      )}
      <LanguageCard />
    </main>
  );
}
