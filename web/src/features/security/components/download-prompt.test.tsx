import { describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { TwoFactorStatus } from '../api/get-2fa-status';
import { DownloadBanner } from './DownloadBanner';
import { shouldPromptDownload } from './download-prompt';

const codes = { total: 10, remaining: 10, generated_at: '2026-11-01T10:00:00Z' };

describe('shouldPromptDownload', () => {
  it('asks while 2FA is on and the codes were never downloaded', () => {
    expect(shouldPromptDownload({ enabled: true, method: 'totp', backup_codes: { ...codes, downloaded_at: null } })).toBe(true);
  });
  it('asks when downloaded_at is missing altogether', () => {
    expect(shouldPromptDownload({ enabled: true, method: 'email', backup_codes: { ...codes } })).toBe(true);
  });
  it('stops once they are downloaded', () => {
    expect(
      shouldPromptDownload({ enabled: true, method: 'totp', backup_codes: { ...codes, downloaded_at: '2026-11-01T10:05:00Z' } }),
    ).toBe(false);
  });
  it('never asks without 2FA or without codes', () => {
    expect(shouldPromptDownload({ enabled: false, method: null, backup_codes: null })).toBe(false);
    expect(shouldPromptDownload({ enabled: true, method: 'totp', backup_codes: null })).toBe(false);
    expect(shouldPromptDownload(undefined)).toBe(false);
  });
});

describe('DownloadBanner', () => {
  it('shows the prompt and opens the codes', async () => {
    const onView = vi.fn();
    const status: TwoFactorStatus = { enabled: true, method: 'totp', backup_codes: { ...codes, downloaded_at: null } };
    render(<DownloadBanner status={status} onView={onView} />);
    expect(screen.getByText(/Download your backup codes/)).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: 'View Backup Codes' }));
    expect(onView).toHaveBeenCalledOnce();
  });
  it('renders nothing once downloaded', () => {
    const status: TwoFactorStatus = { enabled: true, method: 'totp', backup_codes: { ...codes, downloaded_at: '2026-11-01T10:05:00Z' } };
    const { container } = render(<DownloadBanner status={status} onView={() => {}} />);
    expect(container.textContent).toBe('');
  });
});
