import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Avatar } from '@/components/Avatar';
import { signOut } from '@/lib/auth';
import { useMe } from '@/lib/me';
import { Link, navigate } from '@/lib/router';

/** The top bar: the profile photo in the top right opens "Edit Profile" and "Sign out". */
export function Header() {
  const { t } = useTranslation();
  const { me } = useMe();
  const [open, setOpen] = useState(false);
  const menuId = useId();
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLUListElement>(null);

  useEffect(() => {
    if (!open) return;
    menu.current?.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
    function away(e: MouseEvent) {
      if (!menu.current?.contains(e.target as Node) && !button.current?.contains(e.target as Node)) setOpen(false);
    }
    document.addEventListener('mousedown', away);
    return () => document.removeEventListener('mousedown', away);
  }, [open]);

  function close() {
    setOpen(false);
    button.current?.focus();
  }

  function onMenuKey(e: KeyboardEvent<HTMLUListElement>) {
    const items = Array.from(menu.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? []);
    const i = items.indexOf(document.activeElement as HTMLElement);
    if (e.key === 'Escape') {
      e.preventDefault();
      close();
    } else if (e.key === 'ArrowDown') {
      e.preventDefault();
      items[(i + 1) % items.length]?.focus();
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      items[(i - 1 + items.length) % items.length]?.focus();
    } else if (e.key === 'Tab') {
      setOpen(false);
    }
  }

  const name = me?.display_name || me?.email || '';
  return (
    <header className="topbar">
      <Link href="/settings/security" className="brand">
        CloudCX
      </Link>
      <nav aria-label={t('header.mainNav')} className="topnav">
        {me?.role === 'admin' && <Link href="/admin">{t('header.administration')}</Link>}
      </nav>
      <div className="profile">
        <button
          ref={button}
          type="button"
          className="avatar-button"
          aria-haspopup="menu"
          aria-expanded={open}
          aria-controls={open ? menuId : undefined}
          aria-label={name ? t('header.accountMenuFor', { name }) : t('header.accountMenu')}
          onClick={() => setOpen((o) => !o)}
        >
          <Avatar name={name || '?'} />
        </button>
        {open && (
          <ul id={menuId} ref={menu} role="menu" className="menu" aria-label={t('header.account')} onKeyDown={onMenuKey}>
            {me && (
              <li role="none" className="menu-head">
                <strong>{me.display_name}</strong>
                <span className="muted small">{me.email}</span>
              </li>
            )}
            <li role="none">
              <button
                type="button"
                role="menuitem"
                tabIndex={-1}
                onClick={() => {
                  setOpen(false);
                  navigate('/settings/security');
                }}
              >
                {t('header.editProfile')}
              </button>
            </li>
            <li role="none">
              <button
                type="button"
                role="menuitem"
                tabIndex={-1}
                onClick={() => {
                  setOpen(false);
                  void signOut().then(() => navigate('/login', { replace: true }));
                }}
              >
                {t('header.signOut')}
              </button>
            </li>
          </ul>
        )}
      </div>
    </header>
  );
}
