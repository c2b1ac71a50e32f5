import { Button } from '@/components/Button';
import type { TwoFactorStatus } from '../api/get-2fa-status';
import { shouldPromptDownload } from './download-prompt';

export function DownloadBanner({ status, onView }: { status: TwoFactorStatus | null | undefined; onView: () => void }) {
  if (!shouldPromptDownload(status)) return null;
  return (
    <div className="alert alert-warning banner" role="status">
      <p>
        <strong>Download your backup codes.</strong> If you lose access to your{' '}
        {status?.method === 'email' ? 'e-mail' : 'authenticator app'}, a backup code is the only way to sign in. Keep them
        somewhere safe.
      </p>
      <Button variant="primary" onClick={onView}>
        View Backup Codes
      </Button>
    </div>
  );
}
