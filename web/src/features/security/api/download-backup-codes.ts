import { api, call } from '@/lib/api-client';

export const BACKUP_CODES_FILE = 'cloudcx-backup-codes.txt';

/** The codes as the server's text file; the server records the download. */
export function downloadBackupCodes(): Promise<string> {
  return call(api.POST('/api/v1/me/2fa/backup-codes/download', { parseAs: 'text' })) as Promise<string>;
}

/** Hand `text` to the browser as a file download. */
export function saveTextFile(text: string, filename = BACKUP_CODES_FILE) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
