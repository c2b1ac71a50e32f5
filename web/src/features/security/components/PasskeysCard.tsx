import { startRegistration, WebAuthnAbortService } from '@simplewebauthn/browser';
import { useState, type FormEvent, type KeyboardEvent } from 'react';
import { Alert, Loading } from '@/components/Alert';
import { Button } from '@/components/Button';
import { Dialog } from '@/components/Dialog';
import { Field } from '@/components/Field';
import { formatTime } from '@/lib/format';
import { passkeyAborted, passkeyMessage, passkeyUnavailable } from '@/lib/passkeys';
import { hasCode, problemMessage } from '@/lib/problem';
import { useSensitive } from '@/lib/reauth';
import { useAction, useAsync } from '@/lib/use-async';
import { addPasskey } from '../api/add-passkey';
import { deletePasskey } from '../api/delete-passkey';
import { listPasskeys, type Passkey } from '../api/list-passkeys';
import { passkeyOptions } from '../api/passkey-options';
import { renamePasskey } from '../api/rename-passkey';

const NAME_MAX = 64;
export const PASSKEYS_OFF = "Your site has turned passkeys off: they can't be added or used to sign in for now.";

/** "Synced" (backup eligible: a password manager or platform copies it) or bound to one device. */
export function passkeyKind(p: Pick<Passkey, 'kind'>): string {
  return p.kind === 'synced' ? 'Synced' : 'This device only';
}

/**
 * Security Settings → "Passkeys": add (the browser's dialog, named by the user), list, rename
 * inline, remove. Adding and removing need a fresh sign-in (the "Confirm it's you" dialog on 403
 * `reauth_required`). `onChanged` after an add or a removal: a passkey counts for the site's
 * "require 2FA" policy.
 */
export function PasskeysCard({ onChanged }: { onChanged?: () => void }) {
  const passkeys = useAsync(listPasskeys, []);
  const sensitive = useSensitive();
  const [unavailable] = useState(passkeyUnavailable);
  const [siteOff, setSiteOff] = useState(false);
  const [adding, setAdding] = useState(false);
  const [removing, setRemoving] = useState<Passkey | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const remove = useAction(async (p: Passkey) => {
    setNotice(null);
    try {
      await sensitive(() => deletePasskey(p.id));
      setNotice(`The passkey “${p.name}” was removed. Also delete it from your device or password manager.`);
    } catch (err) {
      if (!hasCode(err, 'not_found')) throw err;
      setNotice(problemMessage(err, 'passkey'));
    }
    setRemoving(null);
    passkeys.reload();
    onChanged?.();
  });

  // A site with passkeys off may refuse the list too: then the card has nothing to offer.
  if (hasCode(passkeys.error, 'passkeys_disabled')) return null;

  const off = siteOff;
  const list = passkeys.data;
  const error = passkeys.error ? problemMessage(passkeys.error) : remove.error && !removing ? problemMessage(remove.error, 'passkey') : null;

  return (
    <section className="card" aria-labelledby="passkeys-title" aria-busy={passkeys.loading || undefined}>
      <div className="row spread">
        <h2 id="passkeys-title">Passkeys</h2>
        {!off && (
          <Button variant="primary" onClick={() => (setNotice(null), setAdding(true))} disabled={unavailable !== null}>
            Add a passkey
          </Button>
        )}
      </div>
      <p className="muted">
        Sign in with your fingerprint, face or device PIN instead of your password. A passkey only works on this site, so it
        can't be phished.
      </p>
      {!off && unavailable && <Alert kind="info">{unavailable}</Alert>}
      {off && <Alert kind="info">{PASSKEYS_OFF}</Alert>}
      <Alert kind="success">{notice}</Alert>
      <Alert>{error}</Alert>
      {passkeys.loading && !list && <Loading label="Loading passkeys…" />}
      {list && list.length === 0 && <p className="empty">You haven't added a passkey yet.</p>}
      {list && list.length > 0 && (
        <ul className="method-list" aria-label="Your passkeys">
          {list.map((p) =>
            editing === p.id ? (
              <li key={p.id} className="method device">
                <RenameForm
                  passkey={p}
                  onCancel={() => setEditing(null)}
                  onSaved={(saved) => {
                    setEditing(null);
                    setNotice(`The passkey is now called “${saved.name}”.`);
                    passkeys.setData(list.map((x) => (x.id === saved.id ? saved : x)));
                  }}
                />
              </li>
            ) : (
              <li key={p.id} className="method device">
                <div>
                  <h3>
                    {p.name} <span className="badge badge-muted">{passkeyKind(p)}</span>
                  </h3>
                  <p className="muted small">
                    Added <time dateTime={p.created_at}>{formatTime(p.created_at)}</time> ·{' '}
                    {p.last_used_at ? (
                      <>
                        Last used <time dateTime={p.last_used_at}>{formatTime(p.last_used_at)}</time>
                      </>
                    ) : (
                      'Never used'
                    )}
                  </p>
                </div>
                <div className="method-actions">
                  <Button onClick={() => (setNotice(null), setEditing(p.id))} aria-label={`Rename ${p.name}`}>
                    Rename
                  </Button>
                  <Button variant="danger" onClick={() => (setNotice(null), remove.setError(null), setRemoving(p))} aria-label={`Remove ${p.name}`}>
                    Remove
                  </Button>
                </div>
              </li>
            ),
          )}
        </ul>
      )}

      {adding && (
        <AddPasskeyDialog
          onClose={() => setAdding(false)}
          onSiteOff={() => {
            setAdding(false);
            setSiteOff(true);
          }}
          onAdded={(p) => {
            setAdding(false);
            setNotice(`The passkey “${p.name}” was added. You can now sign in with it.`);
            passkeys.reload();
            onChanged?.();
          }}
          run={sensitive}
        />
      )}
      {removing && (
        <Dialog
          title="Remove this passkey?"
          size="small"
          onClose={() => setRemoving(null)}
          dismissable={!remove.pending}
          footer={
            <>
              <Button onClick={() => setRemoving(null)} disabled={remove.pending}>
                Cancel
              </Button>
              <Button variant="danger" onClick={() => void remove.run(removing)} busy={remove.pending}>
                Remove
              </Button>
            </>
          }
        >
          <p>
            You will no longer be able to sign in with <strong>{removing.name}</strong>. Also delete it from your device or
            password manager.
          </p>
          <Alert>{remove.error ? problemMessage(remove.error, 'passkey') : null}</Alert>
        </Dialog>
      )}
    </section>
  );
}

type Sensitive = ReturnType<typeof useSensitive>;

function AddPasskeyDialog({
  onClose,
  onAdded,
  onSiteOff,
  run,
}: {
  onClose: () => void;
  onAdded: (p: Passkey) => void;
  onSiteOff: () => void;
  run: Sensitive;
}) {
  const [name, setName] = useState('');

  const add = useAction(async () => {
    try {
      // The whole ceremony runs again after "Confirm it's you": a fresh challenge, a new prompt.
      const created = await run(async () => {
        const start = await passkeyOptions();
        const credential = await startRegistration({ optionsJSON: start.publicKey });
        return addPasskey(start.challengeId, name.trim(), credential);
      });
      onAdded(created);
    } catch (err) {
      if (hasCode(err, 'passkeys_disabled')) return onSiteOff();
      if (passkeyAborted(err)) return;
      throw err;
    }
  });

  function cancel() {
    // Closing while the browser's own dialog is up: end that ceremony too.
    WebAuthnAbortService.cancelCeremony();
    onClose();
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    void add.run();
  }

  const err = add.error ? passkeyMessage(add.error, 'passkey') : null;
  return (
    <Dialog
      title="Add a passkey"
      size="small"
      onClose={cancel}
      footer={
        <>
          <Button onClick={cancel}>Cancel</Button>
          <Button type="submit" form="add-passkey-form" variant="primary" busy={add.pending}>
            Continue
          </Button>
        </>
      }
    >
      <form id="add-passkey-form" onSubmit={submit} noValidate>
        <p>Give the passkey a name, then follow your browser's steps to create it.</p>
        <Alert>{err}</Alert>
        <Field
          label="Passkey name"
          name="passkey_name"
          autoComplete="off"
          maxLength={NAME_MAX}
          placeholder="e.g. Work laptop"
          hint="Optional. Helps you tell your passkeys apart."
          value={name}
          onChange={(e) => setName(e.target.value)}
          autoFocus
        />
      </form>
    </Dialog>
  );
}

function RenameForm({ passkey, onCancel, onSaved }: { passkey: Passkey; onCancel: () => void; onSaved: (p: Passkey) => void }) {
  const [name, setName] = useState(passkey.name);
  const save = useAction(async () => {
    onSaved(await renamePasskey(passkey.id, name.trim()));
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    if (name.trim()) void save.run();
  }

  function onKeyDown(e: KeyboardEvent<HTMLFormElement>) {
    if (e.key === 'Escape') {
      e.stopPropagation();
      onCancel();
    }
  }

  return (
    <form className="rename-form" onSubmit={submit} onKeyDown={onKeyDown} noValidate aria-label={`Rename ${passkey.name}`}>
      <Field
        label="New name"
        name="passkey_name"
        autoComplete="off"
        maxLength={NAME_MAX}
        value={name}
        onChange={(e) => setName(e.target.value)}
        error={save.error ? problemMessage(save.error, 'passkey') : undefined}
        autoFocus
      />
      <div className="method-actions">
        <Button type="submit" variant="primary" busy={save.pending} disabled={!name.trim()}>
          Save
        </Button>
        <Button onClick={onCancel} disabled={save.pending}>
          Cancel
        </Button>
      </div>
    </form>
  );
}
