import { useState } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import { Alert, Loading } from '@/components/Alert';
import { Button } from '@/components/Button';
import { ProviderMark } from '@/components/ProviderMark';
import { problemMessage } from '@/lib/problem';
import { useSensitive } from '@/lib/reauth';
import { useAction, useAsync } from '@/lib/use-async';
import { connectSso } from '../api/connect-sso';
import { disconnectSso } from '../api/disconnect-sso';
import { getMySso } from '../api/get-my-sso';

/**
 * Security Settings → "Single Sign-On (SSO)": connect and disconnect external accounts.
 *
 * One message at a time, the latest action's: `notice` is the one the return from the provider
 * left ("Your Google account … is connected."); a later Connect or Disconnect replaces it.
 */
export function SsoCard({ notice = null }: { notice?: string | null }) {
  const { t } = useTranslation('sso');
  const sso = useAsync(getMySso, []);
  const sensitive = useSensitive();
  const [message, setMessage] = useState<string | null>(notice);

  const connect = useAction(async (providerId: string) => {
    setMessage(null);
    const url = await sensitive(() => connectSso(providerId));
    window.location.assign(url);
  });
  const disconnect = useAction(async (connectionId: string, name: string) => {
    setMessage(null);
    await sensitive(() => disconnectSso(connectionId));
    setMessage(t('card.disconnected', { name }));
    forgetReturnNotice();
    sso.reload();
  });

  const data = sso.data;
  const error = sso.error ?? connect.error ?? disconnect.error;

  return (
    <section className="card" aria-labelledby="sso-title">
      <h2 id="sso-title">{t('card.title')}</h2>
      <p className="muted">{t('card.intro')}</p>
      <Alert>{error ? problemMessage(error) : null}</Alert>
      <Alert kind="success">{message}</Alert>
      {sso.loading && !data && <Loading />}
      {data && data.providers.length === 0 && <p className="empty">{t('card.noApplication')}</p>}
      {data && data.providers.length > 0 && (
        <ul className="method-list">
          {data.providers.map((p) => {
            const conn = data.connections.find((c) => c.provider_id === p.id);
            return (
              <li key={p.id} className="method">
                <div>
                  <h3>{p.display_name}</h3>
                  {conn ? (
                    <p>
                      {conn.email ? (
                        <Trans t={t} i18nKey="card.connectedAs" values={{ email: conn.email }} components={{ strong: <strong /> }} />
                      ) : (
                        t('card.connected')
                      )}
                    </p>
                  ) : (
                    <p className="muted">{t('card.notConnected')}</p>
                  )}
                </div>
                <div className="method-actions">
                  {conn ? (
                    <Button
                      onClick={() => void disconnect.run(conn.id, p.display_name)}
                      busy={disconnect.pending}
                      aria-label={t('card.disconnectLabel', { name: p.display_name })}
                    >
                      {t('card.disconnect')}
                    </Button>
                  ) : (
                    // A light button: the providers' marks go on white, as their guidelines ask.
                    <Button
                      variant="secondary"
                      onClick={() => void connect.run(p.id)}
                      busy={connect.pending}
                      aria-label={t('card.connectLabel', { name: p.display_name })}
                    >
                      <ProviderMark kind={p.kind} />
                      {t('card.connect')}
                    </Button>
                  )}
                </div>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

/** The return's message lives in the history entry: drop it, so that a reload does not bring it back. */
function forgetReturnNotice() {
  const state: unknown = window.history.state;
  if (state && typeof state === 'object' && 'notice' in state) {
    const { notice: _, ...rest } = state as Record<string, unknown>;
    window.history.replaceState(Object.keys(rest).length ? rest : null, '');
  }
}
