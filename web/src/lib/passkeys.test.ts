import { describe, expect, it } from 'vitest';
import { WebAuthnError } from '@simplewebauthn/browser';
import { ApiProblem } from './problem';
import { isIpAddress, passkeyAborted, passkeyMessage } from './passkeys';

const named = (name: string) => Object.assign(new Error(name), { name });

describe('passkeys', () => {
  it('knows an IP address, which WebAuthn refuses as relying party', () => {
    expect(isIpAddress('127.0.0.1')).toBe(true);
    expect(isIpAddress('[::1]')).toBe(true);
    expect(isIpAddress('::1')).toBe(true);
    expect(isIpAddress('localhost')).toBe(false);
    expect(isIpAddress('auth.cloudcx.example')).toBe(false);
  });

  it('tells an aborted ceremony, which needs no sentence', () => {
    expect(passkeyAborted(new WebAuthnError({ message: 'x', code: 'ERROR_CEREMONY_ABORTED', cause: named('AbortError') }))).toBe(true);
    expect(passkeyAborted(named('AbortError'))).toBe(true);
    expect(passkeyAborted(named('NotAllowedError'))).toBe(false);
  });

  it('has a sentence for the browser errors and the API problems', () => {
    expect(passkeyMessage(named('NotAllowedError'))).toBe('The passkey request was cancelled or timed out. Please try again.');
    expect(passkeyMessage(new WebAuthnError({ message: 'x', code: 'ERROR_PASSTHROUGH_SEE_CAUSE_PROPERTY', cause: named('NotAllowedError') }))).toBe(
      'The passkey request was cancelled or timed out. Please try again.',
    );
    expect(passkeyMessage(new WebAuthnError({ message: 'x', code: 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED', cause: named('InvalidStateError') }))).toMatch(
      /already holds a passkey/,
    );
    expect(passkeyMessage(new WebAuthnError({ message: 'x', code: 'ERROR_INVALID_RP_ID', cause: named('SecurityError') }))).toMatch(/don't work at this address/);
    const problem = (code: string, status = 403) => new ApiProblem({ type: 'about:blank', title: code, status, detail: '', code });
    expect(passkeyMessage(problem('passkeys_disabled'))).toBe('Your site has turned passkeys off.');
    expect(passkeyMessage(problem('invalid_credentials', 401), 'passkey_sign_in')).toMatch(/That passkey was not accepted/);
    expect(passkeyMessage(new Error('odd'))).toBe('The passkey could not be used. Please try again.');
  });
});
