import { useRef, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { navigate, useLocation } from '@/lib/router';
import { AuditPanel } from './AuditPanel';
import { SettingsPanel } from './SettingsPanel';
import { SsoAppsPanel } from './SsoAppsPanel';
import { UsersPanel } from './UsersPanel';

// The tab's name is `page.tabs.<id>` in the admin catalog.
const TABS = [
  { id: 'users', panel: UsersPanel },
  { id: 'settings', panel: SettingsPanel },
  { id: 'sso', panel: SsoAppsPanel },
  { id: 'audit', panel: AuditPanel },
] as const;

/** Administration: tabs (WAI-ARIA tabs pattern, arrow keys move between them), kept in `?tab=`. */
export function AdminPage() {
  const { t } = useTranslation('admin');
  const { search } = useLocation();
  const current = TABS.find((tab) => tab.id === search.get('tab')) ?? TABS[0];
  const refs = useRef<(HTMLButtonElement | null)[]>([]);

  function select(i: number) {
    const tab = TABS[(i + TABS.length) % TABS.length]!;
    navigate(`/admin?tab=${tab.id}`, { replace: true });
    refs.current[(i + TABS.length) % TABS.length]?.focus();
  }

  function onKeyDown(e: KeyboardEvent, i: number) {
    if (e.key === 'ArrowRight') select(i + 1);
    else if (e.key === 'ArrowLeft') select(i - 1);
    else if (e.key === 'Home') select(0);
    else if (e.key === 'End') select(TABS.length - 1);
    else return;
    e.preventDefault();
  }

  const Panel = current.panel;
  return (
    <main className="page">
      <h1>{t('page.title')}</h1>
      <div role="tablist" aria-label={t('page.title')} className="tabs">
        {TABS.map((tab, i) => (
          <button
            key={tab.id}
            ref={(el) => {
              refs.current[i] = el;
            }}
            role="tab"
            id={`tab-${tab.id}`}
            aria-selected={tab.id === current.id}
            aria-controls={`panel-${tab.id}`}
            tabIndex={tab.id === current.id ? 0 : -1}
            onClick={() => select(i)}
            onKeyDown={(e) => onKeyDown(e, i)}
          >
            {t(`page.tabs.${tab.id}`)}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${current.id}`} aria-labelledby={`tab-${current.id}`} className="card">
        <Panel />
      </div>
    </main>
  );
}
