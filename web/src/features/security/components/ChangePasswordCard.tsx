import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Alert } from '@/components/Alert';
import { Button } from '@/components/Button';
import { Field } from '@/components/Field';
import { NewPasswordFields } from '@/components/NewPasswordFields';
import { checkNewPassword, type NewPasswordError } from '@/lib/password';
import { hasCode, problemMessage } from '@/lib/problem';
import { useSensitive } from '@/lib/reauth';
import { useAction } from '@/lib/use-async';
import { changePassword } from '../api/change-password';

/** Edit Profile → "Change password": current, new, repeat. Needs a fresh sign-in. */
export function ChangePasswordCard({ onChanged }: { onChanged?: () => void }) {
  const { t } = useTranslation('security');
  const sensitive = useSensitive();
  const [current, setCurrent] = useState('');
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [check, setCheck] = useState<NewPasswordError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const submit = useAction(async () => {
    setNotice(null);
    await sensitive(() => changePassword(current, password));
    setCurrent('');
    setPassword('');
    setRepeat('');
    setNotice(t('password.changed'));
    onChanged?.();
  });

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    const problem = checkNewPassword(password, repeat);
    setCheck(problem);
    setNotice(null);
    if (!problem) void submit.run();
  }

  const err = submit.error;
  const wrongCurrent = hasCode(err, 'invalid_credentials');
  const weak = hasCode(err, 'weak_password');
  const passwordError = check?.field === 'password' ? check.message : weak ? problemMessage(err) : null;

  return (
    <section className="card" aria-labelledby="password-title">
      <h2 id="password-title">{t('password.title')}</h2>
      <p className="muted">{t('password.intro')}</p>
      <Alert kind="success">{notice}</Alert>
      <Alert>{err && !weak && !wrongCurrent ? problemMessage(err, 'change_password') : null}</Alert>
      <form onSubmit={onSubmit} noValidate className="narrow-form">
        <Field
          label={t('password.current')}
          type="password"
          name="current_password"
          autoComplete="current-password"
          required
          error={wrongCurrent ? problemMessage(err, 'change_password') : null}
          value={current}
          onChange={(e) => {
            setCurrent(e.target.value);
            if (wrongCurrent) submit.setError(null);
          }}
        />
        <NewPasswordFields
          password={password}
          repeat={repeat}
          onPassword={(v) => {
            setPassword(v);
            setCheck(null);
            if (weak) submit.setError(null);
          }}
          onRepeat={(v) => {
            setRepeat(v);
            setCheck(null);
          }}
          passwordError={passwordError}
          repeatError={check?.field === 'repeat' ? check.message : null}
        />
        <Button type="submit" variant="primary" busy={submit.pending} disabled={!current || !password || !repeat}>
          {t('password.submit')}
        </Button>
      </form>
    </section>
  );
}
