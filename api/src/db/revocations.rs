//! The revocation log: a durable, ordered record of every change that ends or alters what a token
//! grants. Each instance's in-process view ([`crate::revocation::View`]) reads it from the last
//! position it saw, so bearer checks and introspection need no query of their own.
//!
//! A change calls [`record`] inside its [`write_tx`](super::write_tx); the rows are written by
//! [`flush`] just before the commit, under one lock: PostgreSQL's advisory lock
//! [`LOG_LOCK_KEY`] (held to the commit), SQLite's one write lock (`BEGIN IMMEDIATE`). So the
//! order of `seq` is the order of the commits, and a reader that saw `seq` n has seen every row
//! below it: a row never commits "behind" a position a reader already passed. Taking the lock last
//! also means a transaction waiting for it holds nothing another log writer could wait for.
//! The same commit notifies channel [`CHANNEL`], which wakes the other instances at once.

use std::cell::RefCell;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::schema::revocations;
use super::AnyConnection;

/// The PostgreSQL channel the commit of a revocation notifies.
pub const CHANNEL: &str = "cx_revocations";

/// Arbitrary but fixed key of the advisory lock that orders writers of the log.
const LOG_LOCK_KEY: i64 = 0x0C1D_7E70;

/// What a revoking change changed: the view forgets or refuses what depended on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A session (refresh family) ended: every access token naming it (`sid`) is dead.
    Session(String),
    /// A user's row or second factors changed, or the user was deleted: cached copies are stale.
    User(String),
    /// A site's settings changed (e.g. `require_2fa`, which a token's `mfa_setup_required` follows).
    Tenant(String),
    /// A service client was deleted: its tokens and its secret are dead.
    Client(String),
}

impl Change {
    fn parts(&self) -> (&'static str, &str) {
        match self {
            Self::Session(id) => ("session", id),
            Self::User(id) => ("user", id),
            Self::Tenant(id) => ("tenant", id),
            Self::Client(id) => ("client", id),
        }
    }

    fn from_parts(kind: &str, subject: String) -> Option<Self> {
        Some(match kind {
            "session" => Self::Session(subject),
            "user" => Self::User(subject),
            "tenant" => Self::Tenant(subject),
            "client" => Self::Client(subject),
            _ => return None,
        })
    }
}

/// One row of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: i64,
    pub change: Change,
    pub created_at: i64,
}

thread_local! {
    /// Changes recorded by the write transaction running on this thread, written at its commit.
    static PENDING: RefCell<Option<Vec<(Change, i64)>>> = const { RefCell::new(None) };
    /// Set when a transaction of this thread committed rows to the log, until [`take_committed`].
    static COMMITTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Records `change` as part of the current write transaction (written at its commit, gone with its
/// rollback). Outside a write transaction it is written at once, in a transaction of its own.
pub fn record(conn: &mut AnyConnection, change: Change, now: i64) -> QueryResult<()> {
    let queued = PENDING.with(|p| match p.borrow_mut().as_mut() {
        Some(list) => {
            if !list.iter().any(|(c, _)| *c == change) {
                list.push((change.clone(), now));
            }
            true
        }
        None => false,
    });
    if !queued {
        super::write_tx(conn, |conn| record(conn, change, now))?;
    }
    Ok(())
}

/// Called by `write_tx` when it begins: the thread's pending list starts empty. Returns whether
/// this is the outermost transaction (a nested one leaves the list to it).
pub(super) fn begin() -> bool {
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        let outermost = p.is_none();
        if outermost {
            *p = Some(Vec::new());
        }
        outermost
    })
}

/// Called by `write_tx` when it ends without committing: the recorded changes are dropped.
pub(super) fn abandon() {
    PENDING.with(|p| *p.borrow_mut() = None);
}

/// Called by `write_tx` just before its commit: writes the recorded changes under the log's lock
/// and notifies [`CHANNEL`] (delivered at the commit). Returns whether anything was written.
pub(super) fn flush(conn: &mut AnyConnection) -> QueryResult<bool> {
    let pending = PENDING.with(|p| p.borrow_mut().take()).unwrap_or_default();
    if pending.is_empty() {
        return Ok(false);
    }
    if let AnyConnection::Postgresql(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1), pg_notify($2, '')")
            .bind::<BigInt, _>(LOG_LOCK_KEY)
            .bind::<Text, _>(CHANNEL)
            .execute(pg)?;
    }
    // One row per statement: a multi-row insert is not in what both databases share (diesel's
    // `MultiConnection`); a revoking change writes a handful at most.
    for (change, now) in &pending {
        let (kind, subject) = change.parts();
        diesel::insert_into(revocations::table)
            .values((revocations::kind.eq(kind), revocations::subject.eq(subject), revocations::created_at.eq(*now)))
            .execute(conn)?;
    }
    Ok(true)
}

/// Called by `write_tx` after a commit that wrote rows to the log.
pub(super) fn mark_committed() {
    COMMITTED.with(|c| c.set(true));
}

/// Whether a transaction of this thread committed rows to the log since the last call (the
/// instance then brings its view up to date before answering: "at once on the instance that made it").
pub fn take_committed() -> bool {
    COMMITTED.with(|c| c.replace(false))
}

/// The rows after `seq`, in order, at most `limit`.
pub fn since(conn: &mut AnyConnection, seq: i64, limit: i64) -> QueryResult<Vec<Entry>> {
    let rows: Vec<(i64, String, String, i64)> = revocations::table
        .filter(revocations::seq.gt(seq))
        .order(revocations::seq.asc())
        .limit(limit)
        .select((revocations::seq, revocations::kind, revocations::subject, revocations::created_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(seq, kind, subject, created_at)| {
            Change::from_parts(&kind, subject).map(|change| Entry { seq, change, created_at })
        })
        .collect())
}

/// The last position of the log (0 when it is empty).
pub fn last_seq(conn: &mut AnyConnection) -> QueryResult<i64> {
    revocations::table.select(diesel::dsl::max(revocations::seq)).first::<Option<i64>>(conn).map(|m| m.unwrap_or(0))
}

/// The sessions ended since `since` (unix seconds), with when: what a view starting afresh must
/// refuse (older ones can have no live access token left).
pub fn sessions_ended_since(conn: &mut AnyConnection, since: i64) -> QueryResult<Vec<(String, i64)>> {
    revocations::table
        .filter(revocations::kind.eq("session"))
        .filter(revocations::created_at.gt(since))
        .select((revocations::subject, revocations::created_at))
        .load(conn)
}

/// Forgets rows older than `before`.
pub fn purge(conn: &mut AnyConnection, before: i64) -> QueryResult<usize> {
    diesel::delete(revocations::table.filter(revocations::created_at.lt(before))).execute(conn)
}
