// An admin whose language is Chinese (zh-CN) reads the whole administration in Chinese: tabs,
// tables, buttons and the names screen readers announce, dialogs, notices and dates. E-mail
// addresses, names and brand names stay as they are.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { ReactNode } from 'react';
import i18n from '@/lib/i18n';
import { formatTime } from '@/lib/format';
import { MeContext } from '@/lib/me';
import { ApiProblem } from '@/lib/problem';
import { ReauthContext } from '@/lib/reauth';
import type { User } from '../api/users';
import type { ProviderView } from '../api/sso-providers';
import { AdminPage } from './AdminPage';
import { AuditPanel } from './AuditPanel';
import { SettingsPanel } from './SettingsPanel';
import { SsoAppsPanel } from './SsoAppsPanel';
import { UsersPanel } from './UsersPanel';

vi.mock('../api/users', () => ({
  listUsers: vi.fn(),
  createUser: vi.fn(),
  resetTwoFactor: vi.fn(),
  updateUser: vi.fn(),
  unlockUser: vi.fn(),
  sendResetLink: vi.fn(),
  deleteUser: vi.fn(),
}));
vi.mock('../api/settings', () => ({ getSettings: vi.fn(), patchSettings: vi.fn() }));
vi.mock('../api/sso-providers', () => ({
  listProviders: vi.fn(),
  createProvider: vi.fn(),
  patchProvider: vi.fn(),
  deleteProvider: vi.fn(),
  testProvider: vi.fn(),
}));
vi.mock('../api/audit-events', () => ({ listAuditEvents: vi.fn() }));

const users = vi.mocked(await import('../api/users'));
const settings = vi.mocked(await import('../api/settings'));
const sso = vi.mocked(await import('../api/sso-providers'));
const audit = vi.mocked(await import('../api/audit-events'));

const ada: User = {
  id: 'u1',
  email: 'ada@acme.test',
  display_name: 'Ada Admin',
  role: 'admin',
  disabled: false,
  locked: false,
  two_factor: { enabled: true, method: 'totp' },
  created_at: '2026-11-01T10:00:00Z',
  last_sign_in_at: '2026-12-06T02:59:01Z',
};
const bob: User = {
  id: 'u2',
  email: 'bob@acme.test',
  display_name: 'Bob Agent',
  role: 'agent',
  disabled: false,
  locked: true,
  two_factor: { enabled: true, method: 'email' },
  created_at: '2026-11-01T10:00:00Z',
  last_sign_in_at: null,
};

const app = (over: Partial<ProviderView>): ProviderView => ({
  id: 'p1',
  kind: 'google',
  display_name: 'Google',
  client_id: 'cid',
  issuer: 'https://accounts.google.com',
  microsoft_tenant: null,
  allowed_tenants: [],
  trust_idp_mfa: false,
  enabled: true,
  redirect_uri: 'http://localhost/api/v1/auth/sso/callback',
  created_at: '2026-11-01T10:00:00Z',
  updated_at: '2026-11-01T10:00:00Z',
  ...over,
});

function renderAsAdmin(ui: ReactNode) {
  render(
    <MeContext.Provider
      value={{
        me: { id: 'u1', email: ada.email, display_name: ada.display_name, role: 'admin', tenant: { id: 't', slug: 'acme', name: 'Acme' }, mfa_setup_required: false },
        loading: false,
        error: null,
        reload: () => {},
      }}
    >
      <ReauthContext.Provider value={() => Promise.resolve()}>{ui}</ReauthContext.Provider>
    </MeContext.Provider>,
  );
}

const headers = () => screen.getAllByRole('columnheader').map((h) => h.textContent);

describe('the administration in Chinese', () => {
  beforeEach(async () => {
    [users, settings, sso, audit].forEach((m) => Object.values(m).forEach((f) => f.mockReset()));
    await i18n.changeLanguage('zh-CN');
  });

  it('names_the_page_and_its_tabs_in_chinese_and_the_arrow_keys_still_move_between_them', async () => {
    window.history.replaceState(null, '', '/admin');
    users.listUsers.mockResolvedValue([ada]);
    settings.getSettings.mockResolvedValue({
      require_2fa: false,
      passkeys_enabled: true,
      remember_device: true,
      remember_device_days: 30,
      remembered_device_acr: 'aal2',
    });
    renderAsAdmin(<AdminPage />);
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('管理');
    const tabs = screen.getByRole('tablist', { name: '管理' });
    expect(within(tabs).getAllByRole('tab').map((t) => t.textContent)).toEqual(['用户', '站点设置', '单点登录应用', '审计日志']);
    expect(screen.getByRole('tabpanel', { name: '用户' })).toBeTruthy();
    await screen.findByText('ada@acme.test');
    screen.getByRole('tab', { name: '用户' }).focus();
    await userEvent.keyboard('{ArrowRight}');
    expect(screen.getByRole('tabpanel', { name: '站点设置' })).toBeTruthy();
    expect(await screen.findByLabelText('要求所有人启用双重验证')).toBeTruthy();
  });

  it('shows_the_users_table_with_chinese_headers_roles_methods_states_and_dates', async () => {
    users.listUsers.mockResolvedValue([ada, bob]);
    renderAsAdmin(<UsersPanel />);
    await screen.findByText('bob@acme.test');
    expect(screen.getByRole('heading', { name: '用户' })).toBeTruthy();
    expect(headers()).toEqual(['姓名', '电子邮件', '角色', '双重验证', '状态', '上次登录', '操作']);

    const [adaRow, bobRow] = screen.getAllByRole('row').slice(1) as [HTMLElement, HTMLElement];
    expect(adaRow.textContent).toContain('Ada Admin（您）');
    // The cards of a narrow screen take their labels from data-label.
    const cell = (row: HTMLElement, label: string) => row.querySelector(`td[data-label="${label}"]`)?.textContent;
    expect(cell(adaRow, '角色')).toBe('管理员');
    expect(cell(bobRow, '角色')).toBe('客服');
    expect(cell(adaRow, '双重验证')).toBe('身份验证器应用');
    expect(cell(bobRow, '双重验证')).toBe('电子邮件');
    expect(cell(adaRow, '状态')).toBe('正常');
    expect(cell(bobRow, '状态')).toBe('已锁定');
    // The date in Chinese (2026年12月6日 …), in the browser's time zone.
    expect(cell(adaRow, '上次登录')).toBe(formatTime(ada.last_sign_in_at));
    expect(cell(adaRow, '上次登录')).toMatch(/2026年12月\d+日/);
    expect(cell(bobRow, '上次登录')).toBe('—');

    const unlock = screen.getByRole('button', { name: '解锁 bob@acme.test' });
    expect(unlock.textContent).toBe('解锁');
    expect(screen.getByRole('button', { name: '编辑 bob@acme.test' }).textContent).toBe('编辑');
    expect(screen.getByRole('button', { name: '停用 bob@acme.test' }).textContent).toBe('停用');
    expect(screen.getByRole('button', { name: '向 bob@acme.test 发送重置链接' }).textContent).toBe('发送重置链接');
    expect(screen.getByRole('button', { name: '重置 bob@acme.test 的双重验证' }).textContent).toBe('重置双重验证');
    expect(screen.getByRole('button', { name: '删除 bob@acme.test' }).textContent).toBe('删除');
    expect(screen.getByRole('button', { name: '添加用户' })).toBeTruthy();

    users.unlockUser.mockResolvedValueOnce(undefined);
    await userEvent.click(unlock);
    expect((await screen.findByRole('status')).textContent).toBe('已解锁 bob@acme.test，该用户可以再次尝试登录。');
  });

  it('explains_a_refused_action_in_chinese_before_the_reason', async () => {
    users.listUsers.mockResolvedValue([ada]);
    users.updateUser.mockRejectedValueOnce(
      new ApiProblem({ type: 'about:blank', title: 't', status: 409, detail: '', code: 'self_action_forbidden' }),
    );
    renderAsAdmin(<UsersPanel />);
    await userEvent.click(await screen.findByRole('button', { name: '停用 ada@acme.test' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/^无法停用 ada@acme\.test：./);
  });

  it('asks_in_chinese_before_deleting_a_user_and_names_them', async () => {
    users.listUsers.mockResolvedValue([ada, bob]);
    renderAsAdmin(<UsersPanel />);
    await userEvent.click(await screen.findByRole('button', { name: '删除 bob@acme.test' }));
    const dialog = screen.getByRole('dialog', { name: '删除 Bob Agent？' });
    expect(within(dialog).getByText('Bob Agent', { selector: 'strong' })).toBeTruthy();
    expect(dialog.textContent).toContain('Bob Agent（bob@acme.test）将在所有设备上被退出登录，并且无法再登录。此操作无法撤销。');
    expect(document.activeElement).toBe(within(dialog).getByRole('button', { name: '取消' }));
    expect(within(dialog).getByRole('button', { name: '删除用户' })).toBeTruthy();
  });

  it('adds_a_user_through_a_chinese_form_with_chinese_role_names', async () => {
    users.listUsers.mockResolvedValue([]);
    users.createUser.mockResolvedValueOnce(bob);
    renderAsAdmin(<UsersPanel />);
    expect(await screen.findByText('还没有用户。')).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: '添加用户' }));
    const dialog = screen.getByRole('dialog', { name: '添加用户' });
    await userEvent.type(within(dialog).getByLabelText('电子邮件'), 'bob@acme.test');
    await userEvent.type(within(dialog).getByLabelText('姓名'), 'Bob Agent');
    await userEvent.type(within(dialog).getByLabelText(/初始密码/), 'Bob-Secret-Pass-42');
    const role = within(dialog).getByLabelText('角色');
    expect(within(role).getAllByRole('option').map((o) => o.textContent)).toEqual(['客服', '管理员']);
    expect(within(dialog).getByText('8 到 128 个字符；常见密码将被拒绝。')).toBeTruthy();
    await userEvent.click(within(dialog).getByRole('button', { name: '添加用户' }));
    expect(await screen.findByText('已添加 bob@acme.test。')).toBeTruthy();
  });

  it('opens_the_chinese_reset_dialog_for_a_second_factor', async () => {
    users.listUsers.mockResolvedValue([bob]);
    renderAsAdmin(<UsersPanel />);
    await userEvent.click(await screen.findByRole('button', { name: '重置 bob@acme.test 的双重验证' }));
    const dialog = screen.getByRole('dialog', { name: '重置 Bob Agent 的双重验证' });
    expect(dialog.textContent).toContain('此操作会移除 bob@acme.test 的第二重验证方式和备用码');
    expect(within(dialog).getByLabelText('原因')).toBeTruthy();
    expect(within(dialog).getByLabelText('支持工单（可选）')).toBeTruthy();
  });

  it('labels_the_site_settings_in_chinese', async () => {
    settings.getSettings.mockResolvedValue({
      require_2fa: false,
      passkeys_enabled: true,
      remember_device: true,
      remember_device_days: 30,
      remembered_device_acr: 'aal2',
    });
    renderAsAdmin(<SettingsPanel />);
    expect(await screen.findByLabelText('要求所有人启用双重验证')).toBeTruthy();
    expect(screen.getByRole('heading', { name: '站点设置' })).toBeTruthy();
    expect(screen.getByLabelText('允许使用通行密钥')).toBeTruthy();
    expect(screen.getByLabelText('允许“记住此设备”')).toBeTruthy();
    const acr = screen.getByLabelText('记住设备后登录的保证级别');
    expect(within(acr).getAllByRole('option').map((o) => o.textContent)).toEqual(['aal2：视同已完成第二重验证', 'aal1：视同仅凭密码登录']);
    const days = screen.getByLabelText('记住设备的天数') as HTMLInputElement;
    await waitFor(() => expect(days.value).toBe('30'));
    await userEvent.clear(days);
    await userEvent.type(days, '91');
    expect(screen.getByText('请输入 1 到 90 之间的整数。')).toBeTruthy();
    expect((screen.getByRole('button', { name: '保存' }) as HTMLButtonElement).disabled).toBe(true);
  });

  it('lists_the_sso_applications_by_name_with_chinese_labels', async () => {
    sso.listProviders.mockResolvedValue([
      app({ id: 'p2', kind: 'microsoft', display_name: 'Office 365', issuer: 'https://login.microsoftonline.com', enabled: false }),
      app({ id: 'p1' }),
    ]);
    sso.testProvider.mockResolvedValueOnce({ ok: true, problems: [] });
    renderAsAdmin(<SsoAppsPanel />);
    await screen.findByText(/Office 365/, { selector: 'h3' });
    expect(screen.getByRole('heading', { name: '单点登录应用' })).toBeTruthy();
    const cards = screen.getAllByRole('listitem');
    expect(cards.map((c) => within(c).getByRole('heading', { level: 3 }).textContent)).toEqual(['Google 已启用', 'Office 365 已停用']);
    const [google, office] = cards as [HTMLElement, HTMLElement];
    expect(office.textContent).toContain('Microsoft（Office 365） · https://login.microsoftonline.com');
    expect(within(office).getByRole('button', { name: '启用' })).toBeTruthy();
    expect(within(google).getByRole('button', { name: '停用' })).toBeTruthy();
    expect(within(google).getByText(/需在提供方处登记的重定向 URI：/).querySelector('code')?.textContent).toBe(
      'http://localhost/api/v1/auth/sso/callback',
    );
    await userEvent.click(within(google).getByRole('button', { name: '测试连接' }));
    expect(await within(google).findByText('连接正常。')).toBeTruthy();

    await userEvent.click(screen.getByRole('button', { name: '添加应用' }));
    const dialog = screen.getByRole('dialog', { name: '添加单点登录应用' });
    const kind = within(dialog).getByLabelText('类型');
    expect(within(kind).getAllByRole('option').map((o) => o.textContent)).toEqual(['Google', 'Microsoft（Office 365）', 'OpenID Connect']);
    expect(within(dialog).getByLabelText('按钮上显示的名称')).toBeTruthy();
    expect(within(dialog).getByLabelText('客户端 ID')).toBeTruthy();
    expect(within(dialog).getByLabelText('颁发者（可选）')).toBeTruthy();
    await userEvent.selectOptions(kind, 'microsoft');
    expect(within(dialog).getByLabelText('允许的租户')).toBeTruthy();
    expect(within(dialog).getByLabelText('信任提供方的多重身份验证登录')).toBeTruthy();
    expect(within(dialog).getByRole('button', { name: '保存' })).toBeTruthy();
  });

  it('shows_the_audit_log_in_chinese_with_dates_in_chinese', async () => {
    users.listUsers.mockResolvedValue([ada, bob]);
    audit.listAuditEvents.mockResolvedValue({
      events: [
        { id: 'e1', at: '2026-12-06T02:59:01Z', kind: 'mfa_admin_reset', user_id: 'u2', actor_id: 'u1', ip: '203.0.113.9', details: {} },
      ],
      next_before: 'e1',
    });
    renderAsAdmin(<AuditPanel />);
    await screen.findByText('mfa_admin_reset');
    expect(screen.getByRole('heading', { name: '审计日志' })).toBeTruthy();
    expect(headers()).toEqual(['时间', '事件', '用户', '操作人', 'IP 地址', '详情']);
    const row = screen.getAllByRole('row')[1]!;
    expect(within(row).getAllByRole('cell')[0]!.textContent).toMatch(/^2026年12月\d+日/);
    expect(row.textContent).toContain('bob@acme.test');
    expect(row.textContent).toContain('ada@acme.test');
    expect(within(screen.getByLabelText('用户')).getAllByRole('option')[0]!.textContent).toBe('所有人');
    expect((screen.getByLabelText('事件类型') as HTMLInputElement).placeholder).toBe('例如 sign_in_succeeded');
    expect(screen.getByRole('button', { name: '筛选' })).toBeTruthy();
    expect(screen.getByRole('button', { name: '加载更多' })).toBeTruthy();
  });
});
