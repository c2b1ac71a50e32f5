import { useEffect, useState } from 'react';
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
export function BackupCodesDialog({ onClose, onChanged }: { onClose: () => void; onChanged: () => void }) {
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
    setNotice('Backup codes downloaded as cloudcx-backup-codes.txt.');
    setCodes((c) => (c ? { ...c, downloaded_at: new Date().toISOString() } : c));
    onChanged();
  });

  const regenerate = useAction(async () => {
    await sensitive(regenerateBackupCodes);
    setConfirming(false);
    setNotice('New backup codes generated. The old codes no longer work: download the new ones.');
    setCodes(await sensitive(getBackupCodes));
    onChanged();
  });

  const error = load.error ?? download.error ?? regenerate.error;
  const busy = download.pending || regenerate.pending;

  return (
    <Dialog
      title="Backup Codes"
      onClose={onClose}
      dismissable={!busy}
      footer={
        confirming ? (
          <>
            <Button onClick={() => setConfirming(false)} disabled={regenerate.pending}>
              Cancel
            </Button>
            <Button variant="danger" onClick={() => void regenerate.run()} busy={regenerate.pending} autoFocus>
              Generate new codes
            </Button>
          </>
        ) : (
          <>
            <Button onClick={() => setConfirming(true)} disabled={!codes || busy}>
              Generate new codes
            </Button>
            <Button variant="primary" onClick={() => void download.run()} busy={download.pending} disabled={!codes}>
              Download
            </Button>
          </>
        )
      }
    >
      <p>Each backup code signs you in once when you cannot use your usual method. Keep them somewhere safe.</p>
      <Alert>{error ? problemMessage(error) : null}</Alert>
      <Alert kind="success">{notice}</Alert>
      {confirming && (
        <Alert kind="warning">Generate new codes? Your current backup codes will stop working at once.</Alert>
      )}
      {load.pending && !codes && <Loading label="Loading backup codes…" />}
      {codes && (
        <>
          <p className="muted">
            {codes.codes.filter((c) => !c.used).length} of {codes.codes.length} codes unused
            {codes.downloaded_at ? '' : ' · not downloaded yet'}
          </p>
          <BackupCodeList codes={codes.codes} />
        </>
      )}
    </Dialog>
  );
}
