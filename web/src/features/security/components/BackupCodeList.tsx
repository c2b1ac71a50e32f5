import { useTranslation } from 'react-i18next';

export function BackupCodeList({ codes }: { codes: { code: string; used?: boolean }[] }) {
  const { t } = useTranslation('security');
  return (
    <ul className="backup-codes" aria-label={t('backupCodes.listLabel')}>
      {codes.map((c) => (
        <li key={c.code} className={c.used ? 'used' : undefined}>
          <code>{c.code}</code>
          {c.used !== undefined && (
            <span className={`badge ${c.used ? 'badge-muted' : 'badge-ok'}`}>{c.used ? t('backupCodes.used') : t('backupCodes.unusedBadge')}</span>
          )}
        </li>
      ))}
    </ul>
  );
}
