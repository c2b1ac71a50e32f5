import { describe, expect, it } from 'vitest';
import { ApiProblem, networkProblem, problemMessage, toApiProblem, type Problem } from './problem';

const p = (code: string, extra: Partial<Problem> = {}): ApiProblem =>
  new ApiProblem({ type: 'about:blank', title: 'T', status: 400, detail: 'raw detail', code, ...extra });

describe('problemMessage', () => {
  it('turns codes into sentences', () => {
    expect(problemMessage(p('invalid_credentials'))).toBe('The site, e-mail or password is not correct.');
    expect(problemMessage(p('invalid_code'))).toMatch(/code is not correct/);
    expect(problemMessage(p('mfa_required_by_site'))).toMatch(/requires two-factor/);
    expect(problemMessage(p('email_delivery_failed'))).toMatch(/could not send the e-mail/);
    expect(problemMessage(p('sso_already_connected'))).toMatch(/already connected/);
  });

  it('lists the invalid fields of a 422', () => {
    const err = p('validation_failed', { status: 422, errors: [{ field: 'display_name', message: 'must not be empty' }] });
    expect(problemMessage(err)).toBe('Display name: must not be empty');
  });

  it('says how long to wait when throttled', () => {
    expect(problemMessage(new ApiProblem({ ...p('too_many_attempts').problem, status: 429 }, 30))).toBe(
      'Too many attempts. Please wait 30 seconds and try again.',
    );
    expect(problemMessage(new ApiProblem({ ...p('too_many_attempts').problem, status: 429 }, 600))).toMatch(/10 minutes/);
  });

  it('explains each SSO failure reason', () => {
    expect(problemMessage(p('sso_failed', { reason: 'expired' }))).toMatch(/took too long/);
    expect(problemMessage(p('sso_failed', { reason: 'tenant_not_allowed' }))).toMatch(/organisation is not allowed/);
    expect(problemMessage(p('sso_failed', { reason: 'something_new' }))).toBe('Single sign-on failed. Please try again.');
  });

  it('falls back to the server detail for an unknown code', () => {
    expect(problemMessage(p('brand_new_code'))).toBe('raw detail');
  });

  it('has a sentence for network failures and odd answers', () => {
    expect(problemMessage(networkProblem())).toMatch(/Cannot reach the server/);
    expect(problemMessage(new TypeError('Failed to fetch'))).toMatch(/Cannot reach the server/);
    expect(problemMessage(new Error('x'))).toBe('Something went wrong. Please try again.');
  });

  it('reads Retry-After and non-problem bodies', () => {
    const res = new Response('', { status: 429, headers: { 'Retry-After': '42' } });
    const err = toApiProblem({ type: 'x', title: 't', status: 429, detail: '', code: 'too_many_attempts' }, res);
    expect(err.retryAfter).toBe(42);
    expect(toApiProblem('<html>', new Response('', { status: 502 })).code).toBe('service_unavailable');
  });

  it('has more precise sentences in context', () => {
    expect(problemMessage(p('invalid_code', { status: 401 }), 'reset_password')).toMatch(/reset link does not work any more/);
    expect(problemMessage(p('invalid_code', { status: 401 }))).toMatch(/code is not correct/);
    expect(problemMessage(p('invalid_credentials', { status: 403 }), 'change_password')).toBe('Your current password is not correct.');
    expect(problemMessage(p('self_action_forbidden', { status: 409 }), 'delete_user')).toMatch(/cannot delete your own account/);
    expect(problemMessage(p('self_action_forbidden', { status: 409 }), 'disable_user')).toMatch(/cannot disable your own account/);
    expect(problemMessage(p('self_action_forbidden', { status: 409 }), 'update_user')).toMatch(/admin role away from yourself/);
    expect(problemMessage(p('self_action_forbidden', { status: 409 }))).toMatch(/your own account/);
    expect(problemMessage(p('weak_password', { status: 422 }), 'reset_password')).toMatch(/too weak/);
  });

  it('prefers the named fields of a 422 over a context sentence', () => {
    const err = p('validation_failed', { status: 422, errors: [{ field: 'token', message: 'must not be empty' }] });
    expect(problemMessage(err, 'reset_password')).toBe('Token: must not be empty');
    expect(problemMessage(p('validation_failed', { status: 422 }), 'reset_password')).toMatch(/link is incomplete/);
  });
});
