export function BackupCodeList({ codes }: { codes: { code: string; used?: boolean }[] }) {
  return (
    <ul className="backup-codes" aria-label="Backup codes">
      {codes.map((c) => (
        <li key={c.code} className={c.used ? 'used' : undefined}>
          <code>{c.code}</code>
          {c.used !== undefined && <span className={`badge ${c.used ? 'badge-muted' : 'badge-ok'}`}>{c.used ? 'Used' : 'Unused'}</span>}
        </li>
      ))}
    </ul>
  );
}
