import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Alert, Loading } from '@/components/Alert';
import { Button } from '@/components/Button';
import { Dialog } from '@/components/Dialog';
import { problemMessage } from '@/lib/problem';
import { ReauthCancelled, useSensitive } from '@/lib/reauth';
import { useAction } from '@/lib/use-async';
import { downloadBackupCodes, saveTextFile } from '../api/download-backup-codes';
import { getBackupCodes, type BackupCodes } from '../api/get-backup-codes';
import { regenerateBackupCodes } from '../api/regenerate-backup-codes';
import { BackupCodeList } from './BackupCodeList';

/** "View Backup Codes": each code with its status, Download, Generate new codes. */
export function BackupCodesDialog({
  onClose,
  onChanged,
  ...focus
}: { onClose: () => void; onChanged: () => void; opener?: HTMLElement | null; fallbackFocus?: HTMLElement | null }) {
  const { t } = useTranslation('security');
  const sensitive = useSensitive();
  const [codes, setCodes] = useState<BackupCodes | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useAction(async () => {
    try {
      setCodes(await sensitive(getBackupCodes));
    } catch (err) {
      if (err instanceof ReauthCancelled) onClose();
      throw err;
    }
  });

  useEffect(() => {
    void load.run();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const download = useAction(async () => {
    const text = await sensitive(downloadBackupCodes);
    saveTextFile(text);
    setNotice(t('backupCodes.downloaded'));
    setCodes((c) => (c ? { ...c, downloaded_at: new Date().toISOString() } : c));
    onChanged();
  });

  const regenerate = useAction(async () => {
    await sensitive(regenerateBackupCodes);
    setConfirming(false);
    setNotice(t('backupCodes.generated'));
    setCodes(await sensitive(getBackupCodes));
    onChanged();
  });

  const error = load.error ?? download.error ?? regenerate.error;
  const busy = download.pending || regenerate.pending;

  return (
    <Dialog
      {...focus}
      title={t('backupCodes.title')}
      onClose={onClose}
      dismissable={!busy}
      footer={
        confirming ? (
          <>
            <Button onClick={() => setConfirming(false)} disabled={regenerate.pending}>
              {t('actions.cancel')}
            </Button>
            <Button variant="danger" onClick={() => void regenerate.run()} busy={regenerate.pending} autoFocus>
              {t('backupCodes.generate')}
            </Button>
          </>
        ) : (
          <>
            <Button onClick={() => setConfirming(true)} disabled={!codes || busy}>
              {t('backupCodes.generate')}
            </Button>
            <Button variant="primary" onClick={() => void download.run()} busy={download.pending} disabled={!codes}>
              {t('actions.download')}
            </Button>
          </>
        )
      }
    >
      {/* The help page's words, the same for every method. */}
      <p>{t('backupCodes.keepSafe')}</p>
      <Alert>{error ? problemMessage(error) : null}</Alert>
      <Alert kind="success">{notice}</Alert>
      {confirming && (
        <Alert kind="warning">{t('backupCodes.confirmGenerate')}</Alert>
      )}
      {load.pending && !codes && <Loading label={t('backupCodes.loading')} />}
      {codes && (
        <>
          <p className="muted">
            {t(codes.downloaded_at ? 'backupCodes.unused' : 'backupCodes.unusedNotDownloaded', {
              unused: codes.codes.filter((c) => !c.used).length,
              total: codes.codes.length,
            })}
          </p>
          <BackupCodeList codes={codes.codes} />
        </>
      )}
    </Dialog>
  );
}
