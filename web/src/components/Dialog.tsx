import { useEffect, useId, useLayoutEffect, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { createPortal } from 'react-dom';
import { useTranslation } from 'react-i18next';

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

/** How long a closed dialog waits for its opener to be usable again (a busy button is disabled). */
const RETURN_WAIT_MS = 5000;

function canTakeFocus(el: HTMLElement): boolean {
  return document.contains(el) && !(el as HTMLButtonElement).disabled && !el.closest('[inert]');
}

/** Nothing has focus (it fell back to the page body when a dialog or a busy button lost it). */
function focusIsLost(): boolean {
  const active = document.activeElement;
  return !active || active === document.body || active === document.documentElement;
}

/**
 * Gives focus back to `target` once it can take it — now, or when it is enabled again (a busy
 * button) or no longer behind another dialog — as long as nothing else took focus meanwhile.
 * When `target` is gone from the page (the action replaced it), `fallback` gets it instead.
 */
export function returnFocus(target: HTMLElement | null | undefined, fallback?: HTMLElement | null): void {
  let observer: MutationObserver | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    observer?.disconnect();
    if (timer !== undefined) clearTimeout(timer);
  };
  const attempt = (): boolean => {
    if (!focusIsLost()) return true; // the user, or the next dialog, has it: leave it there
    if (target && canTakeFocus(target)) {
      target.focus();
      return true;
    }
    if (!target || !document.contains(target)) {
      if (fallback && canTakeFocus(fallback)) fallback.focus();
      return !fallback || !document.contains(fallback) || !focusIsLost();
    }
    return false;
  };
  // Wait for the DOM to settle (the opener may re-render) before giving focus back.
  queueMicrotask(() => {
    if (attempt()) return;
    observer = new MutationObserver(() => {
      if (attempt()) stop();
    });
    observer.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['disabled', 'inert'] });
    timer = setTimeout(stop, RETURN_WAIT_MS);
  });
}

type Props = {
  title: ReactNode;
  onClose: () => void;
  children: ReactNode;
  /** Buttons at the bottom. */
  footer?: ReactNode;
  /** Escape and the close button are off while something is being saved. */
  dismissable?: boolean;
  size?: 'small' | 'medium';
  /**
   * Where focus goes back when the dialog closes. By default, what had focus when the dialog
   * first rendered (before a field of it took focus). A caller whose opener may lose focus before
   * the dialog opens (a button disabled while busy, a password prompt in between) records the
   * opener itself, before the async step, and passes it here.
   */
  opener?: HTMLElement | null;
  /** Takes focus instead when the opener is gone from the page (the action replaced it). */
  fallbackFocus?: HTMLElement | null;
};

/**
 * A modal dialog: focus moves in (to the first field, or the first button), Tab and Shift+Tab
 * stay inside, Escape closes, the page behind is inert, and focus goes back to what opened it
 * (`opener`), once that can take it again.
 */
export function Dialog({ title, onClose, children, footer, dismissable = true, size = 'medium', opener, fallbackFocus }: Props) {
  const { t } = useTranslation('common');
  const titleId = useId();
  const panel = useRef<HTMLDivElement>(null);
  const onCloseRef = useRef(onClose);
  // Read while rendering: by the time effects run, an autoFocus field inside has taken focus.
  const [focusedBefore] = useState(() => (typeof document === 'undefined' ? null : (document.activeElement as HTMLElement | null)));
  const returnTo = useRef<{ opener: HTMLElement | null; fallback: HTMLElement | null }>({ opener: null, fallback: null });
  // The latest callback and focus targets, for the handlers and the closing effect below
  // (updated after each render, before any effect or event handler reads them).
  useLayoutEffect(() => {
    onCloseRef.current = onClose;
    returnTo.current = { opener: opener !== undefined ? opener : focusedBefore, fallback: fallbackFocus ?? null };
  });

  useEffect(() => {
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
      const { opener: target, fallback } = returnTo.current;
      returnFocus(target && target !== document.body ? target : null, fallback);
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
            <button type="button" className="dialog-close" aria-label={t('dialog.close')} onClick={() => onCloseRef.current()}>
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
