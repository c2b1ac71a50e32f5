import { startRegistration, WebAuthnAbortService } from '@simplewebauthn/browser';
import { useState, type FormEvent, type KeyboardEvent } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import { Alert, Loading } from '@/components/Alert';
import { Button } from '@/components/Button';
import { Dialog } from '@/components/Dialog';
import { Field } from '@/components/Field';
import { formatTime } from '@/lib/format';
import i18n from '@/lib/i18n';
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

/** "Synced" (backup eligible: a password manager or platform copies it) or bound to one device. */
export function passkeyKind(p: Pick<Passkey, 'kind'>): string {
  return i18n.t(p.kind === 'synced' ? 'security:passkeys.synced' : 'security:passkeys.deviceOnly');
}

/**
 * Security Settings → "Passkeys": add (the browser's dialog, named by the user), list, rename
 * inline, remove. Adding and removing need a fresh sign-in (the "Confirm it's you" dialog on 403
 * `reauth_required`). `onChanged` after an add or a removal: a passkey counts for the site's
 * "require 2FA" policy.
 */
export function PasskeysCard({ onChanged }: { onChanged?: () => void }) {
  const { t } = useTranslation('security');
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
      setNotice(t('passkeys.removed', { name: p.name }));
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
        <h2 id="passkeys-title">{t('passkeys.title')}</h2>
        {!off && (
          <Button variant="primary" onClick={() => (setNotice(null), setAdding(true))} disabled={unavailable !== null}>
            {t('passkeys.add')}
          </Button>
        )}
      </div>
      <p className="muted">{t('passkeys.intro')}</p>
      {!off && unavailable && <Alert kind="info">{unavailable}</Alert>}
      {off && <Alert kind="info">{t('passkeys.siteOff')}</Alert>}
      <Alert kind="success">{notice}</Alert>
      <Alert>{error}</Alert>
      {passkeys.loading && !list && <Loading label={t('passkeys.loading')} />}
      {list && list.length === 0 && <p className="empty">{t('passkeys.none')}</p>}
      {list && list.length > 0 && (
        <ul className="method-list" aria-label={t('passkeys.listLabel')}>
          {list.map((p) =>
            editing === p.id ? (
              <li key={p.id} className="method device">
                <RenameForm
                  passkey={p}
                  onCancel={() => setEditing(null)}
                  onSaved={(saved) => {
                    setEditing(null);
                    setNotice(t('passkeys.renamed', { name: saved.name }));
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
                    <Trans
                      t={t}
                      i18nKey="passkeys.added"
                      values={{ when: formatTime(p.created_at) }}
                      components={{ time: <time dateTime={p.created_at} /> }}
                    />{' '}
                    ·{' '}
                    {p.last_used_at ? (
                      <Trans
                        t={t}
                        i18nKey="passkeys.lastUsed"
                        values={{ when: formatTime(p.last_used_at) }}
                        components={{ time: <time dateTime={p.last_used_at} /> }}
                      />
                    ) : (
                      t('passkeys.neverUsed')
                    )}
                  </p>
                </div>
                <div className="method-actions">
                  <Button onClick={() => (setNotice(null), setEditing(p.id))} aria-label={t('passkeys.renameLabel', { name: p.name })}>
                    {t('passkeys.rename')}
                  </Button>
                  <Button variant="danger" onClick={() => (setNotice(null), remove.setError(null), setRemoving(p))} aria-label={t('passkeys.removeLabel', { name: p.name })}>
                    {t('passkeys.remove')}
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
            setNotice(t('passkeys.addedNotice', { name: p.name }));
            passkeys.reload();
            onChanged?.();
          }}
          run={sensitive}
        />
      )}
      {removing && (
        <Dialog
          title={t('passkeys.removeTitle')}
          size="small"
          onClose={() => setRemoving(null)}
          dismissable={!remove.pending}
          footer={
            <>
              <Button onClick={() => setRemoving(null)} disabled={remove.pending}>
                {t('actions.cancel')}
              </Button>
              <Button variant="danger" onClick={() => void remove.run(removing)} busy={remove.pending}>
                {t('passkeys.remove')}
              </Button>
            </>
          }
        >
          <p>
            <Trans t={t} i18nKey="passkeys.removeText" values={{ name: removing.name }} components={{ strong: <strong /> }} />
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
  const { t } = useTranslation('security');
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
      title={t('passkeys.addTitle')}
      size="small"
      onClose={cancel}
      footer={
        <>
          <Button onClick={cancel}>{t('actions.cancel')}</Button>
          <Button type="submit" form="add-passkey-form" variant="primary" busy={add.pending}>
            {t('actions.continue')}
          </Button>
        </>
      }
    >
      <form id="add-passkey-form" onSubmit={submit} noValidate>
        <p>{t('passkeys.addText')}</p>
        <Alert>{err}</Alert>
        <Field
          label={t('passkeys.name')}
          name="passkey_name"
          autoComplete="off"
          maxLength={NAME_MAX}
          placeholder={t('passkeys.namePlaceholder')}
          hint={t('passkeys.nameHint')}
          value={name}
          onChange={(e) => setName(e.target.value)}
          autoFocus
        />
      </form>
    </Dialog>
  );
}

function RenameForm({ passkey, onCancel, onSaved }: { passkey: Passkey; onCancel: () => void; onSaved: (p: Passkey) => void }) {
  const { t } = useTranslation('security');
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
    <form className="rename-form" onSubmit={submit} onKeyDown={onKeyDown} noValidate aria-label={t('passkeys.renameLabel', { name: passkey.name })}>
      <Field
        label={t('passkeys.newName')}
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
          {t('actions.save')}
        </Button>
        <Button onClick={onCancel} disabled={save.pending}>
          {t('actions.cancel')}
        </Button>
      </div>
    </form>
  );
}
