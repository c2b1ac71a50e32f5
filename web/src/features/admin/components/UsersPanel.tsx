import { useState, type FormEvent } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import type { TFunction } from 'i18next';
import type { components } from '@/api/schema';
import { Alert, Loading } from '@/components/Alert';
import { Button } from '@/components/Button';
import { Dialog } from '@/components/Dialog';
import { Field } from '@/components/Field';
import { formatTime } from '@/lib/format';
import { useMe } from '@/lib/me';
import { problemMessage, type ProblemContext } from '@/lib/problem';
import { ReauthCancelled, useSensitive } from '@/lib/reauth';
import { useAction, useAsync } from '@/lib/use-async';
import {
  createUser,
  deleteUser,
  listUsers,
  resetTwoFactor,
  sendResetLink,
  unlockUser,
  updateUser,
  type UpdateUserInput,
  type User,
} from '../api/users';

type RowAction = 'disable' | 'enable' | 'unlock' | 'reset_link';

const ACTION_CONTEXT: Record<RowAction, ProblemContext> = {
  disable: 'disable_user',
  enable: 'update_user',
  unlock: 'admin_user',
  reset_link: 'admin_user',
};

/** A role's name in the reader's language. */
function roleLabel(t: TFunction<'admin'>, role: string): string {
  return role === 'admin' ? t('roles.admin') : t('roles.agent');
}

/** The 2FA column: the method's name when on, else Off. */
function twoFactorLabel(t: TFunction<'admin'>, tf: User['two_factor']): string {
  if (!tf.enabled) return t('users.twoFactorOff');
  if (tf.method === 'email') return t('methods.email');
  if (tf.method === 'totp') return t('methods.totp');
  return t('users.twoFactorOn');
}

/** "Could not … {{email}}: {{reason}}" for a row action that failed. */
function failureText(t: TFunction<'admin'>, action: RowAction, email: string, reason: string): string {
  switch (action) {
    case 'disable':
      return t('users.failures.disable', { email, reason });
    case 'enable':
      return t('users.failures.enable', { email, reason });
    case 'unlock':
      return t('users.failures.unlock', { email, reason });
    case 'reset_link':
      return t('users.failures.resetLink', { email, reason });
  }
}

/** What changed in the Edit dialog: only those fields go to PATCH. */
export function userChanges(user: Pick<User, 'display_name' | 'role'>, form: { display_name: string; role: components['schemas']['Role'] }): UpdateUserInput {
  const changes: UpdateUserInput = {};
  const name = form.display_name.trim();
  if (name !== user.display_name) changes.display_name = name;
  if (form.role !== user.role) changes.role = form.role;
  return changes;
}

export function UsersPanel() {
  const { t } = useTranslation('admin');
  const users = useAsync(listUsers, []);
  const { me } = useMe();
  const sensitive = useSensitive();
  const [adding, setAdding] = useState(false);
  const [resetting, setResetting] = useState<User | null>(null);
  const [editing, setEditing] = useState<User | null>(null);
  const [deleting, setDeleting] = useState<User | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState<{ id: string; action: RowAction } | null>(null);

  function replace(updated: User) {
    if (users.data) users.setData(users.data.map((u) => (u.id === updated.id ? updated : u)));
  }

  const act = useAction(async (u: User, action: RowAction) => {
    setNotice(null);
    setFailure(null);
    setBusy({ id: u.id, action });
    try {
      switch (action) {
        case 'disable':
          replace(await sensitive(() => updateUser(u.id, { disabled: true })));
          setNotice(t('users.notices.disabled', { email: u.email }));
          break;
        case 'enable':
          replace(await sensitive(() => updateUser(u.id, { disabled: false })));
          setNotice(t('users.notices.enabled', { email: u.email }));
          break;
        case 'unlock':
          await sensitive(() => unlockUser(u.id));
          replace({ ...u, locked: false });
          setNotice(t('users.notices.unlocked', { email: u.email }));
          break;
        case 'reset_link':
          await sensitive(() => sendResetLink(u.id));
          setNotice(t('users.notices.resetLinkSent', { email: u.email }));
          break;
      }
    } catch (err) {
      if (!(err instanceof ReauthCancelled)) setFailure(failureText(t, action, u.email, problemMessage(err, ACTION_CONTEXT[action])));
      throw err;
    } finally {
      setBusy(null);
    }
  });

  const isBusy = (u: User, action: RowAction) => busy?.id === u.id && busy.action === action;

  return (
    <section aria-labelledby="users-title">
      <div className="row spread">
        <h2 id="users-title">{t('users.title')}</h2>
        <Button variant="primary" onClick={() => setAdding(true)}>
          {t('users.addUser')}
        </Button>
      </div>
      <Alert kind="success">{notice}</Alert>
      <Alert>{failure}</Alert>
      <Alert>{users.error ? problemMessage(users.error) : null}</Alert>
      {users.loading && !users.data && <Loading />}
      {users.data && users.data.length === 0 && <p className="empty">{t('users.empty')}</p>}
      {users.data && users.data.length > 0 && (
        <div className="table-wrap">
          <table className="stack">
            <thead>
              <tr>
                <th scope="col">{t('users.columns.name')}</th>
                <th scope="col">{t('users.columns.email')}</th>
                <th scope="col">{t('users.columns.role')}</th>
                <th scope="col">{t('users.columns.twoFactor')}</th>
                <th scope="col">{t('users.columns.status')}</th>
                <th scope="col">{t('users.columns.lastSignIn')}</th>
                <th scope="col">{t('users.columns.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {users.data.map((u) => (
                <tr key={u.id}>
                  <td data-label={t('users.columns.name')}>
                    {me?.id === u.id ? (
                      <Trans
                        t={t}
                        i18nKey="users.nameYou"
                        values={{ name: u.display_name }}
                        components={[<span key="you" className="muted small" />]}
                      />
                    ) : (
                      u.display_name
                    )}
                  </td>
                  <td data-label={t('users.columns.email')}>{u.email}</td>
                  <td data-label={t('users.columns.role')}>{roleLabel(t, u.role)}</td>
                  <td data-label={t('users.columns.twoFactor')}>{twoFactorLabel(t, u.two_factor)}</td>
                  <td data-label={t('users.columns.status')}>
                    {u.disabled ? <span className="badge badge-muted">{t('users.status.disabled')}</span> : null}
                    {u.locked ? <span className="badge badge-warn">{t('users.status.locked')}</span> : null}
                    {!u.disabled && !u.locked ? t('users.status.active') : null}
                  </td>
                  <td data-label={t('users.columns.lastSignIn')}>{formatTime(u.last_sign_in_at)}</td>
                  <td data-label={t('users.columns.actions')}>
                    <div className="row-actions">
                      <Button onClick={() => setEditing(u)} aria-label={t('users.actions.editLabel', { email: u.email })}>
                        {t('buttons.edit')}
                      </Button>
                      {u.disabled ? (
                        <Button
                          onClick={() => void act.run(u, 'enable')}
                          busy={isBusy(u, 'enable')}
                          aria-label={t('users.actions.enableLabel', { email: u.email })}
                        >
                          {t('buttons.enable')}
                        </Button>
                      ) : (
                        <Button
                          onClick={() => void act.run(u, 'disable')}
                          busy={isBusy(u, 'disable')}
                          aria-label={t('users.actions.disableLabel', { email: u.email })}
                        >
                          {t('buttons.disable')}
                        </Button>
                      )}
                      {u.locked && (
                        <Button
                          onClick={() => void act.run(u, 'unlock')}
                          busy={isBusy(u, 'unlock')}
                          aria-label={t('users.actions.unlockLabel', { email: u.email })}
                        >
                          {t('users.actions.unlock')}
                        </Button>
                      )}
                      <Button
                        onClick={() => void act.run(u, 'reset_link')}
                        busy={isBusy(u, 'reset_link')}
                        aria-label={t('users.actions.sendResetLinkLabel', { email: u.email })}
                      >
                        {t('users.actions.sendResetLink')}
                      </Button>
                      {u.two_factor.enabled && (
                        <Button onClick={() => setResetting(u)} aria-label={t('users.actions.resetTwoFactorLabel', { email: u.email })}>
                          {t('users.actions.resetTwoFactor')}
                        </Button>
                      )}
                      <Button variant="danger" onClick={() => setDeleting(u)} aria-label={t('users.actions.deleteLabel', { email: u.email })}>
                        {t('users.actions.delete')}
                      </Button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {adding && (
        <AddUserDialog
          onClose={() => setAdding(false)}
          onAdded={(u) => {
            setAdding(false);
            setNotice(t('users.notices.added', { email: u.email }));
            users.reload();
          }}
        />
      )}
      {resetting && (
        <ResetDialog
          user={resetting}
          onClose={() => setResetting(null)}
          onDone={() => {
            setNotice(t('users.notices.twoFactorReset', { email: resetting.email }));
            setResetting(null);
            users.reload();
          }}
        />
      )}
      {editing && (
        <EditUserDialog
          user={editing}
          onClose={() => setEditing(null)}
          onSaved={(u) => {
            setEditing(null);
            setFailure(null);
            setNotice(t('users.notices.saved', { email: u.email }));
            replace(u);
          }}
        />
      )}
      {deleting && (
        <DeleteUserDialog
          user={deleting}
          onClose={() => setDeleting(null)}
          onDeleted={() => {
            setNotice(t('users.notices.deleted', { email: deleting.email }));
            setFailure(null);
            if (users.data) users.setData(users.data.filter((x) => x.id !== deleting.id));
            setDeleting(null);
          }}
        />
      )}
    </section>
  );
}

function EditUserDialog({ user, onClose, onSaved }: { user: User; onClose: () => void; onSaved: (u: User) => void }) {
  const { t } = useTranslation('admin');
  const sensitive = useSensitive();
  const [form, setForm] = useState({ display_name: user.display_name, role: user.role });
  const action = useAction(async () => {
    const changes = userChanges(user, form);
    if (Object.keys(changes).length === 0) return onSaved(user);
    onSaved(await sensitive(() => updateUser(user.id, changes)));
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    void action.run();
  }
  return (
    <Dialog
      title={t('users.editDialog.title', { name: user.display_name || user.email })}
      onClose={onClose}
      dismissable={!action.pending}
      size="small"
      footer={
        <>
          <Button onClick={onClose} disabled={action.pending}>
            {t('buttons.cancel')}
          </Button>
          <Button type="submit" form="edit-user-form" variant="primary" busy={action.pending} disabled={!form.display_name.trim()}>
            {t('buttons.save')}
          </Button>
        </>
      }
    >
      <form id="edit-user-form" onSubmit={submit} noValidate>
        <p className="muted">{user.email}</p>
        <Alert>{action.error ? problemMessage(action.error, 'update_user') : null}</Alert>
        <Field
          label={t('users.editDialog.name')}
          name="display_name"
          required
          value={form.display_name}
          onChange={(e) => setForm({ ...form, display_name: e.target.value })}
          autoFocus
        />
        <div className="field">
          <label htmlFor="edit-user-role">{t('users.editDialog.role')}</label>
          <select id="edit-user-role" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as components['schemas']['Role'] })}>
            <option value="agent">{t('roles.agent')}</option>
            <option value="admin">{t('roles.admin')}</option>
          </select>
        </div>
      </form>
    </Dialog>
  );
}

function DeleteUserDialog({ user, onClose, onDeleted }: { user: User; onClose: () => void; onDeleted: () => void }) {
  const { t } = useTranslation('admin');
  const sensitive = useSensitive();
  const action = useAction(async () => {
    await sensitive(() => deleteUser(user.id));
    onDeleted();
  });
  const name = user.display_name || user.email;
  return (
    <Dialog
      title={t('users.deleteDialog.title', { name })}
      onClose={onClose}
      dismissable={!action.pending}
      size="small"
      footer={
        <>
          <Button onClick={onClose} disabled={action.pending} data-autofocus>
            {t('buttons.cancel')}
          </Button>
          <Button variant="danger" onClick={() => void action.run()} busy={action.pending}>
            {t('users.deleteDialog.confirm')}
          </Button>
        </>
      }
    >
      <p>
        <Trans t={t} i18nKey="users.deleteDialog.body" values={{ name, email: user.email }} components={[<strong key="name" />]} />
      </p>
      <Alert>{action.error ? problemMessage(action.error, 'delete_user') : null}</Alert>
    </Dialog>
  );
}

function AddUserDialog({ onClose, onAdded }: { onClose: () => void; onAdded: (u: User) => void }) {
  const { t } = useTranslation('admin');
  const sensitive = useSensitive();
  const [form, setForm] = useState({ email: '', display_name: '', password: '', role: 'agent' as components['schemas']['Role'] });
  const action = useAction(async () => onAdded(await sensitive(() => createUser(form))));
  function submit(e: FormEvent) {
    e.preventDefault();
    void action.run();
  }
  return (
    <Dialog
      title={t('users.addDialog.title')}
      onClose={onClose}
      dismissable={!action.pending}
      footer={
        <>
          <Button onClick={onClose}>{t('buttons.cancel')}</Button>
          <Button type="submit" form="add-user-form" variant="primary" busy={action.pending}>
            {t('users.addDialog.submit')}
          </Button>
        </>
      }
    >
      <form id="add-user-form" onSubmit={submit} noValidate>
        <Alert>{action.error ? problemMessage(action.error) : null}</Alert>
        <Field
          label={t('users.addDialog.email')}
          type="email"
          required
          value={form.email}
          onChange={(e) => setForm({ ...form, email: e.target.value })}
        />
        <Field
          label={t('users.addDialog.name')}
          required
          value={form.display_name}
          onChange={(e) => setForm({ ...form, display_name: e.target.value })}
        />
        <Field
          label={t('users.addDialog.password')}
          type="password"
          autoComplete="new-password"
          required
          hint={t('users.addDialog.passwordHint')}
          value={form.password}
          onChange={(e) => setForm({ ...form, password: e.target.value })}
        />
        <div className="field">
          <label htmlFor="new-user-role">{t('users.addDialog.role')}</label>
          <select id="new-user-role" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as components['schemas']['Role'] })}>
            <option value="agent">{t('roles.agent')}</option>
            <option value="admin">{t('roles.admin')}</option>
          </select>
        </div>
      </form>
    </Dialog>
  );
}

function ResetDialog({ user, onClose, onDone }: { user: User; onClose: () => void; onDone: () => void }) {
  const { t } = useTranslation('admin');
  const sensitive = useSensitive();
  const [reason, setReason] = useState('');
  const [ticket, setTicket] = useState('');
  const action = useAction(async () => {
    await sensitive(() => resetTwoFactor(user.id, { reason: reason.trim(), ticket: ticket.trim() || null }));
    onDone();
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    void action.run();
  }
  return (
    <Dialog
      title={t('users.resetDialog.title', { name: user.display_name })}
      onClose={onClose}
      dismissable={!action.pending}
      size="small"
      footer={
        <>
          <Button onClick={onClose}>{t('buttons.cancel')}</Button>
          <Button type="submit" form="reset-2fa-form" variant="danger" busy={action.pending} disabled={!reason.trim()}>
            {t('users.resetDialog.submit')}
          </Button>
        </>
      }
    >
      <form id="reset-2fa-form" onSubmit={submit} noValidate>
        <p>{t('users.resetDialog.body', { email: user.email })}</p>
        <Alert>{action.error ? problemMessage(action.error) : null}</Alert>
        <Field
          label={t('users.resetDialog.reason')}
          required
          value={reason}
          onChange={(e) => setReason(e.target.value)}
          hint={t('users.resetDialog.reasonHint')}
          autoFocus
        />
        <Field label={t('users.resetDialog.ticket')} value={ticket} onChange={(e) => setTicket(e.target.value)} />
      </form>
    </Dialog>
  );
}
