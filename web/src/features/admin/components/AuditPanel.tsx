import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Alert, Loading } from '@/components/Alert';
import { Button } from '@/components/Button';
import { Field } from '@/components/Field';
import { problemMessage } from '@/lib/problem';
import { useAction, useAsync } from '@/lib/use-async';
import { listAuditEvents, type AuditEvent } from '../api/audit-events';
import { listUsers } from '../api/users';
import { formatTime } from '@/lib/format';

const PAGE = 50;

export function AuditPanel() {
  const { t } = useTranslation('admin');
  const users = useAsync(listUsers, []);
  const [filters, setFilters] = useState({ user_id: '', kind: '' });
  const [applied, setApplied] = useState(filters);
  const [events, setEvents] = useState<AuditEvent[] | null>(null);
  const [next, setNext] = useState<string | null>(null);

  const query = (before?: string) => ({
    limit: PAGE,
    ...(applied.user_id ? { user_id: applied.user_id } : {}),
    ...(applied.kind.trim() ? { kind: applied.kind.trim() } : {}),
    ...(before ? { before } : {}),
  });

  const first = useAction(async () => {
    const page = await listAuditEvents(query());
    setEvents(page.events);
    setNext(page.next_before ?? null);
  });
  const more = useAction(async () => {
    if (!next) return;
    const page = await listAuditEvents(query(next));
    setEvents((e) => [...(e ?? []), ...page.events]);
    setNext(page.next_before ?? null);
  });

  useEffect(() => {
    void first.run();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [applied]);

  const emailOf = (id: string | null | undefined) => (id ? users.data?.find((u) => u.id === id)?.email ?? id : '—');

  function submit(e: FormEvent) {
    e.preventDefault();
    setApplied({ ...filters });
  }

  return (
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">{t('audit.title')}</h2>
      <form className="filters" onSubmit={submit}>
        <div className="field">
          <label htmlFor="audit-user">{t('audit.user')}</label>
          <select id="audit-user" value={filters.user_id} onChange={(e) => setFilters({ ...filters, user_id: e.target.value })}>
            <option value="">{t('audit.everyone')}</option>
            {users.data?.map((u) => (
              <option key={u.id} value={u.id}>
                {u.email}
              </option>
            ))}
          </select>
        </div>
        <Field
          label={t('audit.kind')}
          value={filters.kind}
          placeholder={t('audit.kindPlaceholder')}
          onChange={(e) => setFilters({ ...filters, kind: e.target.value })}
        />
        <Button type="submit" variant="primary">
          {t('audit.filter')}
        </Button>
      </form>
      <Alert>{first.error ? problemMessage(first.error) : more.error ? problemMessage(more.error) : null}</Alert>
      {first.pending && <Loading />}
      {events && events.length === 0 && !first.pending && <p className="empty">{t('audit.empty')}</p>}
      {events && events.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t('audit.columns.time')}</th>
                <th scope="col">{t('audit.columns.event')}</th>
                <th scope="col">{t('audit.columns.user')}</th>
                <th scope="col">{t('audit.columns.by')}</th>
                <th scope="col">{t('audit.columns.address')}</th>
                <th scope="col">{t('audit.columns.details')}</th>
              </tr>
            </thead>
            <tbody>
              {events.map((ev) => (
                <tr key={ev.id}>
                  <td>{formatTime(ev.at)}</td>
                  <td>
                    <code>{ev.kind}</code>
                  </td>
                  <td>{emailOf(ev.user_id)}</td>
                  <td>{ev.actor_id && ev.actor_id !== ev.user_id ? emailOf(ev.actor_id) : '—'}</td>
                  <td>{ev.ip ?? '—'}</td>
                  <td className="details">{ev.details && Object.keys(ev.details as object).length ? JSON.stringify(ev.details) : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next && (
        <Button onClick={() => void more.run()} busy={more.pending}>
          {t('audit.loadMore')}
        </Button>
      )}
    </section>
  );
}
