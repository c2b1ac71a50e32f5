import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Alert } from '@/components/Alert';
import { Button } from '@/components/Button';
import { Dialog } from '@/components/Dialog';
import { Field } from '@/components/Field';
import { hasCode, problemMessage } from '@/lib/problem';
import { useSensitive } from '@/lib/reauth';
import { useAction } from '@/lib/use-async';
import { disable2fa } from '../api/disable-2fa';

/** "Turn off" → the password → "Confirm". */
export function TurnOffDialog({
  onClose,
  onDone,
  ...focus
}: { onClose: () => void; onDone: () => void; opener?: HTMLElement | null; fallbackFocus?: HTMLElement | null }) {
  const { t } = useTranslation('security');
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
    ? t('turnOff.wrongPassword')
    : action.error
      ? problemMessage(action.error)
      : null;
  return (
    <Dialog
      {...focus}
      title={t('turnOff.title')}
      onClose={onClose}
      dismissable={!action.pending}
      size="small"
      footer={
        <>
          <Button onClick={onClose} disabled={action.pending}>
            {t('actions.cancel')}
          </Button>
          <Button type="submit" form="turn-off-form" variant="danger" busy={action.pending} disabled={!password}>
            {t('actions.confirm')}
          </Button>
        </>
      }
    >
      <form id="turn-off-form" onSubmit={submit} noValidate>
        <p>{t('turnOff.text')}</p>
        <Alert>{message}</Alert>
        <Field
          label={t('turnOff.password')}
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
