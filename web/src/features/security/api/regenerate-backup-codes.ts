import { api, call } from '@/lib/api-client';

export async function regenerateBackupCodes(): Promise<string[]> {
  const data = await call(api.POST('/api/v1/me/2fa/backup-codes/regenerate'));
  return data.backup_codes;
}
