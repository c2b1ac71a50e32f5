// Security Settings' pieces in Simplified Chinese: labels, buttons, messages and dates.
import type { ReactNode } from 'react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { formatDate, formatTime } from '@/lib/format';
import i18n from '@/lib/i18n';
import { ReauthContext } from '@/lib/reauth';
import type { Passkey } from '../api/list-passkeys';
import type { Session } from '../api/list-sessions';
import type { TrustedDevice } from '../api/trusted-devices';
import { ChangePasswordCard } from './ChangePasswordCard';
import { DevicesCard } from './DevicesCard';
import { PasskeysCard } from './PasskeysCard';
import { TurnOffDialog } from './TurnOffDialog';

vi.mock('@simplewebauthn/browser', async (original) => ({
  ...(await original<typeof import('@simplewebauthn/browser')>()),
  browserSupportsWebAuthn: vi.fn(() => true),
}));
vi.mock('../api/list-passkeys', () => ({ listPasskeys: vi.fn() }));
vi.mock('../api/list-sessions', () => ({ listSessions: vi.fn() }));
vi.mock('../api/delete-session', () => ({ deleteSession: vi.fn() }));
vi.mock('../api/trusted-devices', () => ({
  listTrustedDevices: vi.fn(),
  forgetTrustedDevice: vi.fn(),
  forgetAllTrustedDevices: vi.fn(),
}));
const listPasskeys = vi.mocked((await import('../api/list-passkeys')).listPasskeys);
const listSessions = vi.mocked((await import('../api/list-sessions')).listSessions);
const deleteSession = vi.mocked((await import('../api/delete-session')).deleteSession);
const trusted = vi.mocked(await import('../api/trusted-devices'));

function inReauth(node: ReactNode) {
  return render(<ReauthContext.Provider value={() => Promise.resolve()}>{node}</ReauthContext.Provider>);
}

beforeEach(async () => {
  vi.clearAllMocks();
  await i18n.changeLanguage('zh-CN');
});

describe('Security Settings in zh-CN', () => {
  it('labels the passkeys, their kinds and their dates in Chinese', async () => {
    const synced: Passkey = {
      id: 'k1',
      name: 'MacBook',
      kind: 'synced',
      created_at: '2026-12-01T10:00:00Z',
      last_used_at: null,
      backup_eligible: true,
      backed_up: true,
    };
    listPasskeys.mockResolvedValue([synced]);
    inReauth(<PasskeysCard />);
    expect(screen.getByRole('heading', { name: '通行密钥' })).toBeTruthy();
    expect(screen.getByRole('button', { name: '添加通行密钥' })).toBeTruthy();
    const item = within(await screen.findByRole('list', { name: '您的通行密钥' })).getByRole('listitem');
    expect(within(item).getByText('已同步')).toBeTruthy();
    expect(item.textContent).toContain(`添加于 ${formatTime(synced.created_at)}`);
    expect(item.textContent).toContain('从未使用');
    expect(within(item).getByRole('button', { name: '重命名 MacBook' }).textContent).toBe('重命名');
    await userEvent.click(within(item).getByRole('button', { name: '移除 MacBook' }));
    const dialog = screen.getByRole('dialog', { name: '要移除此通行密钥吗？' });
    expect(within(dialog).getByText('MacBook').tagName).toBe('STRONG');
    expect(within(dialog).getByRole('button', { name: '取消' })).toBeTruthy();
  });

  it('labels the devices and trusted devices in Chinese, with dates in the Chinese format', async () => {
    const other: Session = {
      id: 's2',
      device: 'Firefox on Windows',
      current: false,
      ip: '203.0.113.7',
      user_agent: 'UA',
      created_at: '2026-11-01T10:00:00Z',
      last_used_at: '2026-11-01T11:00:00Z',
    };
    const mine: Session = { ...other, id: 's1', device: '', current: true };
    const device: TrustedDevice = {
      id: 't1',
      label: 'Chrome on Linux',
      current: true,
      created_at: '2026-11-01T10:00:00Z',
      expires_at: '2026-12-01T10:00:00Z',
      last_used_at: null,
    };
    listSessions.mockResolvedValue([mine, other]);
    deleteSession.mockResolvedValue(undefined as never);
    trusted.listTrustedDevices.mockResolvedValue([device]);
    inReauth(<DevicesCard />);
    expect(screen.getByRole('heading', { name: '设备' })).toBeTruthy();
    const items = within(await screen.findByRole('list', { name: '已登录的设备' })).getAllByRole('listitem');
    expect(items[0]!.textContent).toMatch(/未知设备.*当前设备/);
    expect(items[1]!.textContent).toContain(`IP 地址 203.0.113.7 · 登录于 ${formatTime(other.created_at)}`);
    expect(formatTime(other.created_at)).toMatch(/2026年11月1日/);
    expect(screen.getByRole('button', { name: '退出其他设备' })).toBeTruthy();

    const trustedList = await screen.findByRole('list', { name: '受信任的设备' });
    const row = within(trustedList).getByRole('listitem');
    expect(row.textContent).toContain(`信任有效期至 ${formatDate(device.expires_at)}`);
    expect(formatDate(device.expires_at)).toMatch(/2026年12月\d+日/);
    expect(within(row).getByRole('button', { name: '取消信任 Chrome on Linux（当前设备）' })).toBeTruthy();

    await userEvent.click(within(items[1]!).getByRole('button', { name: '将 Firefox on Windows（203.0.113.7）退出登录' }));
    expect(await screen.findByText('Firefox on Windows 已退出登录。')).toBeTruthy();
  });

  it('labels the password change and the Turn-off confirmation in Chinese', () => {
    inReauth(
      <>
        <ChangePasswordCard />
        <TurnOffDialog onClose={() => {}} onDone={() => {}} />
      </>,
    );
    expect(screen.getByRole('heading', { name: '修改密码' })).toBeTruthy();
    expect(screen.getByLabelText('当前密码')).toBeTruthy();
    expect(screen.getByRole('button', { name: '修改密码' })).toBeTruthy();
    const dialog = screen.getByRole('dialog', { name: '要关闭双重验证吗？' });
    expect(within(dialog).getByLabelText('密码')).toBeTruthy();
    expect(within(dialog).getByRole('button', { name: '确认' })).toBeTruthy();
    expect(within(dialog).getByRole('button', { name: '关闭' })).toBeTruthy();
  });
});
