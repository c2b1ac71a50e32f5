import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { passwordHint } from '@/lib/password';
import { Field } from './Field';

type Props = {
  password: string;
  repeat: string;
  onPassword: (value: string) => void;
  onRepeat: (value: string) => void;
  /** A message under the new password (too short, or the server's `weak_password`). */
  passwordError?: ReactNode;
  /** A message under the repetition ("do not match"). */
  repeatError?: ReactNode;
  autoFocus?: boolean;
};

/** "New password" and "Repeat new password", with the policy as a hint. */
export function NewPasswordFields({ password, repeat, onPassword, onRepeat, passwordError, repeatError, autoFocus }: Props) {
  const { t } = useTranslation();
  return (
    <>
      <Field
        label={t('password.newPassword')}
        type="password"
        name="new_password"
        autoComplete="new-password"
        required
        hint={passwordHint()}
        error={passwordError}
        value={password}
        onChange={(e) => onPassword(e.target.value)}
        autoFocus={autoFocus}
      />
      <Field
        label={t('password.repeatPassword')}
        type="password"
        name="repeat_password"
        autoComplete="new-password"
        required
        error={repeatError}
        value={repeat}
        onChange={(e) => onRepeat(e.target.value)}
      />
    </>
  );
}
