import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import i18n from './i18n';
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

describe('problemMessage in Chinese', () => {
  it('the_sentences_follow_the_language_shown', async () => {
    await i18n.changeLanguage('zh-CN');
    expect(problemMessage(p('invalid_credentials'))).toBe('站点、电子邮箱或密码不正确。');
    expect(problemMessage(p('invalid_code', { status: 401 }), 'reset_password')).toMatch(/^此重置链接已失效/);
    expect(problemMessage(p('sso_failed', { reason: 'expired' }))).toBe('单点登录耗时过长，请重新开始。');
    expect(problemMessage(p('sso_failed', { reason: 'something_new' }))).toBe('单点登录失败，请重试。');
    expect(problemMessage(new ApiProblem({ ...p('too_many_attempts').problem, status: 429 }, 30))).toBe('尝试次数过多，请等待 30 秒后重试。');
    expect(problemMessage(new ApiProblem({ ...p('too_many_attempts').problem, status: 429 }, 600))).toBe('尝试次数过多，请等待 10 分钟后重试。');
    expect(problemMessage(networkProblem())).toBe('无法连接到服务器。请检查网络连接后重试。');
    expect(problemMessage(new Error('x'))).toBe('出了点问题，请重试。');
  });

  it('every_code_of_the_api_has_a_sentence_of_its_own', () => {
    // Every `code` of the API (the ProblemCode enum of openapi.yaml, generated from
    // api/src/error.rs), and the app's own.
    const spec = readFileSync(resolve(process.cwd(), '..', 'openapi.yaml'), 'utf8');
    const enumBlock = /\n {4}ProblemCode:\n[\s\S]*?enum:\n((?: {6}- \w+\n)+)/.exec(spec)?.[1] ?? '';
    const apiCodes = [...enumBlock.matchAll(/- (\w+)/g)].map((m) => m[1]!);
    expect(apiCodes.length, 'the ProblemCode enum in openapi.yaml').toBeGreaterThan(20);
    const codes = [...apiCodes, 'network_error', 'unexpected'];
    for (const code of codes) {
      expect(i18n.exists(`problems.${code}`, { ns: 'common' }), code).toBe(true);
      // Not the server's own detail: a sentence from the catalog.
      expect(problemMessage(new ApiProblem({ type: 'about:blank', title: 'T', status: 400, detail: 'raw detail', code })), code).not.toBe('raw detail');
    }
  });
});
