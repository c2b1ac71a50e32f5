import { browserSupportsWebAuthn, WebAuthnError } from '@simplewebauthn/browser';
import { ApiProblem, problemMessage, type ProblemContext } from './problem';

export const NO_WEBAUTHN = "This browser doesn't support passkeys. Use a recent version of Chrome, Edge, Safari or Firefox.";
export const IP_ADDRESS_HOST = "Passkeys need the service's name in the address bar, not an IP address. Please contact your system admin.";

/** An IPv4 or IPv6 literal: WebAuthn refuses it as a relying party ID. */
export function isIpAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':') || host.startsWith('[');
}

/**
 * Why passkeys cannot work here, or null when they can: WebAuthn needs a browser that has it, a
 * secure context (https, or http on localhost) and a domain name as the relying party.
 */
export function passkeyUnavailable(): string | null {
  try {
    if (!browserSupportsWebAuthn()) return NO_WEBAUTHN;
    if (typeof window !== 'undefined') {
      if (window.isSecureContext === false) return NO_WEBAUTHN;
      if (isIpAddress(window.location.hostname)) return IP_ADDRESS_HOST;
    }
    return null;
  } catch {
    return NO_WEBAUTHN;
  }
}

export function passkeysSupported(): boolean {
  return passkeyUnavailable() === null;
}

function errorName(err: unknown): string | undefined {
  if (err instanceof WebAuthnError) return (err.cause as Error | undefined)?.name ?? err.name;
  return err instanceof Error ? err.name : undefined;
}

/**
 * The ceremony was aborted by us (another ceremony started, the dialog closed, the user signed
 * in otherwise): nothing to tell the user.
 */
export function passkeyAborted(err: unknown): boolean {
  if (err instanceof WebAuthnError) return err.code === 'ERROR_CEREMONY_ABORTED';
  return errorName(err) === 'AbortError';
}

/**
 * One sentence for whatever a passkey step threw: the browser's WebAuthn errors (cancelled,
 * timed out, already registered, wrong address) or the API's problem.
 */
export function passkeyMessage(err: unknown, context?: ProblemContext): string {
  if (err instanceof ApiProblem || err instanceof TypeError) return problemMessage(err, context);
  if (err instanceof WebAuthnError) {
    switch (err.code) {
      case 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED':
        return 'This device or password manager already holds a passkey for your account.';
      case 'ERROR_INVALID_DOMAIN':
      case 'ERROR_INVALID_RP_ID':
        return "Passkeys don't work at this address. Please contact your system admin.";
      case 'ERROR_AUTHENTICATOR_MISSING_DISCOVERABLE_CREDENTIAL_SUPPORT':
      case 'ERROR_AUTHENTICATOR_MISSING_USER_VERIFICATION_SUPPORT':
        return "This security key can't hold a passkey: it must store the key itself and check your PIN, fingerprint or face.";
      default:
        break;
    }
  }
  switch (errorName(err)) {
    case 'NotAllowedError':
    case 'AbortError':
      return 'The passkey request was cancelled or timed out. Please try again.';
    case 'InvalidStateError':
      return 'This device or password manager already holds a passkey for your account.';
    case 'SecurityError':
      return "Passkeys don't work at this address. Please contact your system admin.";
    case 'NotSupportedError':
      return NO_WEBAUTHN;
    default:
      return 'The passkey could not be used. Please try again.';
  }
}
