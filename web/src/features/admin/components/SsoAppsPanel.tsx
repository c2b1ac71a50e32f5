import { useState, type FormEvent } from 'react';
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

const KINDS = [
  { id: 'google', label: 'Google' },
  { id: 'microsoft', label: 'Microsoft (Office 365)' },
  { id: 'oidc', label: 'OpenID Connect' },
] as const;

export function SsoAppsPanel() {
  const providers = useAsync(listProviders, []);
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
        <h2 id="apps-title">SSO applications</h2>
        <Button variant="primary" onClick={() => setEditing('new')}>
          Add application
        </Button>
      </div>
      <Alert>{error ? problemMessage(error) : null}</Alert>
      {providers.loading && !providers.data && <Loading />}
      {providers.data?.length === 0 && <p className="empty">No SSO application yet. Add Google, Microsoft or another OpenID Connect provider.</p>}
      <ul className="app-list">
        {providers.data?.map((p) => (
          <li key={p.id} className="card">
            <div className="row spread">
              <div>
                <h3>
                  {p.display_name} <span className={`badge ${p.enabled ? 'badge-ok' : 'badge-muted'}`}>{p.enabled ? 'Enabled' : 'Disabled'}</span>
                </h3>
                <p className="muted">
                  {KINDS.find((k) => k.id === p.kind)?.label ?? p.kind} · {p.issuer}
                </p>
              </div>
              <div className="row">
                <Button onClick={() => setEditing(p)}>Edit</Button>
                <Button onClick={() => void toggle.run(p)} busy={toggle.pending}>
                  {p.enabled ? 'Disable' : 'Enable'}
                </Button>
                <Button onClick={() => void test.run(p)} busy={test.pending}>
                  Test connection
                </Button>
              </div>
            </div>
            <p className="small">
              Redirect URI to register at the provider: <code>{p.redirect_uri}</code>
            </p>
            {tests[p.id] &&
              (tests[p.id]!.ok ? (
                <Alert kind="success">The connection works.</Alert>
              ) : (
                <Alert>
                  <p>The connection has problems:</p>
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
      title={provider ? `Edit ${provider.display_name}` : 'Add SSO application'}
      onClose={onClose}
      dismissable={!save.pending}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" form="provider-form" variant="primary" busy={save.pending}>
            Save
          </Button>
        </>
      }
    >
      <form id="provider-form" onSubmit={submit} noValidate>
        <Alert>{save.error ? problemMessage(save.error) : null}</Alert>
        {!provider && (
          <div className="field">
            <label htmlFor="provider-kind">Kind</label>
            <select
              id="provider-kind"
              value={kind}
              onChange={(e) => {
                setKind(e.target.value as ProviderView['kind']);
                const label = e.target.value === 'google' ? 'Google' : e.target.value === 'microsoft' ? 'Office 365' : '';
                setDisplayName(label);
              }}
            >
              {KINDS.map((k) => (
                <option key={k.id} value={k.id}>
                  {k.label}
                </option>
              ))}
            </select>
          </div>
        )}
        <Field label="Name on the button" required value={displayName} onChange={(e) => setDisplayName(e.target.value)} hint='Shown as "Sign in with …"' />
        <Field label="Client ID" required value={clientId} onChange={(e) => setClientId(e.target.value)} />
        <Field
          label="Client secret"
          type="password"
          autoComplete="off"
          required={!provider}
          value={secret}
          onChange={(e) => setSecret(e.target.value)}
          hint={provider ? 'Leave empty to keep the current secret.' : undefined}
        />
        <Field
          label={kind === 'oidc' ? 'Issuer' : 'Issuer (optional)'}
          type="url"
          value={issuer}
          onChange={(e) => setIssuer(e.target.value)}
          hint={kind === 'oidc' ? 'The discovery base, e.g. https://example.okta.com' : 'Leave empty for the default.'}
        />
        {kind === 'microsoft' && (
          <>
            <Field label="Microsoft tenant" value={msTenant} onChange={(e) => setMsTenant(e.target.value)} hint="A tenant GUID, or organizations / common with allowed tenants." />
            <Field label="Allowed tenants" value={allowed} onChange={(e) => setAllowed(e.target.value)} hint="Tenant GUIDs, separated by commas." />
          </>
        )}
        <div className="field checkbox">
          <input id="trust-mfa" type="checkbox" checked={trustMfa} onChange={(e) => setTrustMfa(e.target.checked)} />
          <label htmlFor="trust-mfa">Trust the provider's multi-factor sign-in</label>
        </div>
        <div className="field checkbox">
          <input id="provider-enabled" type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
          <label htmlFor="provider-enabled">Enabled</label>
        </div>
      </form>
    </Dialog>
  );
}
