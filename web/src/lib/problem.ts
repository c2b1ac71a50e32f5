import type { components } from '@/api/schema';
import i18n from '@/lib/i18n';
import type enCommon from '@/locales/en/common.json';

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

/**
 * The sentences live in the `common` catalogs: `problems.<code>` for every code the API answers
 * (plus the app's own `network_error` and `unexpected`), `problemInContext.<context>.<code>` for
 * a code that means something more precise in one place, `ssoFailed.<reason>` for `sso_failed`.
 */
type CommonCatalog = typeof enCommon;

/** A code with a sentence of its own in `problems.*`. */
export type ProblemCode = keyof CommonCatalog['problems'];

/**
 * Sentences for a code that means something more precise in one place: the same `invalid_code`
 * is a mistyped one-time code at sign-in but a used or expired link on the reset page.
 */
export type ProblemContext = keyof CommonCatalog['problemInContext'];

/** `i18n.t` for a key built at run time (checked with `i18n.exists` first). */
const tr = (key: string): string => (i18n as unknown as { t: (k: string) => string }).t(key);
const known = (key: string): boolean => i18n.exists(key, { ns: 'common' });

function waitSentence(seconds: number): string {
  if (seconds < 60) return i18n.t('tooManyAttempts.seconds', { count: seconds });
  return i18n.t('tooManyAttempts.minutes', { count: Math.ceil(seconds / 60) });
}

/**
 * One clear sentence for a problem, for people rather than programs, in the language shown;
 * `context` picks a more precise sentence where the same code means something particular.
 */
export function problemMessage(err: unknown, context?: ProblemContext): string {
  if (!(err instanceof ApiProblem)) {
    if (err instanceof TypeError) return i18n.t('problems.network_error');
    return i18n.t('problems.unexpected');
  }
  const { problem } = err;
  const precise = context && known(`problemInContext.${context}.${problem.code}`) ? `problemInContext.${context}.${problem.code}` : null;
  // A 422 with named fields says more than any fixed sentence.
  if (precise && !(problem.code === 'validation_failed' && problem.errors?.length)) return tr(precise);
  switch (problem.code) {
    case 'validation_failed': {
      const fields = problem.errors ?? [];
      if (fields.length > 0) {
        return fields.map((f) => i18n.t('validation.field', { field: humanField(f.field), message: f.message })).join(' ');
      }
      return problem.detail ? i18n.t('validation.withDetail', { detail: problem.detail }) : i18n.t('problems.validation_failed');
    }
    case 'too_many_attempts':
      return err.retryAfter != null ? waitSentence(err.retryAfter) : i18n.t('problems.too_many_attempts');
    case 'sso_failed': {
      const reason = `ssoFailed.${problem.reason ?? ''}`;
      return problem.reason && known(reason) ? tr(reason) : i18n.t('problems.sso_failed');
    }
    default: {
      const key = `problems.${problem.code}`;
      if (known(key)) return tr(key);
      // A code newer than this app: the server's own words.
      return problem.detail || problem.title || i18n.t('problems.unexpected');
    }
  }
}

function humanField(field: string): string {
  const s = field.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function hasCode(err: unknown, code: string): boolean {
  return err instanceof ApiProblem && err.code === code;
}
