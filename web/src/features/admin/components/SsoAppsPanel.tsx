import { useMemo, useState, type FormEvent } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import type { TFunction } from 'i18next';
import { Alert, Loading } from '@/components/Alert';
import { Button } from '@/components/Button';
import { Dialog } from '@/components/Dialog';
import { Field } from '@/components/Field';
import { problemMessage } from '@/lib/problem';
import { useSensitive } from '@/lib/reauth';
import { useAction, useAsync } from '@/lib/use-async';
import {
  createProvider,
  listProviders,
  patchProvider,
  testProvider,
  type ProviderInput,
  type ProviderTest,
  type ProviderView,
} from '../api/sso-providers';

// A kind's name is `kinds.<id>` in the admin catalog.
const KINDS = ['google', 'microsoft', 'oidc'] as const;

/** A provider kind's name in the reader's language; an unknown kind shows as it is. */
function kindLabel(t: TFunction<'admin'>, kind: string): string {
  const known = KINDS.find((k) => k === kind);
  return known ? t(`kinds.${known}`) : kind;
}

/**
 * The applications in a stable order: by name (case-insensitive), then by id, so that two
 * loads never swap them whatever order the server answered in.
 */
export function inDisplayOrder<P extends Pick<ProviderView, 'id' | 'display_name'>>(providers: readonly P[]): P[] {
  const key = (p: P) => p.display_name.toLowerCase();
  return [...providers].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (ka !== kb) return ka < kb ? -1 : 1;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}

export function SsoAppsPanel() {
  const { t } = useTranslation('admin');
  const providers = useAsync(listProviders, []);
  const listed = useMemo(() => (providers.data ? inDisplayOrder(providers.data) : undefined), [providers.data]);
  const [editing, setEditing] = useState<ProviderView | 'new' | null>(null);
  const [tests, setTests] = useState<Record<string, ProviderTest>>({});
  const sensitive = useSensitive();

  const toggle = useAction(async (p: ProviderView) => {
    await sensitive(() => patchProvider(p.id, { enabled: !p.enabled }));
    providers.reload();
  });
  const test = useAction(async (p: ProviderView) => {
    const result = await testProvider(p.id);
    setTests((t) => ({ ...t, [p.id]: result }));
  });

  const error = providers.error ?? toggle.error ?? test.error;
  return (
    <section aria-labelledby="apps-title">
      <div className="row spread">
        <h2 id="apps-title">{t('sso.title')}</h2>
        <Button variant="primary" onClick={() => setEditing('new')}>
          {t('sso.addApplication')}
        </Button>
      </div>
      <Alert>{error ? problemMessage(error) : null}</Alert>
      {providers.loading && !providers.data && <Loading />}
      {listed?.length === 0 && <p className="empty">{t('sso.empty')}</p>}
      <ul className="app-list">
        {listed?.map((p) => (
          <li key={p.id} className="card">
            <div className="row spread">
              <div>
                <h3>
                  {p.display_name}{' '}
                  <span className={`badge ${p.enabled ? 'badge-ok' : 'badge-muted'}`}>{p.enabled ? t('sso.enabled') : t('sso.disabled')}</span>
                </h3>
                <p className="muted">
                  {kindLabel(t, p.kind)} · {p.issuer}
                </p>
              </div>
              <div className="row">
                <Button onClick={() => setEditing(p)}>{t('buttons.edit')}</Button>
                <Button onClick={() => void toggle.run(p)} busy={toggle.pending}>
                  {p.enabled ? t('buttons.disable') : t('buttons.enable')}
                </Button>
                <Button onClick={() => void test.run(p)} busy={test.pending}>
                  {t('sso.testConnection')}
                </Button>
              </div>
            </div>
            <p className="small">
              <Trans t={t} i18nKey="sso.redirectUri" values={{ uri: p.redirect_uri }} components={[<code key="uri" />]} />
            </p>
            {tests[p.id] &&
              (tests[p.id]!.ok ? (
                <Alert kind="success">{t('sso.testOk')}</Alert>
              ) : (
                <Alert>
                  <p>{t('sso.testProblems')}</p>
                  <ul>
                    {tests[p.id]!.problems.map((pr) => (
                      <li key={pr}>{pr}</li>
                    ))}
                  </ul>
                </Alert>
              ))}
          </li>
        ))}
      </ul>
      {editing && (
        <ProviderDialog
          provider={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            providers.reload();
          }}
        />
      )}
    </section>
  );
}

function ProviderDialog({ provider, onClose, onSaved }: { provider: ProviderView | null; onClose: () => void; onSaved: () => void }) {
  const { t } = useTranslation('admin');
  const [kind, setKind] = useState(provider?.kind ?? 'google');
  const [displayName, setDisplayName] = useState(provider?.display_name ?? 'Google');
  const [clientId, setClientId] = useState(provider?.client_id ?? '');
  const [secret, setSecret] = useState('');
  const [issuer, setIssuer] = useState(provider?.issuer ?? '');
  const [msTenant, setMsTenant] = useState(provider?.microsoft_tenant ?? 'organizations');
  const [allowed, setAllowed] = useState((provider?.allowed_tenants ?? []).join(', '));
  const [trustMfa, setTrustMfa] = useState(provider?.trust_idp_mfa ?? false);
  const [enabled, setEnabled] = useState(provider?.enabled ?? true);
  const sensitive = useSensitive();

  const save = useAction(async () => {
    const body: ProviderInput = {
      display_name: displayName.trim(),
      client_id: clientId.trim(),
      issuer: issuer.trim() || null,
      microsoft_tenant: kind === 'microsoft' ? msTenant.trim() || null : null,
      allowed_tenants: kind === 'microsoft' ? allowed.split(/[\s,]+/).filter(Boolean) : null,
      trust_idp_mfa: trustMfa,
      enabled,
    };
    // The secret is write-only: left empty on edit, the stored one stays.
    if (secret) body.client_secret = secret;
    if (provider) await sensitive(() => patchProvider(provider.id, body));
    else await sensitive(() => createProvider({ ...body, kind }));
    onSaved();
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    void save.run();
  }

  return (
    <Dialog
      title={provider ? t('sso.dialog.editTitle', { name: provider.display_name }) : t('sso.dialog.addTitle')}
      onClose={onClose}
      dismissable={!save.pending}
      footer={
        <>
          <Button onClick={onClose}>{t('buttons.cancel')}</Button>
          <Button type="submit" form="provider-form" variant="primary" busy={save.pending}>
            {t('buttons.save')}
          </Button>
        </>
      }
    >
      <form id="provider-form" onSubmit={submit} noValidate>
        <Alert>{save.error ? problemMessage(save.error) : null}</Alert>
        {!provider && (
          <div className="field">
            <label htmlFor="provider-kind">{t('sso.dialog.kind')}</label>
            <select
              id="provider-kind"
              value={kind}
              onChange={(e) => {
                setKind(e.target.value as ProviderView['kind']);
                // The default name on the button is the product's own (brand names stay untranslated).
                const label = e.target.value === 'google' ? 'Google' : e.target.value === 'microsoft' ? 'Office 365' : '';
                setDisplayName(label);
              }}
            >
              {KINDS.map((k) => (
                <option key={k} value={k}>
                  {kindLabel(t, k)}
                </option>
              ))}
            </select>
          </div>
        )}
        <Field
          label={t('sso.dialog.buttonName')}
          required
          value={displayName}
          onChange={(e) => setDisplayName(e.target.value)}
          hint={t('sso.dialog.buttonNameHint')}
        />
        <Field label={t('sso.dialog.clientId')} required value={clientId} onChange={(e) => setClientId(e.target.value)} />
        <Field
          label={t('sso.dialog.clientSecret')}
          type="password"
          autoComplete="off"
          required={!provider}
          value={secret}
          onChange={(e) => setSecret(e.target.value)}
          hint={provider ? t('sso.dialog.clientSecretKeep') : undefined}
        />
        <Field
          label={kind === 'oidc' ? t('sso.dialog.issuer') : t('sso.dialog.issuerOptional')}
          type="url"
          value={issuer}
          onChange={(e) => setIssuer(e.target.value)}
          hint={kind === 'oidc' ? t('sso.dialog.issuerHint') : t('sso.dialog.issuerDefault')}
        />
        {kind === 'microsoft' && (
          <>
            <Field
              label={t('sso.dialog.msTenant')}
              value={msTenant}
              onChange={(e) => setMsTenant(e.target.value)}
              hint={t('sso.dialog.msTenantHint')}
            />
            <Field
              label={t('sso.dialog.allowedTenants')}
              value={allowed}
              onChange={(e) => setAllowed(e.target.value)}
              hint={t('sso.dialog.allowedTenantsHint')}
            />
          </>
        )}
        <div className="field checkbox">
          <input id="trust-mfa" type="checkbox" checked={trustMfa} onChange={(e) => setTrustMfa(e.target.checked)} />
          <label htmlFor="trust-mfa">{t('sso.dialog.trustMfa')}</label>
        </div>
        <div className="field checkbox">
          <input id="provider-enabled" type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
          <label htmlFor="provider-enabled">{t('sso.dialog.enabled')}</label>
        </div>
      </form>
    </Dialog>
  );
}
