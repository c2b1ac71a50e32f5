//! Attempt accounting: every guess — a password, a one-time code, a backup code — is *reserved*
//! before it is checked, by one atomic conditional statement, and *settled* after: counted as a
//! failure (with the lock it brings) or given back on success (the consecutive count starts
//! again). A reservation is refused while a lock is in force, and while the guesses already in
//! flight could by themselves reach the next lock: below the first lock, settled failures plus
//! guesses in flight never exceed it; past it (a lock has lifted), one guess at a time. So
//! parallel guesses are admitted one by one in the database, whatever the number of requests
//! or instances, and a check and its count cannot drift apart.
//!
//! Two budgets share the mechanism: passwords per submitted (site, e-mail), second factors per
//! user. Their tables have the same shape (key, failures, locked_until, last_failure_at,
//! pending, reserved_at).

use std::sync::LazyLock;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};

use super::statement::{Bind, Statement};
use super::AnyConnection;

/// A reservation older than this is taken for one whose process died before settling it: it no
/// longer holds the budget. No check takes nearly as long.
pub const STALE_RESERVATION_SECS: i64 = 60;

/// One budget of guesses: where it is counted and the lock each count brings.
pub struct Budget {
    table: &'static str,
    key_column: &'static str,
    /// The lock (seconds, 0 for none) that the `n`-th consecutive failure sets.
    pub lock_secs: fn(i32) -> i64,
    /// From this many consecutive failures on, each further one locks.
    pub lock_after: i32,
    reserve_sql: &'static LazyLock<String>,
    settle_sql: &'static LazyLock<String>,
    give_back_sql: &'static LazyLock<String>,
}

/// What a reservation came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// The guess may be checked; it must then be settled ([`Budget::settle_failure`]) or given
    /// back ([`Budget::give_back`]).
    Reserved,
    /// A lock is in force: the guess is not checked.
    Refused { retry_after: i64 },
    /// The guesses in flight hold the budget for now: the guess is not checked yet (asking again
    /// a moment later may admit it, or meet the lock they brought).
    Busy,
}

/// A wrong guess, settled: the consecutive failures it makes, and the lock it set (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    pub count: i32,
    pub lock_secs: i64,
}

/// A successful guess to give back: the key it was reserved under.
#[derive(Debug, Clone, Copy)]
pub struct GiveBack<'a> {
    pub key: &'a str,
}

/// The row a first reservation inserts. Binds: key, now, now.
const VALUES: &str = "VALUES (?, 0, NULL, ?, 1, ?)";

static PASSWORD_RESERVE: LazyLock<String> = LazyLock::new(|| password_reserve_sql(VALUES));
static PASSWORD_SETTLE: LazyLock<String> = LazyLock::new(|| {
    settle_sql("login_throttle", "key", super::throttle::lock_secs, super::throttle::HARD_LOCK_FAILURES)
});
static PASSWORD_GIVE_BACK: LazyLock<String> = LazyLock::new(|| give_back_sql("login_throttle", "key"));
static SECOND_FACTOR_RESERVE: LazyLock<String> =
    LazyLock::new(|| reserve_sql("mfa_throttle", "user_id", super::mfa::MFA_LOCK_AFTER, VALUES));
static SECOND_FACTOR_SETTLE: LazyLock<String> =
    LazyLock::new(|| settle_sql("mfa_throttle", "user_id", super::mfa::mfa_lock_secs, super::mfa::MFA_HARD_LOCK));
static SECOND_FACTOR_GIVE_BACK: LazyLock<String> = LazyLock::new(|| give_back_sql("mfa_throttle", "user_id"));

/// Passwords at `/auth/login` and `/auth/reauth`, per submitted (site, e-mail) (see
/// [`crate::auth::session::account_key`]): 10 failures lock for 30 s, doubling, and 100 for a day.
pub static PASSWORD: Budget = Budget {
    table: "login_throttle",
    key_column: "key",
    lock_secs: super::throttle::lock_secs,
    lock_after: super::throttle::LOCK_AFTER_FAILURES,
    reserve_sql: &PASSWORD_RESERVE,
    settle_sql: &PASSWORD_SETTLE,
    give_back_sql: &PASSWORD_GIVE_BACK,
};

/// Second factors (TOTP, e-mailed and backup codes) at sign-in, re-authentication and the
/// confirmation of a new method, per user: 5 wrong ones lock for 30 s, doubling, 100 for a day.
pub static SECOND_FACTOR: Budget = Budget {
    table: "mfa_throttle",
    key_column: "user_id",
    lock_secs: super::mfa::mfa_lock_secs,
    lock_after: super::mfa::MFA_LOCK_AFTER,
    reserve_sql: &SECOND_FACTOR_RESERVE,
    settle_sql: &SECOND_FACTOR_SETTLE,
    give_back_sql: &SECOND_FACTOR_GIVE_BACK,
};

/// The password reservation with its inserted row from `source` (key, 0, NULL, now, 1, now; see
/// [`reserve_sql`]): also written into the one-statement sign-in look-up on PostgreSQL
/// (`db::throttle`).
pub(crate) fn password_reserve_sql(source: &str) -> String {
    reserve_sql("login_throttle", "key", super::throttle::LOCK_AFTER_FAILURES, source)
}

/// The reservation: one more guess in flight, unless a lock is in force or the guesses in
/// flight already use the budget (then no row is returned). A reservation older than
/// [`STALE_RESERVATION_SECS`] is forgotten. Returns the settled failures before this guess.
fn reserve_sql(table: &str, key: &str, lock_after: i32, source: &str) -> String {
    let fresh = format!("{table}.reserved_at >= excluded.reserved_at - {STALE_RESERVATION_SECS}");
    let in_flight = format!("(CASE WHEN {fresh} THEN {table}.pending ELSE 0 END)");
    format!(
        "INSERT INTO {table} ({key}, failures, locked_until, last_failure_at, pending, reserved_at) {source} \
         ON CONFLICT ({key}) DO UPDATE SET pending = {in_flight} + 1, reserved_at = excluded.reserved_at \
         WHERE ({table}.locked_until IS NULL OR {table}.locked_until <= excluded.reserved_at) \
         AND {in_flight} < (CASE WHEN {table}.failures < {lock_after} THEN {lock_after} - {table}.failures ELSE 1 END) \
         RETURNING failures AS n"
    )
}

/// `CASE` over `count` giving the lock's seconds at that count, or NULL: written out from the
/// same function the rest of the code uses, so SQL and Rust cannot disagree.
pub(crate) fn lock_secs_sql(count: &str, lock: fn(i32) -> i64, hard: i32) -> String {
    let mut sql = format!("CASE WHEN {count} >= {hard} THEN {}", lock(hard));
    for n in (1..hard).rev() {
        if lock(n) > 0 && lock(n) != lock(n - 1) {
            sql.push_str(&format!(" WHEN {count} >= {n} THEN {}", lock(n)));
        }
    }
    sql.push_str(" ELSE NULL END");
    sql
}

/// A wrong guess settled: one more consecutive failure, its lock, one guess fewer in flight. An
/// upsert: the row may have gone meanwhile (an admin's unlock), and the failure still counts.
/// Binds: key, now.
fn settle_sql(table: &str, key: &str, lock: fn(i32) -> i64, hard: i32) -> String {
    debug_assert_eq!(lock(1), 0, "a first failure never locks");
    let secs = lock_secs_sql(&format!("{table}.failures + 1"), lock, hard);
    format!(
        "INSERT INTO {table} ({key}, failures, locked_until, last_failure_at, pending, reserved_at) \
         VALUES (?, 1, NULL, ?, 0, NULL) \
         ON CONFLICT ({key}) DO UPDATE SET failures = {table}.failures + 1, \
         locked_until = excluded.last_failure_at + ({secs}), last_failure_at = excluded.last_failure_at, \
         pending = CASE WHEN {table}.pending > 0 THEN {table}.pending - 1 ELSE 0 END RETURNING failures AS n"
    )
}

/// A successful guess given back: the consecutive count starts again, any lock goes, one guess
/// fewer in flight. Binds: key.
pub(crate) fn give_back_sql(table: &str, key: &str) -> String {
    format!(
        "UPDATE {table} SET failures = 0, locked_until = NULL, \
         pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END WHERE {key} = ?"
    )
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = Integer)]
    n: i32,
}

#[derive(QueryableByName)]
struct Until {
    #[diesel(sql_type = Nullable<BigInt>)]
    locked_until: Option<i64>,
}

impl Budget {
    /// Reserves one guess for `key` at `now` (see the module's text). One statement; a refused
    /// one reads the lock's end for `Retry-After`.
    pub fn reserve(&self, conn: &mut AnyConnection, key: &str, now: i64) -> QueryResult<Reservation> {
        let sql: &'static str = self.reserve_sql.as_str();
        let binds = || vec![Bind::Text(key), Bind::BigInt(now), Bind::BigInt(now)];
        let reserved: Option<Count> = match conn {
            AnyConnection::Postgresql(c) => Statement::new(sql, binds()).get_result(c).optional(),
            AnyConnection::Sqlite(c) => Statement::new(sql, binds()).get_result(c).optional(),
        }?;
        if reserved.is_some() {
            return Ok(Reservation::Reserved);
        }
        Ok(self.refusal(self.locked_until(conn, key)?, now))
    }

    /// Why a reservation was refused, from the lock's end as read after it.
    pub fn refusal(&self, locked_until: Option<i64>, now: i64) -> Reservation {
        match locked_until.filter(|u| *u > now) {
            Some(until) => Reservation::Refused { retry_after: until - now },
            None => Reservation::Busy,
        }
    }

    /// Settles a reserved guess that was wrong: it counts, and may lock.
    pub fn settle_failure(&self, conn: &mut AnyConnection, key: &str, now: i64) -> QueryResult<Settled> {
        let sql: &'static str = self.settle_sql.as_str();
        let binds = || vec![Bind::Text(key), Bind::BigInt(now)];
        let Count { n } = match conn {
            AnyConnection::Postgresql(c) => Statement::new(sql, binds()).get_result(c),
            AnyConnection::Sqlite(c) => Statement::new(sql, binds()).get_result(c),
        }?;
        Ok(Settled { count: n, lock_secs: (self.lock_secs)(n) })
    }

    /// Gives back a reserved guess that was right: the consecutive count starts again.
    pub fn give_back(&self, conn: &mut AnyConnection, key: &str) -> QueryResult<()> {
        let sql: &'static str = self.give_back_sql.as_str();
        match conn {
            AnyConnection::Postgresql(c) => Statement::new(sql, vec![Bind::Text(key)]).execute(c),
            AnyConnection::Sqlite(c) => Statement::new(sql, vec![Bind::Text(key)]).execute(c),
        }?;
        Ok(())
    }

    /// Seconds until the lock on `key` lifts, if one is in force at `now`.
    pub fn locked_for(&self, conn: &mut AnyConnection, key: &str, now: i64) -> QueryResult<Option<i64>> {
        Ok(self.locked_until(conn, key)?.filter(|u| *u > now).map(|u| u - now))
    }

    fn locked_until(&self, conn: &mut AnyConnection, key: &str) -> QueryResult<Option<i64>> {
        let sql = format!("SELECT locked_until FROM {} WHERE {} = ?", self.table, self.key_column);
        let row: Option<Until> =
            crate::on_each_backend!(conn, &sql, |c, q| q.bind::<Text, _>(key).get_result(c).optional())?;
        Ok(row.and_then(|r| r.locked_until))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Evaluates [`lock_secs_sql`]'s CASE for one count, the way SQL would (first match wins).
    fn eval_case(sql: &str, count: i32) -> Option<i64> {
        let body = sql.strip_prefix("CASE").and_then(|s| s.strip_suffix(" ELSE NULL END")).expect("case");
        for arm in body.split(" WHEN ").filter(|a| !a.trim().is_empty()) {
            let (cond, then) = arm.split_once(" THEN ").expect("arm");
            let min: i32 = cond.rsplit(">= ").next().expect("min").trim().parse().expect("number");
            if count >= min {
                return Some(then.trim().parse().expect("seconds"));
            }
        }
        None
    }

    #[test]
    fn the_lock_written_in_sql_is_the_lock_of_the_rust_rule() {
        for (lock, hard) in [
            (super::super::throttle::lock_secs as fn(i32) -> i64, super::super::throttle::HARD_LOCK_FAILURES),
            (super::super::mfa::mfa_lock_secs, super::super::mfa::MFA_HARD_LOCK),
        ] {
            let sql = lock_secs_sql("c", lock, hard);
            for count in 1..=hard + 5 {
                let expected = Some(lock(count)).filter(|s| *s > 0);
                assert_eq!(eval_case(&sql, count), expected, "count {count} in {sql}");
            }
        }
    }

    #[test]
    fn a_reservation_is_refused_while_locked_or_while_the_guesses_in_flight_use_the_budget() {
        let sql = reserve_sql("t", "k", 10, VALUES);
        assert!(sql.contains("WHERE (t.locked_until IS NULL OR t.locked_until <= excluded.reserved_at)"));
        assert!(sql.contains("< (CASE WHEN t.failures < 10 THEN 10 - t.failures ELSE 1 END)"));
        assert!(sql.ends_with("RETURNING failures AS n"));
    }
}
