import { useState, type FormEvent } from 'react';
import { Alert } from '@/components/Alert';
import { Button } from '@/components/Button';
import { Dialog } from '@/components/Dialog';
import { Field } from '@/components/Field';
import { hasCode, problemMessage } from '@/lib/problem';
import { useSensitive } from '@/lib/reauth';
import { useAction } from '@/lib/use-async';
import { disable2fa } from '../api/disable-2fa';

/** "Turn off" → the password → "Confirm". */
export function TurnOffDialog({ onClose, onDone }: { onClose: () => void; onDone: () => void }) {
  const sensitive = useSensitive();
  const [password, setPassword] = useState('');
  const action = useAction(async () => {
    await sensitive(() => disable2fa(password));
    onDone();
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    void action.run();
  }
  const message = hasCode(action.error, 'invalid_credentials')
    ? 'The password is not correct.'
    : action.error
      ? problemMessage(action.error)
      : null;
  return (
    <Dialog
      title="Turn off two-factor authentication?"
      onClose={onClose}
      dismissable={!action.pending}
      size="small"
      footer={
        <>
          <Button onClick={onClose} disabled={action.pending}>
            Cancel
          </Button>
          <Button type="submit" form="turn-off-form" variant="danger" busy={action.pending} disabled={!password}>
            Confirm
          </Button>
        </>
      }
    >
      <form id="turn-off-form" onSubmit={submit} noValidate>
        <p>Your account will be protected by your password only, and your backup codes will stop working. Enter your password to confirm.</p>
        <Alert>{message}</Alert>
        <Field
          label="Password"
          type="password"
          name="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          autoFocus
        />
      </form>
    </Dialog>
  );
}
