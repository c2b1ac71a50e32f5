import { useState } from 'react';
import { describe, expect, it } from 'vitest';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import i18n from '@/lib/i18n';
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

  it('gives focus back to the opener, not to its own field that took focus first (autoFocus)', async () => {
    function AutoFocus() {
      const [open, setOpen] = useState(false);
      return (
        <div>
          <button onClick={() => setOpen(true)}>Turn off</button>
          {open && (
            <Dialog title="Sure?" onClose={() => setOpen(false)}>
              <label>
                Password <input type="password" autoFocus />
              </label>
            </Dialog>
          )}
        </div>
      );
    }
    render(<AutoFocus />);
    const opener = screen.getByText('Turn off');
    await userEvent.click(opener);
    expect(document.activeElement).toBe(screen.getByLabelText('Password'));
    await userEvent.keyboard('{Escape}');
    await waitFor(() => expect(document.activeElement).toBe(opener));
  });

  it('waits for an opener that is busy (disabled) to be enabled again, then gives it focus', async () => {
    function Busy() {
      const [open, setOpen] = useState(false);
      const [busy, setBusy] = useState(false);
      const [opener, setOpener] = useState<HTMLElement | null>(null);
      return (
        <div>
          <button disabled={busy} onClick={(e) => (setOpener(e.currentTarget), setOpen(true))}>
            Set Up
          </button>
          <button onClick={() => setBusy(false)}>Ready</button>
          {open && (
            <Dialog title="Link" opener={opener} onClose={() => (setBusy(true), setOpen(false))}>
              <p>QR</p>
            </Dialog>
          )}
        </div>
      );
    }
    render(<Busy />);
    const setUp = screen.getByText('Set Up');
    await userEvent.click(setUp);
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect((setUp as HTMLButtonElement).disabled).toBe(true);
    expect(document.activeElement).not.toBe(setUp);
    // Enabled again (by a click we make without moving focus): focus arrives.
    screen.getByText('Ready').click();
    await waitFor(() => expect(document.activeElement).toBe(setUp));
  });

  it('gives focus to the fallback when the action removed the opener', async () => {
    function Gone() {
      const [open, setOpen] = useState(false);
      const [done, setDone] = useState(false);
      const [heading, setHeading] = useState<HTMLElement | null>(null);
      return (
        <section>
          <h2 ref={setHeading} tabIndex={-1}>
            Two-Factor
          </h2>
          {!done && <button onClick={() => setOpen(true)}>Turn off</button>}
          {open && (
            <Dialog title="Sure?" fallbackFocus={heading} onClose={() => setOpen(false)} footer={<button onClick={() => (setDone(true), setOpen(false))}>Confirm</button>}>
              <p>Really?</p>
            </Dialog>
          )}
        </section>
      );
    }
    render(<Gone />);
    await userEvent.click(screen.getByText('Turn off'));
    await userEvent.click(screen.getByText('Confirm'));
    await waitFor(() => expect(document.activeElement).toBe(screen.getByText('Two-Factor')));
  });

  it('names its close button in the reader\'s language', async () => {
    await i18n.changeLanguage('zh-CN');
    render(<Harness />);
    await userEvent.click(screen.getByText('Open'));
    expect(screen.getByRole('button', { name: '关闭' })).toBeTruthy();
  });
});
