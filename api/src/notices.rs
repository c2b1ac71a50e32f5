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

pub use crate::mail::letters::{ConnectionLine, Letter, Notice, Recipient};

/// Queues `letter` to `to`, in their language; call inside the transaction of the change. The
/// body is sealed: it may hold a secret such as a reset link.
pub fn queue(
    conn: &mut AnyConnection,
    key: &DataKey,
    to: &Recipient<'_>,
    letter: &Letter<'_>,
    now: i64,
) -> Result<(), DbError> {
    outbox::enqueue(conn, &sealed(key, to, letter, now))?;
    Ok(())
}

/// The outbox row [`queue`] inserts: `letter` in `to`'s language, sealed under the data key,
/// due at once.
pub fn sealed(key: &DataKey, to: &Recipient<'_>, letter: &Letter<'_>, now: i64) -> OutboxRow {
    let composed = letter.compose(to.locale);
    sealed_text(key, to.email, &composed.subject, &composed.text, now)
}

/// An outbox row of a composed mail: the body sealed under the data key, due at once.
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
