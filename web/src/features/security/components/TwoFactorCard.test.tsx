import { useCallback, useRef, useState, type ReactNode } from 'react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Dialog } from '@/components/Dialog';
import i18n from '@/lib/i18n';
import { ApiProblem } from '@/lib/problem';
import { ReauthCancelled, ReauthContext } from '@/lib/reauth';
import type { TwoFactorStatus } from '../api/get-2fa-status';
import { BackupCodesDialog } from './BackupCodesDialog';
import { EnabledDialog } from './SetupDialogs';
import { TwoFactorCard } from './TwoFactorCard';

vi.mock('../api/get-2fa-status', () => ({ get2faStatus: vi.fn() }));
vi.mock('../api/setup-email', () => ({ setupEmail: vi.fn() }));
vi.mock('../api/setup-totp', () => ({ setupTotp: vi.fn() }));
vi.mock('../api/confirm-2fa', () => ({ confirm2fa: vi.fn() }));
vi.mock('../api/disable-2fa', () => ({ disable2fa: vi.fn() }));
vi.mock('../api/get-backup-codes', () => ({ getBackupCodes: vi.fn() }));
vi.mock('../api/regenerate-backup-codes', () => ({ regenerateBackupCodes: vi.fn() }));
vi.mock('../api/download-backup-codes', () => ({ downloadBackupCodes: vi.fn(), saveTextFile: vi.fn() }));

const status = vi.mocked((await import('../api/get-2fa-status')).get2faStatus);
const setupTotp = vi.mocked((await import('../api/setup-totp')).setupTotp);
const getCodes = vi.mocked((await import('../api/get-backup-codes')).getBackupCodes);

/** The help page's words after enabling 2FA and in the backup-codes pop-up, for every method. */
const HELP =
  "If you lose your device, you'll need these backup codes to log into your account. Without your device or a backup code, you'll have to contact the administrator to recover your account. We recommend you download them to keep them in a safe place.";

const reauthRequired = () =>
  new ApiProblem({ type: 'about:blank', title: 'Re-authentication required', status: 403, detail: '', code: 'reauth_required' });

const off: TwoFactorStatus = { enabled: false, method: null };
const on = (method: 'email' | 'totp'): TwoFactorStatus => ({
  enabled: true,
  method,
  backup_codes: { remaining: 10, total: 10, generated_at: '2026-12-01T10:00:00Z', downloaded_at: '2026-12-01T10:05:00Z' },
});
const codes = {
  generated_at: '2026-12-01T10:00:00Z',
  downloaded_at: '2026-12-01T10:05:00Z',
  codes: [
    { code: 'AAAA-BBBB', used: false },
    { code: 'CCCC-DDDD', used: true },
  ],
};
const setup = { secret: 'JBSWY3DPEHPK3PXP', otpauth_uri: 'otpauth://totp/x', qr_svg: '<svg xmlns="http://www.w3.org/2000/svg"/>' };

/**
 * "Confirm it's you" as the app shows it: a dialog whose password field takes focus at once,
 * before anything else can record where focus was.
 */
function FakeReauth({ children }: { children: ReactNode }) {
  const [open, setOpen] = useState(false);
  const pending = useRef<{ resolve: () => void; reject: (e: Error) => void } | null>(null);
  const ask = useCallback(() => new Promise<void>((resolve, reject) => ((pending.current = { resolve, reject }), setOpen(true))), []);
  const finish = (ok: boolean) => {
    setOpen(false);
    if (ok) pending.current?.resolve();
    else pending.current?.reject(new ReauthCancelled());
  };
  return (
    <ReauthContext.Provider value={ask}>
      {children}
      {open && (
        <Dialog title="Confirm it's you" onClose={() => finish(false)} footer={<button onClick={() => finish(true)}>Continue</button>}>
          <label>
            Your password <input type="password" autoFocus />
          </label>
        </Dialog>
      )}
    </ReauthContext.Provider>
  );
}

function renderCard() {
  render(
    <FakeReauth>
      <TwoFactorCard email="ana@acme.test" />
    </FakeReauth>,
  );
}

beforeEach(() => {
  vi.clearAllMocks();
});

describe("the help page's backup-code words", () => {
  it.each(['email', 'totp'] as const)('are shown after enabling 2FA with %s', (method) => {
    render(
      <ReauthContext.Provider value={() => Promise.resolve()}>
        <EnabledDialog result={{ enabled: true, method, backup_codes: ['AAAA-BBBB'] }} onClose={() => {}} onViewCodes={() => {}} onDownloaded={() => {}} />
      </ReauthContext.Provider>,
    );
    const dialog = screen.getByRole('dialog', { name: '2FA is enabled' });
    expect(within(dialog).getByText(HELP)).toBeTruthy();
    expect(within(dialog).queryByText(/lose access to your/)).toBeNull();
  });

  it.each(['email', 'totp'] as const)('are shown in the backup-codes pop-up with %s', async (method) => {
    status.mockResolvedValue(on(method));
    getCodes.mockResolvedValue(codes);
    renderCard();
    await userEvent.click(await screen.findByRole('button', { name: 'View Backup Codes' }));
    const dialog = screen.getByRole('dialog', { name: 'Backup Codes' });
    expect(within(dialog).getByText(HELP)).toBeTruthy();
    await within(dialog).findByText('1 of 2 codes unused');
  });

  it('are the same words in the pop-up opened on its own', async () => {
    getCodes.mockResolvedValue(codes);
    render(
      <ReauthContext.Provider value={() => Promise.resolve()}>
        <BackupCodesDialog onClose={() => {}} onChanged={() => {}} />
      </ReauthContext.Provider>,
    );
    expect(screen.getByText(HELP)).toBeTruthy();
  });
});

describe('focus after Escape', () => {
  it('goes back to Set Up after "Link the app to your account", even with "Confirm it\'s you" in between', async () => {
    status.mockResolvedValue(off);
    setupTotp.mockRejectedValueOnce(reauthRequired()).mockResolvedValueOnce(setup);
    renderCard();
    const setUp = await screen.findByRole('button', { name: 'Set Up Authenticator app authentication' });
    await userEvent.click(setUp);

    const reauth = await screen.findByRole('dialog', { name: "Confirm it's you" });
    expect(document.activeElement).toBe(within(reauth).getByLabelText('Your password'));
    await userEvent.click(within(reauth).getByRole('button', { name: 'Continue' }));

    await screen.findByRole('dialog', { name: 'Link the app to your account' });
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
    await waitFor(() => expect(document.activeElement).toBe(setUp));
  });

  it('goes back to Set Up after "Link the app to your account" without a prompt', async () => {
    status.mockResolvedValue(off);
    setupTotp.mockResolvedValue(setup);
    renderCard();
    const setUp = await screen.findByRole('button', { name: 'Set Up Authenticator app authentication' });
    await userEvent.click(setUp);
    await screen.findByRole('dialog', { name: 'Link the app to your account' });
    await userEvent.keyboard('{Escape}');
    await waitFor(() => expect(document.activeElement).toBe(setUp));
  });

  it('goes back to Turn off after the Turn-off confirmation, whose password field takes focus first', async () => {
    status.mockResolvedValue(on('totp'));
    renderCard();
    const turnOff = await screen.findByRole('button', { name: 'Turn off Authenticator app authentication' });
    await userEvent.click(turnOff);
    const dialog = screen.getByRole('dialog', { name: 'Turn off two-factor authentication?' });
    expect(document.activeElement).toBe(within(dialog).getByLabelText('Password'));
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
    await waitFor(() => expect(document.activeElement).toBe(turnOff));
  });
});

describe('in Chinese', () => {
  it('labels the methods, their buttons and the set-up dialog in zh-CN', async () => {
    await i18n.changeLanguage('zh-CN');
    status.mockResolvedValue(off);
    setupTotp.mockResolvedValue(setup);
    renderCard();
    expect(await screen.findByRole('heading', { name: '双重验证（2FA）' })).toBeTruthy();
    expect(screen.getByRole('heading', { name: '电子邮件验证' })).toBeTruthy();
    const setUp = screen.getByRole('button', { name: '设置身份验证器应用验证' });
    expect(setUp.textContent).toBe('设置');
    await userEvent.click(setUp);
    const dialog = await screen.findByRole('dialog', { name: '将应用关联到您的账户' });
    expect(within(dialog).getByRole('img', { name: '用身份验证器应用扫描的二维码' })).toBeTruthy();
    expect(within(dialog).getByRole('button', { name: '下一步' })).toBeTruthy();
    expect(within(dialog).getByRole('button', { name: '关闭' })).toBeTruthy();
  });

  it('shows the enabled method, the backup codes and their words in zh-CN', async () => {
    await i18n.changeLanguage('zh-CN');
    status.mockResolvedValue(on('email'));
    getCodes.mockResolvedValue(codes);
    renderCard();
    expect(await screen.findByText('已启用')).toBeTruthy();
    expect(screen.getByRole('button', { name: '关闭电子邮件验证' }).textContent).toBe('关闭');
    expect(screen.getByText('一次只能选择一种验证方式')).toBeTruthy();
    expect(screen.getByText('备用码：剩余 10 个，共 10 个')).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: '查看备用码' }));
    const dialog = screen.getByRole('dialog', { name: '备用码' });
    expect(within(dialog).getByText(/如果您丢失了设备/)).toBeTruthy();
    expect(await within(dialog).findByText('1 个未使用，共 2 个')).toBeTruthy();
    expect(within(dialog).getByText('已使用')).toBeTruthy();
    expect(within(dialog).getByRole('button', { name: '生成新的备用码' })).toBeTruthy();
    expect(within(dialog).getByRole('button', { name: '下载' })).toBeTruthy();
  });
});
