import { useEffect, useId, useRef, type KeyboardEvent, type ReactNode } from 'react';
import { createPortal } from 'react-dom';

const FOCUSABLE = [
  'a[href]',
  'button:not([disabled])',
  'input:not([disabled]):not([type="hidden"])',
  'select:not([disabled])',
  'textarea:not([disabled])',
  '[tabindex]:not([tabindex="-1"])',
].join(',');

export function focusableIn(root: HTMLElement): HTMLElement[] {
  return Array.from(root.querySelectorAll<HTMLElement>(FOCUSABLE)).filter((el) => !el.closest('[inert]'));
}

let openCount = 0;

type Props = {
  title: ReactNode;
  onClose: () => void;
  children: ReactNode;
  /** Buttons at the bottom. */
  footer?: ReactNode;
  /** Escape and the close button are off while something is being saved. */
  dismissable?: boolean;
  size?: 'small' | 'medium';
};

/**
 * A modal dialog: focus moves in (to the first field, or the first button), Tab and Shift+Tab
 * stay inside, Escape closes, the page behind is inert, and focus goes back to what opened it.
 */
export function Dialog({ title, onClose, children, footer, dismissable = true, size = 'medium' }: Props) {
  const titleId = useId();
  const panel = useRef<HTMLDivElement>(null);
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;

  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    const root = document.getElementById('root');
    openCount += 1;
    root?.setAttribute('inert', '');
    const el = panel.current;
    // A field with autoFocus has already taken focus during the commit: leave it there.
    if (el && !el.contains(document.activeElement)) {
      const preferred = el.querySelector<HTMLElement>('[autofocus], [data-autofocus]');
      const first = preferred ?? focusableIn(el).find((n) => !n.classList.contains('dialog-close')) ?? el;
      first.focus();
    }
    return () => {
      openCount -= 1;
      if (openCount === 0) root?.removeAttribute('inert');
      // Wait for the DOM to settle (the opener may re-render) before giving focus back.
      queueMicrotask(() => {
        if (opener && document.contains(opener)) opener.focus();
      });
    };
  }, []);

  function onKeyDown(e: KeyboardEvent<HTMLDivElement>) {
    if (e.key === 'Escape') {
      e.stopPropagation();
      if (dismissable) onCloseRef.current();
      return;
    }
    if (e.key !== 'Tab' || !panel.current) return;
    const items = focusableIn(panel.current);
    if (items.length === 0) {
      e.preventDefault();
      panel.current.focus();
      return;
    }
    const first = items[0]!;
    const last = items[items.length - 1]!;
    const active = document.activeElement;
    if (e.shiftKey && (active === first || active === panel.current)) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && active === last) {
      e.preventDefault();
      first.focus();
    } else if (!panel.current.contains(active)) {
      e.preventDefault();
      first.focus();
    }
  }

  return createPortal(
    <div className="dialog-backdrop">
      <div
        ref={panel}
        className={`dialog dialog-${size}`}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        tabIndex={-1}
        onKeyDown={onKeyDown}
      >
        <div className="dialog-head">
          <h2 id={titleId}>{title}</h2>
          {dismissable && (
            <button type="button" className="dialog-close" aria-label="Close" onClick={() => onCloseRef.current()}>
              ×
            </button>
          )}
        </div>
        <div className="dialog-body">{children}</div>
        {footer && <div className="dialog-foot">{footer}</div>}
      </div>
    </div>,
    document.body,
  );
}
