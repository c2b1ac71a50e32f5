import { browserSupportsWebAuthn, WebAuthnError } from '@simplewebauthn/browser';
import i18n from './i18n';
import { ApiProblem, problemMessage, type ProblemContext } from './problem';


/** An IPv4 or IPv6 literal: WebAuthn refuses it as a relying party ID. */
export function isIpAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':') || host.startsWith('[');
}

/**
 * Why passkeys cannot work here (a sentence in the language shown), or null when they can: WebAuthn needs a browser that has it, a
 * secure context (https, or http on localhost) and a domain name as the relying party.
 */
export function passkeyUnavailable(): string | null {
  try {
    if (!browserSupportsWebAuthn()) return i18n.t('passkeys.noWebauthn');
    if (typeof window !== 'undefined') {
      if (window.isSecureContext === false) return i18n.t('passkeys.noWebauthn');
      if (isIpAddress(window.location.hostname)) return i18n.t('passkeys.ipAddress');
    }
    return null;
  } catch {
    return i18n.t('passkeys.noWebauthn');
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
        return i18n.t('passkeys.alreadyRegistered');
      case 'ERROR_INVALID_DOMAIN':
      case 'ERROR_INVALID_RP_ID':
        return i18n.t('passkeys.wrongAddress');
      case 'ERROR_AUTHENTICATOR_MISSING_DISCOVERABLE_CREDENTIAL_SUPPORT':
      case 'ERROR_AUTHENTICATOR_MISSING_USER_VERIFICATION_SUPPORT':
        return i18n.t('passkeys.keyUnsuitable');
      default:
        break;
    }
  }
  switch (errorName(err)) {
    case 'NotAllowedError':
    case 'AbortError':
      return i18n.t('passkeys.cancelled');
    case 'InvalidStateError':
      return i18n.t('passkeys.alreadyRegistered');
    case 'SecurityError':
      return i18n.t('passkeys.wrongAddress');
    case 'NotSupportedError':
      return i18n.t('passkeys.noWebauthn');
    default:
      return i18n.t('passkeys.failed');
  }
}
