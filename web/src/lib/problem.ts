import type { components } from '@/api/schema';

/** A problem as the app holds it: a code of the server's (`ProblemCode`), one of the app's own
 *  (`network_error`, `unexpected`), or one a newer server added (shown by its `detail`). */
export type Problem = Omit<components['schemas']['Problem'], 'code'> & {
  code: components['schemas']['ProblemCode'] | (string & Record<never, never>);
};

/** An error answer of the API (problem+json), or a failure to reach it. */
export class ApiProblem extends Error {
  readonly problem: Problem;
  /** Seconds from `Retry-After`, when the server sent one. */
  readonly retryAfter: number | null;

  constructor(problem: Problem, retryAfter: number | null = null) {
    super(problem.detail || problem.title || problem.code);
    this.name = 'ApiProblem';
    this.problem = problem;
    this.retryAfter = retryAfter;
  }

  get code(): string {
    return this.problem.code;
  }
}

/** True when `value` looks like an RFC 9457 body with our `code`. */
export function isProblem(value: unknown): value is Problem {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { status?: unknown }).status === 'number'
  );
}

/** Builds an ApiProblem from whatever an openapi-fetch call answered. */
export function toApiProblem(error: unknown, response?: Response): ApiProblem {
  const retry = response?.headers.get('Retry-After');
  const retryAfter = retry && /^\d+$/.test(retry) ? Number(retry) : null;
  if (isProblem(error)) return new ApiProblem(error, retryAfter);
  const status = response?.status ?? 0;
  return new ApiProblem(
    {
      type: 'about:blank',
      title: 'Unexpected answer',
      status,
      detail: typeof error === 'string' ? error : '',
      code: status >= 500 ? 'service_unavailable' : 'unexpected',
    },
    retryAfter,
  );
}

export const NETWORK_ERROR_CODE = 'network_error';

export function networkProblem(): ApiProblem {
  return new ApiProblem({
    type: 'about:blank',
    title: 'Network error',
    status: 0,
    detail: '',
    code: NETWORK_ERROR_CODE,
  });
}

const SSO_REASONS: Record<string, string> = {
  state_invalid: 'The single sign-on attempt was not started in this browser or was already used. Please try again.',
  provider_error: 'The identity provider could not be reached or refused the sign-in. Please try again later.',
  token_invalid: 'The identity provider answered with a sign-in we could not verify. Please contact your system admin.',
  tenant_not_allowed: 'Your organisation is not allowed to sign in with this application. Please contact your system admin.',
  expired: 'The single sign-on attempt took too long. Please start again.',
};

const MESSAGES: Record<string, string> = {
  invalid_credentials: 'The site, e-mail or password is not correct.',
  invalid_code: 'That code is not correct or has expired. Please check it and try again.',
  invalid_refresh_token: 'Your session has ended. Please sign in again.',
  invalid_mfa_token: 'Your sign-in attempt has expired. Please sign in again.',
  unauthenticated: 'You are signed out. Please sign in again.',
  reauth_required: 'Please confirm your password to continue.',
  forbidden: 'You are not allowed to do this.',
  mfa_setup_required: 'Your site requires two-factor authentication. Please set it up to continue.',
  not_found: 'This item no longer exists.',
  mfa_already_enabled: 'Two-factor authentication is already on. Only one method can be active.',
  mfa_not_enabled: 'Two-factor authentication is not turned on.',
  mfa_required_by_site: 'Your site requires two-factor authentication, so it cannot be turned off.',
  self_action_forbidden: 'You cannot do this to your own account, or to the last admin of the site.',
  sso_not_configured: 'This sign-in application is not available for your site.',
  sso_already_connected: 'This external account is already connected to a CloudCX account.',
  passkeys_disabled: 'Your site has turned passkeys off.',
  weak_password: 'This password is too weak: use 8 to 128 characters and avoid common passwords.',
  method_not_allowed: 'This action is not supported.',
  payload_too_large: 'What you sent is too large.',
  email_delivery_failed: 'We could not send the e-mail right now. Nothing was changed; please try again in a moment.',
  service_unavailable: 'The service is unavailable right now. Please try again in a moment.',
  [NETWORK_ERROR_CODE]: 'Cannot reach the server. Check your connection and try again.',
};

/**
 * Sentences for a code that means something more precise in one place: the same `invalid_code`
 * is a mistyped one-time code at sign-in but a used or expired link on the reset page.
 */
export type ProblemContext =
  | 'reset_password'
  | 'change_password'
  | 'sign_out_session'
  | 'update_user'
  | 'disable_user'
  | 'delete_user'
  | 'admin_user'
  | 'passkey_sign_in'
  | 'passkey_reauth'
  | 'passkey';

const IN_CONTEXT: Record<ProblemContext, Record<string, string>> = {
  reset_password: {
    invalid_code:
      'This reset link does not work any more: it was already used, it expired (links last 30 minutes) or it is incomplete. Please ask for a new one.',
    validation_failed: 'This reset link is incomplete. Please open the link from the e-mail again, or ask for a new one.',
  },
  change_password: {
    invalid_credentials: 'Your current password is not correct.',
  },
  sign_out_session: {
    not_found: 'That device was already signed out.',
  },
  update_user: {
    self_action_forbidden: 'You cannot take the admin role away from yourself, or from the last admin of the site.',
    not_found: 'This user no longer exists.',
  },
  disable_user: {
    self_action_forbidden: 'You cannot disable your own account, or the last admin of the site.',
    not_found: 'This user no longer exists.',
  },
  delete_user: {
    self_action_forbidden: 'You cannot delete your own account, or the last admin of the site.',
    not_found: 'This user was already deleted.',
  },
  admin_user: {
    not_found: 'This user no longer exists.',
  },
  passkey_sign_in: {
    invalid_credentials:
      'That passkey was not accepted. It may have been removed, belong to another site, or the request expired. Please try again or sign in with your password.',
  },
  passkey_reauth: {
    invalid_credentials: 'That passkey was not accepted. Please try again or confirm with your password.',
  },
  passkey: {
    not_found: 'This passkey no longer exists.',
  },
};

function waitSentence(seconds: number): string {
  if (seconds < 60) return `Please wait ${seconds} second${seconds === 1 ? '' : 's'} and try again.`;
  const minutes = Math.ceil(seconds / 60);
  return `Please wait ${minutes} minute${minutes === 1 ? '' : 's'} and try again.`;
}

/**
 * One clear sentence for a problem, for people rather than programs; `context` picks a more
 * precise sentence where the same code means something particular.
 */
export function problemMessage(err: unknown, context?: ProblemContext): string {
  if (!(err instanceof ApiProblem)) {
    if (err instanceof TypeError) return MESSAGES[NETWORK_ERROR_CODE]!;
    return 'Something went wrong. Please try again.';
  }
  const { problem } = err;
  const precise = context ? IN_CONTEXT[context][problem.code] : undefined;
  // A 422 with named fields says more than any fixed sentence.
  if (precise && !(problem.code === 'validation_failed' && problem.errors?.length)) return precise;
  switch (problem.code) {
    case 'validation_failed': {
      const fields = problem.errors ?? [];
      if (fields.length > 0) {
        return fields.map((f) => `${humanField(f.field)}: ${f.message}`).join(' ');
      }
      return problem.detail ? `Please check what you entered: ${problem.detail}` : 'Please check what you entered.';
    }
    case 'too_many_attempts':
      return `Too many attempts. ${waitSentence(err.retryAfter ?? 60)}`;
    case 'sso_failed':
      return SSO_REASONS[problem.reason ?? ''] ?? 'Single sign-on failed. Please try again.';
    default:
      return MESSAGES[problem.code] ?? (problem.detail || problem.title || 'Something went wrong. Please try again.');
  }
}

function humanField(field: string): string {
  const s = field.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function hasCode(err: unknown, code: string): boolean {
  return err instanceof ApiProblem && err.code === code;
}
