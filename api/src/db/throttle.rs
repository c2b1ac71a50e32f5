//! Throttling state shared by every instance: consecutive password failures per submitted
//! (site, e-mail) and fixed-window request counters. Each change is one atomic statement.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Text};

use super::schema::login_throttle;
use super::statement::{Bind, Statement};
use super::AnyConnection;
use crate::on_each_backend;

/// From this many consecutive failures on, every further failure locks the account for a while.
pub const LOCK_AFTER_FAILURES: i32 = 10;
/// At this many consecutive failures the lock becomes a hard one: an admin unlock or 24 hours.
pub const HARD_LOCK_FAILURES: i32 = 100;
pub const HARD_LOCK_SECS: i64 = 24 * 3600;

/// The lock that follows `failures` consecutive failures, in seconds (0: none): 30 s at the
/// 10th, doubling with each further failure up to 1 hour, and 24 hours from the 100th.
pub fn lock_secs(failures: i32) -> i64 {
    if failures >= HARD_LOCK_FAILURES {
        HARD_LOCK_SECS
    } else if failures >= LOCK_AFTER_FAILURES {
        let doublings = (failures - LOCK_AFTER_FAILURES).min(12) as u32;
        (30_i64 << doublings).min(3600)
    } else {
        0
    }
}

#[derive(QueryableByName)]
struct Counter {
    #[diesel(sql_type = Integer)]
    n: i32,
}

/// Seconds until the lock on `key` lifts, if it is locked at `now`.
pub fn locked_for(conn: &mut AnyConnection, key: &str, now: i64) -> QueryResult<Option<i64>> {
    Ok(failures(conn, key, now)?.locked_for)
}

/// What the throttle holds for `key` at `now`.
#[derive(Debug, Clone, Copy)]
pub struct Failures {
    /// Failures are counted (a success has something to [`reset`]).
    pub counted: bool,
    /// Seconds until the lock lifts, if locked.
    pub locked_for: Option<i64>,
}

pub fn failures(conn: &mut AnyConnection, key: &str, now: i64) -> QueryResult<Failures> {
    let until: Option<Option<i64>> =
        login_throttle::table.find(key).select(login_throttle::locked_until).first(conn).optional()?;
    Ok(Failures { counted: until.is_some(), locked_for: until.flatten().filter(|u| *u > now).map(|u| u - now) })
}

/// Counts one more failure; returns the consecutive count and the lock it set (seconds), if any.
pub fn record_failure(conn: &mut AnyConnection, key: &str, now: i64) -> QueryResult<(i32, i64)> {
    let sql = "INSERT INTO login_throttle (key, failures, locked_until, last_failure_at) VALUES (?, 1, NULL, ?) \
               ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures + 1, \
               last_failure_at = excluded.last_failure_at RETURNING failures AS n";
    let failures =
        on_each_backend!(conn, sql, |c, q| q.bind::<Text, _>(key).bind::<BigInt, _>(now).get_result::<Counter>(c))?.n;
    let lock = lock_secs(failures);
    if lock > 0 {
        diesel::update(login_throttle::table.find(key))
            .set(login_throttle::locked_until.eq(now + lock))
            .execute(conn)?;
    }
    Ok((failures, lock))
}

/// A success: the count starts again.
pub fn reset(conn: &mut AnyConnection, key: &str) -> QueryResult<()> {
    diesel::delete(login_throttle::table.find(key)).execute(conn)?;
    Ok(())
}

/// Counts one request against `limit` per `window` seconds for `key`; `Err(retry_after)` past it.
pub fn hit(conn: &mut AnyConnection, key: &str, limit: u32, window: i64, now: i64) -> QueryResult<Result<(), i64>> {
    let window_start = now - now.rem_euclid(window);
    let sql = "INSERT INTO rate_limits (key, window_start, count) VALUES (?, ?, 1) \
               ON CONFLICT (key) DO UPDATE SET \
               count = CASE WHEN rate_limits.window_start = excluded.window_start THEN rate_limits.count + 1 ELSE 1 END, \
               window_start = excluded.window_start RETURNING count AS n";
    // Kept prepared: every sign-in request passes here first.
    let statement = Statement::new(sql, vec![Bind::Text(key), Bind::BigInt(window_start)]);
    let count = match conn {
        AnyConnection::Postgresql(c) => statement.get_result::<Counter>(c),
        AnyConnection::Sqlite(c) => statement.get_result::<Counter>(c),
    }?
    .n;
    if count as i64 > limit as i64 {
        Ok(Err(window_start + window - now))
    } else {
        Ok(Ok(()))
    }
}

/// The counter of [`hit`] and the account's throttle row, joined with `$extra` (PostgreSQL).
macro_rules! hit_and_failures_sql {
    ($extra:literal) => {
        concat!(
            "WITH hit AS (
    INSERT INTO rate_limits (key, window_start, count) VALUES (?, ?, 1)
    ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN rate_limits.window_start = excluded.window_start THEN rate_limits.count + 1 ELSE 1 END,
    window_start = excluded.window_start RETURNING count AS n
)
SELECT hit.n, t.key IS NOT NULL AS counted, t.locked_until FROM hit ",
            $extra,
            " LEFT JOIN login_throttle t ON t.key = ?"
        )
    };
}

/// [`hit_and_failures`] on PostgreSQL.
const HIT_AND_FAILURES_SQL: &str = hit_and_failures_sql!("");

/// [`HIT_AND_FAILURES_SQL`] committing asynchronously: `synchronous_commit` off for the
/// statement's own transaction only.
const HIT_AND_FAILURES_ASYNC_SQL: &str =
    hit_and_failures_sql!("CROSS JOIN (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit");

/// The fixed-window counter of [`hit`] and, in the same statement, what the throttle holds for
/// `account` ([`failures`]): the first database step of a password sign-in, one round trip on
/// PostgreSQL. `Err(retry_after)` once the budget is spent; the failures are read either way.
pub fn hit_and_failures(
    conn: &mut AnyConnection,
    key: &str,
    limit: u32,
    window: i64,
    now: i64,
    account: &str,
) -> QueryResult<(Result<(), i64>, Failures)> {
    let AnyConnection::Postgresql(pg) = conn else {
        return Ok((hit(conn, key, limit, window, now)?, failures(conn, account, now)?));
    };
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Integer)]
        n: i32,
        #[diesel(sql_type = Bool)]
        counted: bool,
        #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
        locked_until: Option<i64>,
    }
    // Outside a transaction (a sign-in's first step), the counter commits without waiting for
    // its WAL to reach the disk: a crash of PostgreSQL can forget the last fraction of a second
    // of counts, never a sign-in, a failure count or a lock. Inside one, the caller's commit decides.
    let in_transaction = matches!(
        <diesel::connection::AnsiTransactionManager as diesel::connection::TransactionManager<
            diesel::PgConnection,
        >>::transaction_manager_status_mut(pg)
        .transaction_depth(),
        Ok(Some(_)) | Err(_)
    );
    let sql = if in_transaction { HIT_AND_FAILURES_SQL } else { HIT_AND_FAILURES_ASYNC_SQL };
    let window_start = now - now.rem_euclid(window);
    let row: Row =
        Statement::new(sql, vec![Bind::Text(key), Bind::BigInt(window_start), Bind::Text(account)]).get_result(pg)?;
    let spent = if row.n as i64 > limit as i64 { Err(window_start + window - now) } else { Ok(()) };
    let failures =
        Failures { counted: row.counted, locked_for: row.locked_until.filter(|u| *u > now).map(|u| u - now) };
    Ok((spent, failures))
}

/// Drops counters whose window has passed (run now and then by the housekeeping task).
pub fn purge(conn: &mut AnyConnection, now: i64) -> QueryResult<usize> {
    use super::schema::rate_limits;
    diesel::delete(rate_limits::table.filter(rate_limits::window_start.lt(now - 3600))).execute(conn)
}

/// Which of `keys` are locked at `now`.
pub fn locked_keys(
    conn: &mut AnyConnection,
    keys: &[String],
    now: i64,
) -> QueryResult<std::collections::HashSet<String>> {
    let rows: Vec<String> = login_throttle::table
        .filter(login_throttle::key.eq_any(keys))
        .filter(login_throttle::locked_until.gt(now))
        .select(login_throttle::key)
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Lifts a password lock (admin unlock).
pub fn unlock(conn: &mut AnyConnection, key: &str) -> QueryResult<bool> {
    Ok(diesel::delete(login_throttle::table.find(key)).execute(conn)? == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_grows_from_the_tenth_failure_and_hardens_at_the_hundredth() {
        assert_eq!(lock_secs(9), 0);
        assert_eq!(lock_secs(10), 30);
        assert_eq!(lock_secs(11), 60);
        assert_eq!(lock_secs(40), 3600);
        assert_eq!(lock_secs(99), 3600);
        assert_eq!(lock_secs(100), HARD_LOCK_SECS);
    }
}
