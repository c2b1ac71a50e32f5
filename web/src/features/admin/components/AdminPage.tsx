import { useRef, type KeyboardEvent } from 'react';
import { navigate, useLocation } from '@/lib/router';
import { AuditPanel } from './AuditPanel';
import { SettingsPanel } from './SettingsPanel';
import { SsoAppsPanel } from './SsoAppsPanel';
import { UsersPanel } from './UsersPanel';

const TABS = [
  { id: 'users', label: 'Users', panel: UsersPanel },
  { id: 'settings', label: 'Site settings', panel: SettingsPanel },
  { id: 'sso', label: 'SSO applications', panel: SsoAppsPanel },
  { id: 'audit', label: 'Audit log', panel: AuditPanel },
] as const;

/** Administration: tabs (WAI-ARIA tabs pattern, arrow keys move between them), kept in `?tab=`. */
export function AdminPage() {
  const { search } = useLocation();
  const current = TABS.find((t) => t.id === search.get('tab')) ?? TABS[0];
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
      <h1>Administration</h1>
      <div role="tablist" aria-label="Administration" className="tabs">
        {TABS.map((t, i) => (
          <button
            key={t.id}
            ref={(el) => {
              refs.current[i] = el;
            }}
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={t.id === current.id}
            aria-controls={`panel-${t.id}`}
            tabIndex={t.id === current.id ? 0 : -1}
            onClick={() => select(i)}
            onKeyDown={(e) => onKeyDown(e, i)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${current.id}`} aria-labelledby={`tab-${current.id}`} className="card">
        <Panel />
      </div>
    </main>
  );
}
