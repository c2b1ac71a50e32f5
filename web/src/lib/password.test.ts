import { describe, expect, it } from 'vitest';
import { checkNewPassword } from './password';

describe('checkNewPassword', () => {
  it('accepts a password typed twice the same', () => {
    expect(checkNewPassword('correct horse battery', 'correct horse battery')).toBeNull();
  });
  it('says when the repetition differs', () => {
    expect(checkNewPassword('correct horse battery', 'correct horse batterY')).toEqual({
      field: 'repeat',
      message: 'The two passwords do not match.',
    });
    expect(checkNewPassword('correct horse battery', '')?.field).toBe('repeat');
  });
  it('checks the length first, counting characters rather than bytes', () => {
    expect(checkNewPassword('short', 'short')).toEqual({ field: 'password', message: 'Use at least 8 characters.' });
    expect(checkNewPassword('ääääääää', 'ääääääää')).toBeNull();
    expect(checkNewPassword('🔑🔑🔑🔑🔑🔑🔑', '🔑🔑🔑🔑🔑🔑🔑')?.field).toBe('password');
    const long = 'x'.repeat(129);
    expect(checkNewPassword(long, long)).toEqual({ field: 'password', message: 'Use at most 128 characters.' });
    expect(checkNewPassword('x'.repeat(128), 'x'.repeat(128))).toBeNull();
  });
});
