import i18n from '@/lib/i18n';

/** The password policy the server enforces (422 `weak_password`); the client checks only the length. */
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

/** The policy as a hint under a new password, in the language shown. */
export function passwordHint(): string {
  return i18n.t('password.hint', { min: PASSWORD_MIN, max: PASSWORD_MAX });
}

export type NewPasswordError = { field: 'password' | 'repeat'; message: string };

/**
 * Checks a new password typed twice before it is sent: long enough, not too long, and the
 * repetition matches. Null when it may go to the server (which still refuses common passwords).
 */
export function checkNewPassword(password: string, repeat: string): NewPasswordError | null {
  const length = Array.from(password).length;
  if (length < PASSWORD_MIN) return { field: 'password', message: i18n.t('password.tooShort', { min: PASSWORD_MIN }) };
  if (length > PASSWORD_MAX) return { field: 'password', message: i18n.t('password.tooLong', { max: PASSWORD_MAX }) };
  if (password !== repeat) return { field: 'repeat', message: i18n.t('password.mismatch') };
  return null;
}
