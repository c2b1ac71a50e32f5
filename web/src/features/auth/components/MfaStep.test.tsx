import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import i18n from '@/lib/i18n';
import { ApiProblem } from '@/lib/problem';
import { MfaStep } from './MfaStep';

vi.mock('../api/verify-mfa', () => ({ verifyMfa: vi.fn() }));
vi.mock('../api/resend-mfa', () => ({ resendMfa: vi.fn() }));
const { verifyMfa } = vi.mocked(await import('../api/verify-mfa'));
const { resendMfa } = vi.mocked(await import('../api/resend-mfa'));

const authenticated = { status: 'authenticated' as const, access_token: 'at', token_type: 'Bearer', expires_in: 900 };

function renderStep(rememberDeviceDays: number | null) {
  const onSignedIn = vi.fn();
  render(
    <MfaStep mfaToken="tok" method="totp" rememberDeviceDays={rememberDeviceDays} onSignedIn={onSignedIn} onRestart={vi.fn()} />,
  );
  return onSignedIn;
}

async function typeCode() {
  await userEvent.type(screen.getByLabelText('Authentication code'), '123456');
}

describe('MfaStep remember this device', () => {
  beforeEach(() => verifyMfa.mockReset().mockResolvedValue(authenticated));

  it('offers the box with the site’s days and sends remember_device when ticked', async () => {
    const onSignedIn = renderStep(30);
    await userEvent.click(screen.getByLabelText('Remember this device for 30 days'));
    await typeCode();
    await userEvent.click(screen.getByRole('button', { name: 'Verify' }));
    expect(verifyMfa).toHaveBeenCalledWith({ mfa_token: 'tok', code: '123456', remember_device: true });
    expect(onSignedIn).toHaveBeenCalledWith('at', 900);
  });

  it('sends no remember_device when the box is left unticked', async () => {
    renderStep(7);
    expect(screen.getByLabelText('Remember this device for 7 days')).toBeTruthy();
    await typeCode();
    await userEvent.click(screen.getByRole('button', { name: 'Verify' }));
    expect(verifyMfa).toHaveBeenCalledWith({ mfa_token: 'tok', code: '123456' });
  });

  it('shows no box when the site does not allow remembering', () => {
    renderStep(null);
    expect(screen.queryByRole('checkbox')).toBeNull();
  });
});

describe('MfaStep in Chinese', () => {
  beforeEach(async () => {
    verifyMfa.mockReset();
    resendMfa.mockReset();
    await i18n.changeLanguage('zh-CN');
  });

  it('a_reader_of_chinese_gets_the_second_step_in_chinese', async () => {
    render(<MfaStep mfaToken="tok" method="email" rememberDeviceDays={30} onSignedIn={vi.fn()} onRestart={vi.fn()} />);
    expect(screen.getByRole('heading', { name: '输入验证码' })).toBeTruthy();
    expect(screen.getByText('我们已向您的电子邮箱发送了 6 位验证码，几分钟内有效。')).toBeTruthy();
    expect(screen.getByLabelText('验证码')).toBeTruthy();
    expect(screen.getByText('6 位数字')).toBeTruthy();
    expect(screen.getByLabelText('记住此设备 30 天')).toBeTruthy();
    expect(screen.getByRole('button', { name: '验证' })).toBeTruthy();
    // The e-mailed code has just been sent: resending waits out its cool-down.
    expect(screen.getByRole('button', { name: /^重新发送验证码（\d+ 秒）$/ })).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: '使用备用码' }));
    expect(screen.getByText('请输入您的一个备用码。每个备用码只能使用一次。')).toBeTruthy();
    expect(screen.getByLabelText('备用码')).toBeTruthy();
    expect(screen.getByRole('button', { name: '使用验证码' })).toBeTruthy();
  });

  it('a_wrong_code_is_explained_in_chinese', async () => {
    verifyMfa.mockRejectedValue(new ApiProblem({ type: 'about:blank', title: 'x', status: 401, detail: 'wrong code', code: 'invalid_code' }));
    render(<MfaStep mfaToken="tok" method="totp" onSignedIn={vi.fn()} onRestart={vi.fn()} />);
    expect(screen.getByText('请打开您的身份验证器应用，输入它为 CloudCX 显示的 6 位验证码。')).toBeTruthy();
    await userEvent.type(screen.getByLabelText('验证码'), '123456');
    await userEvent.click(screen.getByRole('button', { name: '验证' }));
    expect((await screen.findByRole('alert')).textContent).toBe('验证码不正确或已过期，请检查后重试。');
  });
});
