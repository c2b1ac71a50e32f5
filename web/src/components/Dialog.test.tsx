import { useState } from 'react';
import { describe, expect, it } from 'vitest';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Dialog } from './Dialog';

function Harness() {
  const [open, setOpen] = useState(false);
  return (
    <div>
      <button onClick={() => setOpen(true)}>Open</button>
      <button>Behind</button>
      {open && (
        <Dialog title="Confirm" onClose={() => setOpen(false)} footer={<button onClick={() => setOpen(false)}>Done</button>}>
          <label>
            Password <input type="password" />
          </label>
        </Dialog>
      )}
    </div>
  );
}

describe('Dialog', () => {
  it('is a labelled modal dialog and moves focus to its first field', async () => {
    render(<Harness />);
    await userEvent.click(screen.getByText('Open'));
    const dialog = screen.getByRole('dialog', { name: 'Confirm' });
    expect(dialog.getAttribute('aria-modal')).toBe('true');
    expect(document.activeElement).toBe(screen.getByLabelText('Password'));
  });

  it('keeps Tab and Shift+Tab inside', async () => {
    render(<Harness />);
    await userEvent.click(screen.getByText('Open'));
    const password = screen.getByLabelText('Password');
    const done = screen.getByText('Done');
    const close = screen.getByRole('button', { name: 'Close' });
    expect(document.activeElement).toBe(password);
    await userEvent.tab();
    expect(document.activeElement).toBe(done);
    await userEvent.tab();
    expect(document.activeElement).toBe(close);
    await userEvent.tab();
    expect(document.activeElement).toBe(password);
    await userEvent.tab({ shift: true });
    expect(document.activeElement).toBe(close);
    await userEvent.tab({ shift: true });
    expect(document.activeElement).toBe(done);
  });

  it('closes on Escape and gives focus back to the button that opened it', async () => {
    render(<Harness />);
    const opener = screen.getByText('Open');
    await userEvent.click(opener);
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
    await waitFor(() => expect(document.activeElement).toBe(opener));
  });

  it('gives focus back after closing with a button too', async () => {
    render(<Harness />);
    const opener = screen.getByText('Open');
    await userEvent.click(opener);
    await userEvent.click(screen.getByText('Done'));
    await waitFor(() => expect(document.activeElement).toBe(opener));
  });
});
