import type { TwoFactorStatus } from '../api/get-2fa-status';

/**
 * The prompt to download the backup codes stays while 2FA is on and the current set of codes
 * has never been downloaded (regenerating sets `downloaded_at` back to null).
 */
export function shouldPromptDownload(status: TwoFactorStatus | null | undefined): boolean {
  if (!status?.enabled) return false;
  const codes = status.backup_codes;
  if (!codes) return false;
  return codes.downloaded_at == null;
}
