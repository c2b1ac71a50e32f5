import { beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MfaStep } from './MfaStep';

vi.mock('../api/verify-mfa', () => ({ verifyMfa: vi.fn() }));
vi.mock('../api/resend-mfa', () => ({ resendMfa: vi.fn() }));
const { verifyMfa } = vi.mocked(await import('../api/verify-mfa'));

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
