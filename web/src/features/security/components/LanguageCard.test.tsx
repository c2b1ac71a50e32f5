import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import i18n from '@/lib/i18n';
import { MeContext, type Me } from '@/lib/me';
import { ApiProblem } from '@/lib/problem';
import { LanguageCard } from './LanguageCard';

vi.mock('../api/update-me', () => ({ updateLocale: vi.fn() }));
const update = vi.mocked((await import('../api/update-me')).updateLocale);

const me = (locale: Me['locale']): Me => ({
  id: 'u1',
  email: 'alice@acme.example',
  display_name: 'Alice',
  role: 'agent',
  tenant: { id: 't1', slug: 'acme', name: 'Acme' },
  mfa_setup_required: false,
  locale,
});

function setup(locale: Me['locale'] = null) {
  const reload = vi.fn();
  render(
    <MeContext.Provider value={{ me: me(locale), loading: false, error: null, reload }}>
      <LanguageCard />
    </MeContext.Provider>,
  );
  return { reload };
}

describe('LanguageCard', () => {
  beforeEach(() => update.mockReset());

  it('shows "Browser default" when the account has no choice, and the two languages by their own names', () => {
    setup();
    const select = screen.getByLabelText('Preferred language') as HTMLSelectElement;
    expect(select.value).toBe('');
    expect([...select.options].map((o) => o.text)).toEqual(['Browser default', 'English', '简体中文']);
  });

  it('saves the choice, switches the app to it and reloads the account', async () => {
    update.mockResolvedValueOnce(me('zh-CN'));
    const { reload } = setup();
    await userEvent.selectOptions(screen.getByLabelText('Preferred language'), '简体中文');
    expect(update).toHaveBeenCalledWith('zh-CN');
    // The labels are Chinese now, and the page says so.
    expect(await screen.findByRole('heading', { name: '语言' })).toBeTruthy();
    expect(screen.getByLabelText('首选语言')).toBeTruthy();
    expect(screen.getByRole('option', { name: '跟随浏览器' })).toBeTruthy();
    expect(screen.getByRole('status').textContent).toBe('您的语言设置已保存。');
    expect(i18n.language).toBe('zh-CN');
    expect(document.documentElement.lang).toBe('zh-CN');
    expect((screen.getByLabelText('首选语言') as HTMLSelectElement).value).toBe('zh-CN');
    expect(reload).toHaveBeenCalledOnce();
  });

  it('goes back to the browser language with null', async () => {
    update.mockResolvedValueOnce(me(null));
    setup('zh-CN');
    // jsdom's browser language is English.
    await userEvent.selectOptions(screen.getByLabelText('Preferred language'), 'Browser default');
    expect(update).toHaveBeenCalledWith(null);
    await waitFor(() => expect(i18n.language).toBe('en'));
    expect((screen.getByLabelText('Preferred language') as HTMLSelectElement).value).toBe('');
  });

  it('keeps the stored choice and says why when the change fails', async () => {
    update.mockRejectedValueOnce(new ApiProblem({ type: 'about:blank', title: 't', status: 503, detail: '', code: 'internal' }));
    setup('en');
    await userEvent.selectOptions(screen.getByLabelText('Preferred language'), '简体中文');
    expect(await screen.findByRole('alert')).toBeTruthy();
    expect((screen.getByLabelText('Preferred language') as HTMLSelectElement).value).toBe('en');
    expect(i18n.language).toBe('en');
  });
});
