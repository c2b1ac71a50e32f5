//! Attempt accounting: every guess — a password, a one-time code, a backup code — is *reserved*
//! before it is checked, by one atomic conditional statement that counts it as a failure up
//! front (and sets the lock it brings) and refuses while a lock is in force. A success gives its
//! reservation back. A check and its count can therefore never drift apart: parallel guesses
//! are counted one by one in the database, whatever the number of requests or instances.
//!
//! Two budgets share the mechanism: passwords per submitted (site, e-mail), second factors per
//! user. Their tables have the same shape (key, failures, locked_until, last_failure_at).

use std::sync::LazyLock;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};

use super::statement::{Bind, Statement};
use super::AnyConnection;

/// One budget of guesses: where it is counted and the lock each count brings.
pub struct Budget {
    table: &'static str,
    key_column: &'static str,
    /// The lock (seconds, 0 for none) that the `n`-th consecutive failure sets.
    pub lock_secs: fn(i32) -> i64,
    reserve_sql: &'static LazyLock<String>,
    give_back_sql: &'static LazyLock<String>,
}

/// What a reservation came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// The guess may be checked. `count` is the consecutive failures including this one (it is
    /// counted as one until given back); `lock_secs` the lock it set, if it is wrong.
    Reserved { count: i32, lock_secs: i64 },
    /// A lock is in force: the guess is not checked.
    Refused { retry_after: i64 },
}

/// A successful guess to give back: the key it was reserved under and its count.
#[derive(Debug, Clone, Copy)]
pub struct GiveBack<'a> {
    pub key: &'a str,
    pub count: i32,
}

static PASSWORD_RESERVE: LazyLock<String> = LazyLock::new(|| password_reserve_sql(VALUES));
static PASSWORD_GIVE_BACK: LazyLock<String> = LazyLock::new(|| give_back_sql("login_throttle", "key"));
static SECOND_FACTOR_RESERVE: LazyLock<String> = LazyLock::new(|| {
    reserve_sql("mfa_throttle", "user_id", super::mfa::mfa_lock_secs, super::mfa::MFA_HARD_LOCK, VALUES)
});

/// The row a first failure inserts. Binds: key, now.
const VALUES: &str = "VALUES (?, 1, NULL, ?)";

/// The password reservation with its inserted row from `source` (see [`reserve_sql`]): also
/// written into the one-statement sign-in look-up on PostgreSQL (`db::throttle`).
pub(crate) fn password_reserve_sql(source: &str) -> String {
    reserve_sql("login_throttle", "key", super::throttle::lock_secs, super::throttle::HARD_LOCK_FAILURES, source)
}
static SECOND_FACTOR_GIVE_BACK: LazyLock<String> = LazyLock::new(|| give_back_sql("mfa_throttle", "user_id"));

/// Passwords at `/auth/login` and `/auth/reauth`, per submitted (site, e-mail) (see
/// [`crate::auth::session::account_key`]): 10 failures lock for 30 s, doubling, and 100 for a day.
pub static PASSWORD: Budget = Budget {
    table: "login_throttle",
    key_column: "key",
    lock_secs: super::throttle::lock_secs,
    reserve_sql: &PASSWORD_RESERVE,
    give_back_sql: &PASSWORD_GIVE_BACK,
};

/// Second factors (TOTP, e-mailed and backup codes) at sign-in, re-authentication and the
/// confirmation of a new method, per user: 5 wrong ones lock for 30 s, doubling, 100 for a day.
pub static SECOND_FACTOR: Budget = Budget {
    table: "mfa_throttle",
    key_column: "user_id",
    lock_secs: super::mfa::mfa_lock_secs,
    reserve_sql: &SECOND_FACTOR_RESERVE,
    give_back_sql: &SECOND_FACTOR_GIVE_BACK,
};

/// `CASE` over `count` giving `now` + the lock `lock` sets at that count, or NULL: written out
/// from the same function the rest of the code uses, so SQL and Rust cannot disagree.
pub(crate) fn lock_until_sql(count: &str, now: &str, lock: fn(i32) -> i64, hard: i32) -> String {
    let mut sql = format!("CASE WHEN {count} >= {hard} THEN {now} + {}", lock(hard));
    for n in (1..hard).rev() {
        if lock(n) > 0 && lock(n) != lock(n - 1) {
            sql.push_str(&format!(" WHEN {count} >= {n} THEN {now} + {}", lock(n)));
        }
    }
    sql.push_str(" ELSE NULL END");
    sql
}

/// The reservation: counts one failure and sets its lock, unless a lock is in force (then no
/// row is returned). `source` gives the row of a first failure (key, 1, NULL, now).
fn reserve_sql(table: &str, key: &str, lock: fn(i32) -> i64, hard: i32, source: &str) -> String {
    debug_assert_eq!(lock(1), 0, "a first failure never locks");
    let until = lock_until_sql(&format!("{table}.failures + 1"), "excluded.last_failure_at", lock, hard);
    format!(
        "INSERT INTO {table} ({key}, failures, locked_until, last_failure_at) {source} \
         ON CONFLICT ({key}) DO UPDATE SET failures = {table}.failures + 1, locked_until = {until}, \
         last_failure_at = excluded.last_failure_at \
         WHERE {table}.locked_until IS NULL OR {table}.locked_until <= excluded.last_failure_at \
         RETURNING failures AS n"
    )
}

/// The give-back of a successful guess reserved as the `count`-th: that one and every failure
/// before it are forgotten (the consecutive count starts again), and so is the lock, unless
/// guesses reserved after it (still running in parallel) keep theirs. Binds: count ×3, key.
fn give_back_sql(table: &str, key: &str) -> String {
    format!(
        "UPDATE {table} SET failures = CASE WHEN failures > ? THEN failures - ? ELSE 0 END, \
         locked_until = CASE WHEN failures > ? THEN locked_until ELSE NULL END WHERE {key} = ?"
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
    /// Reserves one guess for `key` at `now` (see the module's text). One statement; refused
    /// ones read the lock's end for `Retry-After`.
    pub fn reserve(&self, conn: &mut AnyConnection, key: &str, now: i64) -> QueryResult<Reservation> {
        let sql: &'static str = self.reserve_sql.as_str();
        let binds = || vec![Bind::Text(key), Bind::BigInt(now)];
        let reserved: Option<Count> = match conn {
            AnyConnection::Postgresql(c) => Statement::new(sql, binds()).get_result(c).optional(),
            AnyConnection::Sqlite(c) => Statement::new(sql, binds()).get_result(c).optional(),
        }?;
        Ok(match reserved {
            Some(Count { n }) => Reservation::Reserved { count: n, lock_secs: (self.lock_secs)(n) },
            None => Reservation::Refused { retry_after: self.locked_for(conn, key, now)?.unwrap_or(1) },
        })
    }

    /// Gives back a successful guess reserved as the `count`-th (see [`give_back_sql`]).
    pub fn give_back(&self, conn: &mut AnyConnection, key: &str, count: i32) -> QueryResult<()> {
        let sql: &'static str = self.give_back_sql.as_str();
        let binds = || vec![Bind::Integer(count), Bind::Integer(count), Bind::Integer(count), Bind::Text(key)];
        match conn {
            AnyConnection::Postgresql(c) => Statement::new(sql, binds()).execute(c),
            AnyConnection::Sqlite(c) => Statement::new(sql, binds()).execute(c),
        }?;
        Ok(())
    }

    /// Seconds until the lock on `key` lifts, if one is in force at `now`.
    pub fn locked_for(&self, conn: &mut AnyConnection, key: &str, now: i64) -> QueryResult<Option<i64>> {
        let sql = format!("SELECT locked_until FROM {} WHERE {} = ?", self.table, self.key_column);
        let row: Option<Until> =
            crate::on_each_backend!(conn, &sql, |c, q| q.bind::<Text, _>(key).get_result(c).optional())?;
        Ok(row.and_then(|r| r.locked_until).filter(|u| *u > now).map(|u| u - now))
    }

    /// Lifts every lock and forgets the count (an admin's unlock, a successful reset).
    pub fn clear(&self, conn: &mut AnyConnection, key: &str) -> QueryResult<bool> {
        let sql = format!("DELETE FROM {} WHERE {} = ?", self.table, self.key_column);
        Ok(crate::on_each_backend!(conn, &sql, |c, q| q.bind::<Text, _>(key).execute(c))? == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Evaluates [`lock_until_sql`]'s CASE for one count, the way SQL would (first match wins).
    fn eval_case(sql: &str, count: i32) -> Option<i64> {
        let body = sql.strip_prefix("CASE").and_then(|s| s.strip_suffix(" ELSE NULL END")).expect("case");
        for arm in body.split(" WHEN ").filter(|a| !a.trim().is_empty()) {
            let (cond, then) = arm.split_once(" THEN ").expect("arm");
            let min: i32 = cond.rsplit(">= ").next().expect("min").trim().parse().expect("number");
            let secs: i64 = then.rsplit("+ ").next().expect("secs").trim().parse().expect("number");
            if count >= min {
                return Some(secs);
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
            let sql = lock_until_sql("c", "now", lock, hard);
            for count in 1..=hard + 5 {
                let expected = Some(lock(count)).filter(|s| *s > 0);
                assert_eq!(eval_case(&sql, count), expected, "count {count} in {sql}");
            }
        }
    }

    #[test]
    fn reservations_are_refused_only_while_a_lock_is_in_force() {
        let sql = reserve_sql("t", "k", super::super::throttle::lock_secs, 100, VALUES);
        assert!(sql.contains("WHERE t.locked_until IS NULL OR t.locked_until <= excluded.last_failure_at"));
        assert!(sql.ends_with("RETURNING failures AS n"));
    }
}
