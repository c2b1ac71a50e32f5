//! Security notices by e-mail: queued in the outbox inside the transaction of the change they
//! announce, then sent and retried by a background task. An SMTP outage never blocks or undoes
//! a security action, and no notice is lost.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::auth::secrets::DataKey;
use crate::db::outbox::{self, OutboxRow};
use crate::db::{AnyConnection, Db, DbError};
use crate::mail::{Mailer, OutgoingMail};

const OUTBOX_AAD: &[u8] = b"outbox";

/// The notices the service sends.
#[derive(Debug, Clone, Copy)]
pub enum Notice {
    TwoFactorEnabled,
    TwoFactorDisabled,
    BackupCodesRegenerated,
    BackupCodesRunningLow,
    TwoFactorResetByAdmin,
    SecondFactorGuessed,
}

impl Notice {
    fn subject_and_text(self) -> (&'static str, &'static str) {
        match self {
            Self::TwoFactorEnabled => (
                "Two-factor authentication is on",
                "Two-factor authentication was turned on for your CloudCX account.\n\nIf this was not you, contact your administrator at once.",
            ),
            Self::TwoFactorDisabled => (
                "Two-factor authentication is off",
                "Two-factor authentication was turned off for your CloudCX account.\n\nIf this was not you, change your password and contact your administrator.",
            ),
            Self::BackupCodesRegenerated => (
                "New backup codes",
                "A new set of backup codes was generated for your CloudCX account. The old codes no longer work.",
            ),
            Self::BackupCodesRunningLow => (
                "Only two backup codes left",
                "You have only two unused backup codes left for your CloudCX account. Generate a new set in Security Settings.",
            ),
            Self::TwoFactorResetByAdmin => (
                "Your two-factor authentication was reset",
                "An administrator removed the two-factor authentication and the passkeys of your CloudCX account and signed you out everywhere. Set them up again after your next sign-in.",
            ),
            Self::SecondFactorGuessed => (
                "Someone is trying to sign in to your account",
                "Several wrong second-factor codes were entered for your CloudCX account. Your password may be known to someone else: change it and contact your administrator.",
            ),
        }
    }
}

/// An SSO connection as a reset mail names it: the application's display name and the external
/// account's e-mail, if the provider gave one.
#[derive(Debug, Clone)]
pub struct ConnectionLine {
    pub application: String,
    pub email: Option<String>,
}

impl ConnectionLine {
    fn line(&self) -> String {
        match &self.email {
            Some(e) => format!("- {} ({e})", self.application),
            None => format!("- {}", self.application),
        }
    }
}

/// Subject and text of the mail after a password reset: every device was signed out; the SSO
/// connections made since the previous password was set were removed (someone who knew that
/// password could have made them) and are named; the remaining ones are listed with how to
/// disconnect each.
pub fn password_reset_text(removed: &[ConnectionLine], kept: &[ConnectionLine]) -> (&'static str, String) {
    let mut text = String::from(
        "The password of your CloudCX account was reset with a link and every device was signed out. If this was not you, contact your administrator at once.",
    );
    if !removed.is_empty() {
        text.push_str(
            "\n\nThese single sign-on accounts were connected since your previous password was set, so someone who knew it could have connected them. They were disconnected; connect them again from Security Settings if they are yours:\n",
        );
        text.push_str(&removed.iter().map(ConnectionLine::line).collect::<Vec<_>>().join("\n"));
    }
    if !kept.is_empty() {
        text.push_str("\n\nThese single sign-on accounts remain connected and can still sign you in:\n");
        text.push_str(&kept.iter().map(ConnectionLine::line).collect::<Vec<_>>().join("\n"));
        text.push_str(
            "\nIf one of them is not yours, sign in and disconnect it: Security Settings > Single Sign-On (SSO) > Disconnect.",
        );
    }
    ("Your CloudCX password was reset", text)
}

/// Subject and text of the mail after a passkey named `name` was added to the account.
pub fn passkey_added_text(name: &str) -> (&'static str, String) {
    (
        "A passkey was added to your CloudCX account",
        format!(
            "A passkey named \"{name}\" was added to your CloudCX account. It can sign you in without your password.\n\nIf this was not you, remove it in Security Settings > Passkeys, change your password and contact your administrator."
        ),
    )
}

/// Subject and text of the mail after a passkey named `name` was removed from the account.
pub fn passkey_removed_text(name: &str) -> (&'static str, String) {
    (
        "A passkey was removed from your CloudCX account",
        format!(
            "The passkey named \"{name}\" was removed from your CloudCX account and can no longer sign you in.\n\nIf this was not you, change your password and contact your administrator."
        ),
    )
}

/// Queues a notice to `to`; call inside the transaction of the change.
pub fn queue(conn: &mut AnyConnection, key: &DataKey, to: &str, notice: Notice, now: i64) -> Result<(), DbError> {
    let (subject, text) = notice.subject_and_text();
    queue_text(conn, key, to, subject, text, now)
}

/// Queues any text (sealed: a body may hold a secret such as a reset link).
pub fn queue_text(
    conn: &mut AnyConnection,
    key: &DataKey,
    to: &str,
    subject: &str,
    text: &str,
    now: i64,
) -> Result<(), DbError> {
    outbox::enqueue(conn, &sealed_text(key, to, subject, text, now))?;
    Ok(())
}

/// The outbox row [`queue_text`] inserts: the body sealed under the data key, due at once.
pub fn sealed_text(key: &DataKey, to: &str, subject: &str, text: &str, now: i64) -> OutboxRow {
    OutboxRow {
        id: uuid::Uuid::now_v7().to_string(),
        recipient: to.to_string(),
        subject: subject.to_string(),
        sealed_body: key.seal(text.as_bytes(), OUTBOX_AAD),
        created_at: now,
        attempts: 0,
        next_attempt_at: now,
        sent_at: None,
        last_error: None,
    }
}

/// Sends due notices until the process ends: woken at once after a change, and every few
/// seconds for retries.
pub fn spawn_sender(db: Db, key: DataKey, mailer: Mailer, clock: Arc<dyn crate::clock::Clock>, wake: Arc<Notify>) {
    tokio::spawn(async move {
        let mut unconfirmed = Vec::new();
        loop {
            if let Err(e) = send_due(&db, &key, &mailer, clock.as_ref(), &mut unconfirmed).await {
                tracing::warn!(error = %e, "outbox: a pass over the due notices stopped (will retry)");
            }
            let _ = tokio::time::timeout(Duration::from_secs(2), wake.notified()).await;
        }
    });
}

/// One pass over the due notices. `unconfirmed` holds notices the mail server took but whose
/// delivery could not be recorded (the database went away meanwhile): they are recorded first,
/// so a short outage does not make them go out twice when their lease lapses.
pub async fn send_due(
    db: &Db,
    key: &DataKey,
    mailer: &Mailer,
    clock: &dyn crate::clock::Clock,
    unconfirmed: &mut Vec<(String, i64)>,
) -> Result<(), DbError> {
    while let Some((id, at)) = unconfirmed.last().cloned() {
        db.run(move |conn| outbox::mark_sent(conn, &id, at).map_err(DbError::from)).await?;
        unconfirmed.pop();
    }
    let now = clock.unix();
    let due = db.run(move |conn| outbox::due(conn, now, 20).map_err(DbError::from)).await?;
    for row in due {
        let (id, now) = (row.id.clone(), clock.unix());
        // A lease: another instance will not send the same row meanwhile.
        if !db.run(move |conn| outbox::claim(conn, &id, now, 120).map_err(DbError::from)).await? {
            continue;
        }
        let body = match key.open(&row.sealed_body, OUTBOX_AAD) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(_) => {
                tracing::error!(id = %row.id, "outbox: a body could not be opened with this AUTH_DATA_KEY");
                continue;
            }
        };
        let mail = OutgoingMail { to: row.recipient.clone(), subject: row.subject.clone(), text: body };
        let result = mailer.send(&mail).await;
        let now = clock.unix();
        match result {
            Ok(()) => {
                let id = row.id.clone();
                if let Err(e) = db.run(move |conn| outbox::mark_sent(conn, &id, now).map_err(DbError::from)).await {
                    unconfirmed.push((row.id.clone(), now));
                    return Err(e);
                }
            }
            Err(e) => {
                // The mail server's words, never the body (it may hold a reset link).
                let err = e.to_string();
                tracing::warn!(id = %row.id, attempts = row.attempts + 1, error = %err, "outbox: delivery failed, will retry");
                db.run(move |conn| outbox::mark_failed(conn, &row, &err, now).map_err(DbError::from)).await?;
            }
        }
    }
    Ok(())
}
