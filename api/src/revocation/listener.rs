//! Keeps a [`View`] in step with the log: one thread per instance with a connection of its own
//! (never one of the pool's, so a busy pool cannot delay it). On PostgreSQL it `LISTEN`s on
//! [`CHANNEL`](crate::db::revocations::CHANNEL) and reads the log as soon as a notification
//! arrives; on both databases it also reads the log every poll interval, which confirms the view
//! (see [`View::trusted`]) and catches anything a lost notification would have missed. A lost
//! connection (a restart, `pg_terminate_backend`) is opened again and the log read from the last
//! position applied; a view that went stale meanwhile starts afresh.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;

use super::View;
use crate::clock::Clock;
use crate::db::{revocations, AnyConnection, DbTarget};

/// How often a listening connection looks for a notification between reads of the log.
const NOTIFICATION_CHECK: Duration = Duration::from_millis(5);

/// `application_name` of the listening connection (operators and tests find it by it).
pub const APPLICATION_NAME: &str = "cloudcx-auth-revocations";

/// Starts the thread; it ends by itself once the view is dropped (the application stopped).
pub fn spawn(view: &Arc<View>, target: DbTarget, poll: Duration, clock: Arc<dyn Clock>) {
    let view = Arc::downgrade(view);
    let spawned = std::thread::Builder::new().name("revocations".into()).spawn(move || run(view, target, poll, clock));
    if let Err(e) = spawned {
        tracing::error!(error = %e, "the revocation listener could not start: every check asks the database");
    }
}

fn run(view: Weak<View>, target: DbTarget, poll: Duration, clock: Arc<dyn Clock>) {
    let mut conn: Option<AnyConnection> = None;
    let mut failures = 0u32;
    loop {
        let Some(v) = view.upgrade() else { return };
        if conn.is_none() {
            match open(&target) {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    failures += 1;
                    if failures == 1 || failures.is_multiple_of(100) {
                        tracing::warn!(error = %e, failures, "revocation log: cannot connect; checks ask the database meanwhile");
                    }
                    drop(v);
                    std::thread::sleep(poll.min(Duration::from_millis(250)));
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        // A stale view (never started, or out of touch too long) starts afresh; else read on.
        let read = if v.trusted() { v.catch_up(c) } else { v.start_afresh(c, clock.unix()) };
        match read {
            Ok(()) => {
                if failures > 0 {
                    tracing::info!(failures, "revocation log: reading again");
                }
                failures = 0;
                v.prune(clock.unix());
            }
            Err(e) => {
                failures += 1;
                tracing::warn!(error = %e, "revocation log: reading failed; reconnecting");
                conn = None;
                continue;
            }
        }
        drop(v);
        if !wait(&view, conn.as_mut(), poll) {
            conn = None;
        }
    }
}

/// Waits up to `poll`, returning early when a notification arrives. False when the connection broke.
fn wait(view: &Weak<View>, conn: Option<&mut AnyConnection>, poll: Duration) -> bool {
    let until = Instant::now() + poll;
    match conn {
        Some(AnyConnection::Postgresql(pg)) => {
            while Instant::now() < until {
                if view.strong_count() == 0 {
                    return true;
                }
                let mut woken = false;
                for n in pg.notifications_iter() {
                    match n {
                        Ok(_) => woken = true,
                        Err(_) => return false,
                    }
                }
                if woken {
                    return true;
                }
                std::thread::sleep(NOTIFICATION_CHECK);
            }
            true
        }
        _ => {
            while Instant::now() < until && view.strong_count() > 0 {
                std::thread::sleep(NOTIFICATION_CHECK.max(Duration::from_millis(20)).min(poll));
            }
            true
        }
    }
}

fn open(target: &DbTarget) -> Result<AnyConnection, String> {
    match target {
        DbTarget::Postgres(url) => {
            let url = crate::db::with_application_name(url, APPLICATION_NAME);
            let mut pg = crate::db::pg_establish(&url).map_err(|e| e.to_string())?;
            pg.batch_execute(&format!("LISTEN {}", revocations::CHANNEL)).map_err(|e| e.to_string())?;
            Ok(AnyConnection::Postgresql(pg))
        }
        DbTarget::Sqlite(path) => {
            use diesel::Connection;
            let mut c = diesel::SqliteConnection::establish(path).map_err(|e| e.to_string())?;
            c.batch_execute("PRAGMA busy_timeout = 10000;").map_err(|e| e.to_string())?;
            Ok(AnyConnection::Sqlite(c))
        }
    }
}
