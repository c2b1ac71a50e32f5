/** The password policy the server enforces (422 `weak_password`); the client checks only the length. */
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;
export const PASSWORD_HINT = `${PASSWORD_MIN} to ${PASSWORD_MAX} characters; common passwords are refused.`;

export type NewPasswordError = { field: 'password' | 'repeat'; message: string };

/**
 * Checks a new password typed twice before it is sent: long enough, not too long, and the
 * repetition matches. Null when it may go to the server (which still refuses common passwords).
 */
export function checkNewPassword(password: string, repeat: string): NewPasswordError | null {
  const length = Array.from(password).length;
  if (length < PASSWORD_MIN) return { field: 'password', message: `Use at least ${PASSWORD_MIN} characters.` };
  if (length > PASSWORD_MAX) return { field: 'password', message: `Use at most ${PASSWORD_MAX} characters.` };
  if (password !== repeat) return { field: 'repeat', message: 'The two passwords do not match.' };
  return null;
}
