//! Throttling state shared by every instance: consecutive password failures per submitted
//! (site, e-mail) and fixed-window request counters. Each change is one atomic statement.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text};

use super::attempts::Reservation;
use super::schema::login_throttle;
use super::statement::{Bind, Statement};
use super::AnyConnection;

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
    super::attempts::PASSWORD.locked_for(conn, key, now)
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

/// The first database step of a password sign-in on PostgreSQL, joined with `extra`: the
/// counter of [`hit`], the reservation of a password attempt for the submitted account (only
/// within the address's budget; see [`super::attempts`]), the lock it met if refused, and the
/// site, user and 2FA method behind the submitted (slug, e-mail). Binds: address key, window
/// start, account key, now, now, limit, account key, slug, e-mail.
fn sign_in_look_up_sql(extra: &str) -> String {
    let reserve = super::attempts::password_reserve_sql("SELECT ?, 0, NULL, ?, 1, ? FROM hit WHERE hit.n <= ?");
    format!(
        "WITH hit AS (
    INSERT INTO rate_limits (key, window_start, count) VALUES (?, ?, 1)
    ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN rate_limits.window_start = excluded.window_start THEN rate_limits.count + 1 ELSE 1 END,
    window_start = excluded.window_start RETURNING count AS n
), reserve AS (
    {reserve}
)
SELECT hit.n, (SELECT n FROM reserve) AS reserved, t.locked_until,
    s.id AS site_id, s.slug AS site_slug, s.name AS site_name, s.created_at AS site_created_at,
    s.require_2fa AS site_require_2fa,
    u.id AS user_id, u.email AS user_email, u.display_name AS user_display_name,
    u.password_hash AS user_password_hash, u.role AS user_role, u.disabled AS user_disabled,
    u.created_at AS user_created_at, u.last_sign_in_at AS user_last_sign_in_at, u.locale AS user_locale,
    m.method AS mfa_method, m.totp_secret AS mfa_totp_secret, m.last_totp_step AS mfa_last_totp_step,
    m.enabled_at AS mfa_enabled_at
FROM hit {extra}
LEFT JOIN login_throttle t ON t.key = ?
LEFT JOIN tenants s ON s.slug = ?
LEFT JOIN users u ON u.tenant_id = s.id AND u.email = ?
LEFT JOIN user_mfa m ON m.user_id = u.id"
    )
}

/// [`sign_in_look_up_sql`] on PostgreSQL.
static SIGN_IN_LOOK_UP_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| sign_in_look_up_sql(""));

/// [`SIGN_IN_LOOK_UP_SQL`] committing asynchronously: `synchronous_commit` off for the
/// statement's own transaction only.
static SIGN_IN_LOOK_UP_ASYNC_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    sign_in_look_up_sql("CROSS JOIN (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit")
});

/// The site, the user and their 2FA method behind a submitted (slug, e-mail).
pub type Account = (super::tenants::Tenant, super::users::User, Option<super::mfa::UserMfa>);

/// What the first database step of a password sign-in finds.
#[derive(Debug)]
pub struct SignInLookUp {
    /// `Err(retry_after)` once the address's budget is spent.
    pub spent: Result<(), i64>,
    /// The password attempt reserved for the submitted account (`None` once the address's
    /// budget is spent: nothing is counted or checked then).
    pub attempt: Option<Reservation>,
    /// The account, when both the site and the user exist (not looked for once the budget is spent).
    pub account: Option<Account>,
}

/// The first database step of a password sign-in: counts the request against the address's
/// budget `key` (the fixed-window counter of [`hit`]), reserves a password attempt for
/// `account_key` ([`super::attempts::PASSWORD`]) and looks up the account behind (`slug`,
/// `email`) — one round trip on PostgreSQL, three statements on SQLite.
#[expect(clippy::too_many_arguments, reason = "the budget's three settings and the account's three names")]
pub fn sign_in_look_up(
    conn: &mut AnyConnection,
    key: &str,
    limit: u32,
    window: i64,
    now: i64,
    account_key: &str,
    slug: &str,
    email: &str,
) -> QueryResult<SignInLookUp> {
    let AnyConnection::Postgresql(pg) = conn else {
        return sign_in_look_up_in_steps(conn, key, limit, window, now, account_key, slug, email);
    };
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
    let sql: &'static str = if in_transaction { &SIGN_IN_LOOK_UP_SQL } else { &SIGN_IN_LOOK_UP_ASYNC_SQL };
    let window_start = now - now.rem_euclid(window);
    let binds = vec![
        Bind::Text(key),
        Bind::BigInt(window_start),
        Bind::Text(account_key),
        Bind::BigInt(now),
        Bind::BigInt(now),
        Bind::Integer(i32::try_from(limit).unwrap_or(i32::MAX)),
        Bind::Text(account_key),
        Bind::Text(slug),
        Bind::Text(email),
    ];
    let row: LookUpRow = Statement::new(sql, binds).get_result(pg)?;
    if row.n as i64 > limit as i64 {
        return Ok(SignInLookUp { spent: Err(window_start + window - now), attempt: None, account: None });
    }
    let attempt = match row.reserved {
        Some(_) => Reservation::Reserved,
        // Refused: locked, or busy, by the lock as this statement saw it (a lock set a moment
        // ago may not show yet: the caller then asks again, and meets it).
        None => super::attempts::PASSWORD.refusal(row.locked_until, now),
    };
    Ok(SignInLookUp { spent: Ok(()), attempt: Some(attempt), account: row.account() })
}

/// [`sign_in_look_up`] one statement at a time: what SQLite takes, and what the parity test
/// compares PostgreSQL's one statement with.
#[expect(clippy::too_many_arguments, reason = "the budget's three settings and the account's three names")]
pub fn sign_in_look_up_in_steps(
    conn: &mut AnyConnection,
    key: &str,
    limit: u32,
    window: i64,
    now: i64,
    account_key: &str,
    slug: &str,
    email: &str,
) -> QueryResult<SignInLookUp> {
    let spent = hit(conn, key, limit, window, now)?;
    if spent.is_err() {
        return Ok(SignInLookUp { spent, attempt: None, account: None });
    }
    let attempt = super::attempts::PASSWORD.reserve(conn, account_key, now)?;
    let account = super::users::find_for_sign_in(conn, slug, email)?;
    Ok(SignInLookUp { spent, attempt: Some(attempt), account })
}

/// A row of [`SIGN_IN_LOOK_UP_SQL`]: the account's columns are null when it does not exist.
#[derive(QueryableByName)]
struct LookUpRow {
    #[diesel(sql_type = Integer)]
    n: i32,
    #[diesel(sql_type = Nullable<Integer>)]
    reserved: Option<i32>,
    #[diesel(sql_type = Nullable<BigInt>)]
    locked_until: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    site_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    site_slug: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    site_name: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    site_created_at: Option<i64>,
    #[diesel(sql_type = Nullable<Bool>)]
    site_require_2fa: Option<bool>,
    #[diesel(sql_type = Nullable<Text>)]
    user_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    user_email: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    user_display_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    user_password_hash: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    user_role: Option<String>,
    #[diesel(sql_type = Nullable<Bool>)]
    user_disabled: Option<bool>,
    #[diesel(sql_type = Nullable<BigInt>)]
    user_created_at: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    user_last_sign_in_at: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    user_locale: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    mfa_method: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    mfa_totp_secret: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    mfa_last_totp_step: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    mfa_enabled_at: Option<i64>,
}

impl LookUpRow {
    /// The account, when the site and the user exist (their non-null columns say so).
    fn account(self) -> Option<Account> {
        let site = super::tenants::Tenant {
            id: self.site_id?,
            slug: self.site_slug?,
            name: self.site_name?,
            created_at: self.site_created_at?,
            require_2fa: self.site_require_2fa?,
        };
        let user = super::users::User {
            id: self.user_id?,
            tenant_id: site.id.clone(),
            email: self.user_email?,
            display_name: self.user_display_name?,
            password_hash: self.user_password_hash?,
            role: self.user_role?,
            disabled: self.user_disabled?,
            created_at: self.user_created_at?,
            last_sign_in_at: self.user_last_sign_in_at,
            locale: self.user_locale,
        };
        let mfa = match (self.mfa_method, self.mfa_last_totp_step, self.mfa_enabled_at) {
            (Some(method), Some(last_totp_step), Some(enabled_at)) => Some(super::mfa::UserMfa {
                user_id: user.id.clone(),
                method,
                totp_secret: self.mfa_totp_secret,
                last_totp_step,
                enabled_at,
            }),
            _ => None,
        };
        Some((site, user, mfa))
    }
}

/// Drops counters whose window has passed, and attempt counts that a success brought back to
/// zero with no lock left (run now and then by the housekeeping task).
pub fn purge(conn: &mut AnyConnection, now: i64) -> QueryResult<usize> {
    use super::schema::{mfa_throttle, rate_limits};
    let windows = diesel::delete(rate_limits::table.filter(rate_limits::window_start.lt(now - 3600))).execute(conn)?;
    let passwords = diesel::delete(
        login_throttle::table
            .filter(login_throttle::failures.le(0))
            .filter(login_throttle::locked_until.is_null().or(login_throttle::locked_until.le(now))),
    )
    .execute(conn)?;
    let codes = diesel::delete(
        mfa_throttle::table
            .filter(mfa_throttle::failures.le(0))
            .filter(mfa_throttle::locked_until.is_null().or(mfa_throttle::locked_until.le(now))),
    )
    .execute(conn)?;
    Ok(windows + passwords + codes)
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
