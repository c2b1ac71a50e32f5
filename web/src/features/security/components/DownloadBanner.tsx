import type { MouseEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Button } from '@/components/Button';
import type { TwoFactorStatus } from '../api/get-2fa-status';
import { shouldPromptDownload } from './download-prompt';

export function DownloadBanner({ status, onView }: { status: TwoFactorStatus | null | undefined; onView: (e: MouseEvent<HTMLButtonElement>) => void }) {
  const { t } = useTranslation('security');
  if (!shouldPromptDownload(status)) return null;
  return (
    <div className="alert alert-warning banner" role="status">
      <p>
        <strong>{t('downloadBanner.title')}</strong>{' '}
        {status?.method === 'email' ? t('downloadBanner.textEmail') : t('downloadBanner.textTotp')}
      </p>
      <Button variant="primary" onClick={onView}>
        {t('twoFactor.viewBackupCodes')}
      </Button>
    </div>
  );
}
