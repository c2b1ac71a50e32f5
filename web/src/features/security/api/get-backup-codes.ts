import { api, call } from '@/lib/api-client';
import type { components } from '@/api/schema';

export type BackupCodes = components['schemas']['BackupCodesView'];

export function getBackupCodes(): Promise<BackupCodes> {
  return call(api.GET('/api/v1/me/2fa/backup-codes'));
}
