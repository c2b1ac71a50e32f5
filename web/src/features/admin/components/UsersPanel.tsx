import { useState, type FormEvent } from 'react';
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

const METHOD_LABEL: Record<string, string> = { email: 'E-mail', totp: 'Authenticator app' };

type RowAction = 'disable' | 'enable' | 'unlock' | 'reset_link';

const ACTION_CONTEXT: Record<RowAction, ProblemContext> = {
  disable: 'disable_user',
  enable: 'update_user',
  unlock: 'admin_user',
  reset_link: 'admin_user',
};

const ACTION_VERB: Record<RowAction, string> = {
  disable: 'disable',
  enable: 'enable',
  unlock: 'unlock',
  reset_link: 'send a reset link to',
};

/** What changed in the Edit dialog: only those fields go to PATCH. */
export function userChanges(user: Pick<User, 'display_name' | 'role'>, form: { display_name: string; role: components['schemas']['Role'] }): UpdateUserInput {
  const changes: UpdateUserInput = {};
  const name = form.display_name.trim();
  if (name !== user.display_name) changes.display_name = name;
  if (form.role !== user.role) changes.role = form.role;
  return changes;
}

export function UsersPanel() {
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
          setNotice(`${u.email} was disabled and signed out everywhere. They cannot sign in until enabled again.`);
          break;
        case 'enable':
          replace(await sensitive(() => updateUser(u.id, { disabled: false })));
          setNotice(`${u.email} was enabled and can sign in again.`);
          break;
        case 'unlock':
          await sensitive(() => unlockUser(u.id));
          replace({ ...u, locked: false });
          setNotice(`${u.email} was unlocked and can try to sign in again.`);
          break;
        case 'reset_link':
          await sensitive(() => sendResetLink(u.id));
          setNotice(`A password reset link is on its way to ${u.email}. It works once, for 30 minutes.`);
          break;
      }
    } catch (err) {
      if (!(err instanceof ReauthCancelled))
        setFailure(`Could not ${ACTION_VERB[action]} ${u.email}: ${problemMessage(err, ACTION_CONTEXT[action])}`);
      throw err;
    } finally {
      setBusy(null);
    }
  });

  const isBusy = (u: User, action: RowAction) => busy?.id === u.id && busy.action === action;

  return (
    <section aria-labelledby="users-title">
      <div className="row spread">
        <h2 id="users-title">Users</h2>
        <Button variant="primary" onClick={() => setAdding(true)}>
          Add user
        </Button>
      </div>
      <Alert kind="success">{notice}</Alert>
      <Alert>{failure}</Alert>
      <Alert>{users.error ? problemMessage(users.error) : null}</Alert>
      {users.loading && !users.data && <Loading />}
      {users.data && users.data.length === 0 && <p className="empty">No users yet.</p>}
      {users.data && users.data.length > 0 && (
        <div className="table-wrap">
          <table className="stack">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">E-mail</th>
                <th scope="col">Role</th>
                <th scope="col">2FA</th>
                <th scope="col">Status</th>
                <th scope="col">Last sign-in</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {users.data.map((u) => (
                <tr key={u.id}>
                  <td data-label="Name">
                    {u.display_name}
                    {me?.id === u.id && <span className="muted small"> (you)</span>}
                  </td>
                  <td data-label="E-mail">{u.email}</td>
                  <td data-label="Role">{u.role === 'admin' ? 'Admin' : 'Agent'}</td>
                  <td data-label="2FA">{u.two_factor.enabled ? METHOD_LABEL[u.two_factor.method ?? ''] ?? 'On' : 'Off'}</td>
                  <td data-label="Status">
                    {u.disabled ? <span className="badge badge-muted">Disabled</span> : null}
                    {u.locked ? <span className="badge badge-warn">Locked</span> : null}
                    {!u.disabled && !u.locked ? 'Active' : null}
                  </td>
                  <td data-label="Last sign-in">{formatTime(u.last_sign_in_at)}</td>
                  <td data-label="Actions">
                    <div className="row-actions">
                      <Button onClick={() => setEditing(u)} aria-label={`Edit ${u.email}`}>
                        Edit
                      </Button>
                      {u.disabled ? (
                        <Button onClick={() => void act.run(u, 'enable')} busy={isBusy(u, 'enable')} aria-label={`Enable ${u.email}`}>
                          Enable
                        </Button>
                      ) : (
                        <Button onClick={() => void act.run(u, 'disable')} busy={isBusy(u, 'disable')} aria-label={`Disable ${u.email}`}>
                          Disable
                        </Button>
                      )}
                      {u.locked && (
                        <Button onClick={() => void act.run(u, 'unlock')} busy={isBusy(u, 'unlock')} aria-label={`Unlock ${u.email}`}>
                          Unlock
                        </Button>
                      )}
                      <Button
                        onClick={() => void act.run(u, 'reset_link')}
                        busy={isBusy(u, 'reset_link')}
                        aria-label={`Send reset link to ${u.email}`}
                      >
                        Send reset link
                      </Button>
                      {u.two_factor.enabled && (
                        <Button onClick={() => setResetting(u)} aria-label={`Reset 2FA of ${u.email}`}>
                          Reset 2FA
                        </Button>
                      )}
                      <Button variant="danger" onClick={() => setDeleting(u)} aria-label={`Delete ${u.email}`}>
                        Delete
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
            setNotice(`${u.email} was added.`);
            users.reload();
          }}
        />
      )}
      {resetting && (
        <ResetDialog
          user={resetting}
          onClose={() => setResetting(null)}
          onDone={() => {
            setNotice(`Two-factor authentication of ${resetting.email} was reset. They were signed out and told by e-mail.`);
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
            setNotice(`${u.email} was saved.`);
            replace(u);
          }}
        />
      )}
      {deleting && (
        <DeleteUserDialog
          user={deleting}
          onClose={() => setDeleting(null)}
          onDeleted={() => {
            setNotice(`${deleting.email} was deleted. Their audit history stays.`);
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
      title={`Edit ${user.display_name || user.email}`}
      onClose={onClose}
      dismissable={!action.pending}
      size="small"
      footer={
        <>
          <Button onClick={onClose} disabled={action.pending}>
            Cancel
          </Button>
          <Button type="submit" form="edit-user-form" variant="primary" busy={action.pending} disabled={!form.display_name.trim()}>
            Save
          </Button>
        </>
      }
    >
      <form id="edit-user-form" onSubmit={submit} noValidate>
        <p className="muted">{user.email}</p>
        <Alert>{action.error ? problemMessage(action.error, 'update_user') : null}</Alert>
        <Field
          label="Name"
          name="display_name"
          required
          value={form.display_name}
          onChange={(e) => setForm({ ...form, display_name: e.target.value })}
          autoFocus
        />
        <div className="field">
          <label htmlFor="edit-user-role">Role</label>
          <select id="edit-user-role" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as components['schemas']['Role'] })}>
            <option value="agent">Agent</option>
            <option value="admin">Admin</option>
          </select>
        </div>
      </form>
    </Dialog>
  );
}

function DeleteUserDialog({ user, onClose, onDeleted }: { user: User; onClose: () => void; onDeleted: () => void }) {
  const sensitive = useSensitive();
  const action = useAction(async () => {
    await sensitive(() => deleteUser(user.id));
    onDeleted();
  });
  const name = user.display_name || user.email;
  return (
    <Dialog
      title={`Delete ${name}?`}
      onClose={onClose}
      dismissable={!action.pending}
      size="small"
      footer={
        <>
          <Button onClick={onClose} disabled={action.pending} data-autofocus>
            Cancel
          </Button>
          <Button variant="danger" onClick={() => void action.run()} busy={action.pending}>
            Delete user
          </Button>
        </>
      }
    >
      <p>
        <strong>{name}</strong> ({user.email}) will be signed out everywhere and can no longer sign in. This cannot be undone. Their
        audit history stays.
      </p>
      <Alert>{action.error ? problemMessage(action.error, 'delete_user') : null}</Alert>
    </Dialog>
  );
}

function AddUserDialog({ onClose, onAdded }: { onClose: () => void; onAdded: (u: User) => void }) {
  const sensitive = useSensitive();
  const [form, setForm] = useState({ email: '', display_name: '', password: '', role: 'agent' as components['schemas']['Role'] });
  const action = useAction(async () => onAdded(await sensitive(() => createUser(form))));
  function submit(e: FormEvent) {
    e.preventDefault();
    void action.run();
  }
  return (
    <Dialog
      title="Add user"
      onClose={onClose}
      dismissable={!action.pending}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" form="add-user-form" variant="primary" busy={action.pending}>
            Add user
          </Button>
        </>
      }
    >
      <form id="add-user-form" onSubmit={submit} noValidate>
        <Alert>{action.error ? problemMessage(action.error) : null}</Alert>
        <Field label="E-mail" type="email" required value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />
        <Field label="Name" required value={form.display_name} onChange={(e) => setForm({ ...form, display_name: e.target.value })} />
        <Field
          label="Initial password"
          type="password"
          autoComplete="new-password"
          required
          hint="8 to 128 characters; common passwords are refused."
          value={form.password}
          onChange={(e) => setForm({ ...form, password: e.target.value })}
        />
        <div className="field">
          <label htmlFor="new-user-role">Role</label>
          <select id="new-user-role" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as components['schemas']['Role'] })}>
            <option value="agent">Agent</option>
            <option value="admin">Admin</option>
          </select>
        </div>
      </form>
    </Dialog>
  );
}

function ResetDialog({ user, onClose, onDone }: { user: User; onClose: () => void; onDone: () => void }) {
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
      title={`Reset 2FA of ${user.display_name}`}
      onClose={onClose}
      dismissable={!action.pending}
      size="small"
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" form="reset-2fa-form" variant="danger" busy={action.pending} disabled={!reason.trim()}>
            Reset 2FA
          </Button>
        </>
      }
    >
      <form id="reset-2fa-form" onSubmit={submit} noValidate>
        <p>
          This removes {user.email}'s second factor and backup codes and signs them out everywhere. They will be told by e-mail.
          Only do this after checking who is asking.
        </p>
        <Alert>{action.error ? problemMessage(action.error) : null}</Alert>
        <Field label="Reason" required value={reason} onChange={(e) => setReason(e.target.value)} hint="Kept in the audit log." autoFocus />
        <Field label="Support ticket (optional)" value={ticket} onChange={(e) => setTicket(e.target.value)} />
      </form>
    </Dialog>
  );
}
