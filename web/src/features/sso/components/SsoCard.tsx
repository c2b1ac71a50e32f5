import { useState } from 'react';
import { Alert, Loading } from '@/components/Alert';
import { Button } from '@/components/Button';
import { problemMessage } from '@/lib/problem';
import { useSensitive } from '@/lib/reauth';
import { useAction, useAsync } from '@/lib/use-async';
import { connectSso } from '../api/connect-sso';
import { disconnectSso } from '../api/disconnect-sso';
import { getMySso } from '../api/get-my-sso';

export const NO_APPLICATION = "You haven't added any application. Please contact your system admin.";

/** Security Settings → "Single Sign-On (SSO)": connect and disconnect external accounts. */
export function SsoCard() {
  const sso = useAsync(getMySso, []);
  const sensitive = useSensitive();
  const [notice, setNotice] = useState<string | null>(null);

  const connect = useAction(async (providerId: string) => {
    const url = await sensitive(() => connectSso(providerId));
    window.location.assign(url);
  });
  const disconnect = useAction(async (connectionId: string, name: string) => {
    await sensitive(() => disconnectSso(connectionId));
    setNotice(`Your ${name} account is disconnected.`);
    sso.reload();
  });

  const data = sso.data;
  const error = sso.error ?? connect.error ?? disconnect.error;

  return (
    <section className="card" aria-labelledby="sso-title">
      <h2 id="sso-title">Single Sign-On (SSO)</h2>
      <p className="muted">Connect an account of your organisation to sign in with it.</p>
      <Alert>{error ? problemMessage(error) : null}</Alert>
      <Alert kind="success">{notice}</Alert>
      {sso.loading && !data && <Loading />}
      {data && data.providers.length === 0 && <p className="empty">{NO_APPLICATION}</p>}
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
                      Connected{conn.email ? <> as <strong>{conn.email}</strong></> : null}
                    </p>
                  ) : (
                    <p className="muted">Not connected</p>
                  )}
                </div>
                <div className="method-actions">
                  {conn ? (
                    <Button
                      onClick={() => void disconnect.run(conn.id, p.display_name)}
                      busy={disconnect.pending}
                      aria-label={`Disconnect ${p.display_name}`}
                    >
                      Disconnect
                    </Button>
                  ) : (
                    <Button
                      variant="primary"
                      onClick={() => void connect.run(p.id)}
                      busy={connect.pending}
                      aria-label={`Connect ${p.display_name}`}
                    >
                      Connect
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
