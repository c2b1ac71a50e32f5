//! Second-factor state: the active method, pending setups, backup codes, challenges and the
//! per-account guess counter. Secrets arrive here already sealed or hashed.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::schema::{backup_code_sets, backup_codes, mfa_challenges, mfa_setups, mfa_throttle, user_mfa};
use super::AnyConnection;
use crate::on_each_backend;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = user_mfa)]
pub struct UserMfa {
    pub user_id: String,
    pub method: String,
    pub totp_secret: Option<String>,
    pub last_totp_step: i64,
    pub enabled_at: i64,
}

pub fn find(conn: &mut AnyConnection, user_id: &str) -> QueryResult<Option<UserMfa>> {
    user_mfa::table.find(user_id).select(UserMfa::as_select()).first(conn).optional()
}

/// The methods of several users at once (for lists).
pub fn methods_of(conn: &mut AnyConnection, user_ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    user_mfa::table.filter(user_mfa::user_id.eq_any(user_ids)).select((user_mfa::user_id, user_mfa::method)).load(conn)
}

/// Activates a method; `Ok(false)` when the user already has one (the primary key decides).
/// Writes the user's change to the revocation log (a site requiring 2FA asks nothing more of them).
pub fn enable(conn: &mut AnyConnection, row: &UserMfa, now: i64) -> QueryResult<bool> {
    match diesel::insert_into(user_mfa::table).values(row).execute(conn) {
        Ok(_) => super::users::changed(conn, &row.user_id, now).map(|()| true),
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Spends a TOTP step: succeeds once per step, and never for a step at or before the last one.
pub fn spend_totp_step(conn: &mut AnyConnection, user_id: &str, step: i64) -> QueryResult<bool> {
    Ok(diesel::update(user_mfa::table.find(user_id).filter(user_mfa::last_totp_step.lt(step)))
        .set(user_mfa::last_totp_step.eq(step))
        .execute(conn)?
        == 1)
}

/// Removes the method, its backup codes and any pending step. Returns whether a method was active
/// (then the user's change goes to the revocation log).
pub fn remove_all(conn: &mut AnyConnection, user_id: &str, now: i64) -> QueryResult<bool> {
    let had = diesel::delete(user_mfa::table.find(user_id)).execute(conn)? == 1;
    if had {
        super::users::changed(conn, user_id, now)?;
    }
    diesel::delete(backup_codes::table.filter(backup_codes::user_id.eq(user_id))).execute(conn)?;
    diesel::delete(backup_code_sets::table.find(user_id)).execute(conn)?;
    diesel::delete(mfa_setups::table.find(user_id)).execute(conn)?;
    diesel::delete(mfa_challenges::table.filter(mfa_challenges::user_id.eq(user_id))).execute(conn)?;
    Ok(had)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = mfa_setups)]
pub struct Setup {
    pub user_id: String,
    pub method: String,
    pub totp_secret: Option<String>,
    pub code_hash: Option<String>,
    pub expires_at: i64,
    pub created_at: i64,
}

/// Replaces any pending setup of the user, in one statement: two set-ups at once (two tabs, a
/// double click) cannot both insert, the later one simply wins.
pub fn put_setup(conn: &mut AnyConnection, setup: &Setup) -> QueryResult<()> {
    let sql = "INSERT INTO mfa_setups (user_id, method, totp_secret, code_hash, expires_at, created_at) \
               VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET method = excluded.method, \
               totp_secret = excluded.totp_secret, code_hash = excluded.code_hash, \
               expires_at = excluded.expires_at, created_at = excluded.created_at";
    on_each_backend!(conn, sql, |c, q| q
        .bind::<Text, _>(&setup.user_id)
        .bind::<Text, _>(&setup.method)
        .bind::<Nullable<Text>, _>(&setup.totp_secret)
        .bind::<Nullable<Text>, _>(&setup.code_hash)
        .bind::<BigInt, _>(setup.expires_at)
        .bind::<BigInt, _>(setup.created_at)
        .execute(c))?;
    Ok(())
}

pub fn find_setup(conn: &mut AnyConnection, user_id: &str) -> QueryResult<Option<Setup>> {
    mfa_setups::table.find(user_id).select(Setup::as_select()).first(conn).optional()
}

pub fn delete_setup(conn: &mut AnyConnection, user_id: &str) -> QueryResult<()> {
    diesel::delete(mfa_setups::table.find(user_id)).execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = backup_code_sets)]
pub struct BackupSet {
    pub user_id: String,
    pub id: String,
    pub sealed_codes: String,
    pub generated_at: i64,
    pub downloaded_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = backup_codes)]
pub struct BackupCode {
    pub id: String,
    pub user_id: String,
    pub set_id: String,
    pub position: i32,
    pub salt: String,
    pub code_hash: String,
    pub used_at: Option<i64>,
}

/// Replaces the user's backup codes with a new set: the old ones die at once.
pub fn replace_backup_codes(conn: &mut AnyConnection, set: &BackupSet, codes: &[BackupCode]) -> QueryResult<()> {
    diesel::delete(backup_codes::table.filter(backup_codes::user_id.eq(&set.user_id))).execute(conn)?;
    diesel::delete(backup_code_sets::table.find(&set.user_id)).execute(conn)?;
    diesel::insert_into(backup_code_sets::table).values(set).execute(conn)?;
    for code in codes {
        diesel::insert_into(backup_codes::table).values(code).execute(conn)?;
    }
    Ok(())
}

pub fn backup_set(conn: &mut AnyConnection, user_id: &str) -> QueryResult<Option<BackupSet>> {
    backup_code_sets::table.find(user_id).select(BackupSet::as_select()).first(conn).optional()
}

pub fn backup_codes(conn: &mut AnyConnection, user_id: &str) -> QueryResult<Vec<BackupCode>> {
    backup_codes::table
        .filter(backup_codes::user_id.eq(user_id))
        .order(backup_codes::position.asc())
        .select(BackupCode::as_select())
        .load(conn)
}

/// Spends one backup code; of concurrent spenders exactly one wins.
pub fn spend_backup_code(conn: &mut AnyConnection, id: &str, now: i64) -> QueryResult<bool> {
    Ok(diesel::update(backup_codes::table.find(id).filter(backup_codes::used_at.is_null()))
        .set(backup_codes::used_at.eq(now))
        .execute(conn)?
        == 1)
}

pub fn mark_downloaded(conn: &mut AnyConnection, user_id: &str, now: i64) -> QueryResult<bool> {
    Ok(diesel::update(backup_code_sets::table.find(user_id))
        .set(backup_code_sets::downloaded_at.eq(now))
        .execute(conn)?
        == 1)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = mfa_challenges)]
pub struct Challenge {
    pub token_hash: String,
    pub user_id: String,
    pub purpose: String,
    pub method: String,
    pub code_hash: Option<String>,
    pub code_expires_at: Option<i64>,
    pub last_sent_at: Option<i64>,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
    pub created_at: i64,
    /// What the first factor was: `pwd`, or `sso <kind>`.
    pub first_factor: String,
    /// A link token to redeem when the sign-in completes ("connect from the login page").
    pub link_token_hash: Option<String>,
}

pub fn put_challenge(conn: &mut AnyConnection, c: &Challenge) -> QueryResult<()> {
    diesel::delete(mfa_challenges::table.find(&c.token_hash)).execute(conn)?;
    diesel::insert_into(mfa_challenges::table).values(c).execute(conn)?;
    Ok(())
}

pub fn find_challenge(conn: &mut AnyConnection, token_hash: &str) -> QueryResult<Option<Challenge>> {
    mfa_challenges::table.find(token_hash).select(Challenge::as_select()).first(conn).optional()
}

/// Consumes a challenge once.
pub fn consume_challenge(conn: &mut AnyConnection, token_hash: &str, now: i64) -> QueryResult<bool> {
    Ok(diesel::update(mfa_challenges::table.find(token_hash).filter(mfa_challenges::consumed_at.is_null()))
        .set(mfa_challenges::consumed_at.eq(now))
        .execute(conn)?
        == 1)
}

/// Takes the send slot of a challenge for a new e-mailed code: `last_sent_at` moves from
/// `previous` to `now` in one conditional update, so of parallel requests exactly one wins.
pub fn claim_send(conn: &mut AnyConnection, token_hash: &str, previous: Option<i64>, now: i64) -> QueryResult<bool> {
    let target = mfa_challenges::table.find(token_hash);
    let changed = match previous {
        Some(t) => diesel::update(target.filter(mfa_challenges::last_sent_at.eq(t)))
            .set(mfa_challenges::last_sent_at.eq(now))
            .execute(conn)?,
        None => diesel::update(target.filter(mfa_challenges::last_sent_at.is_null()))
            .set(mfa_challenges::last_sent_at.eq(now))
            .execute(conn)?,
    };
    Ok(changed == 1)
}

/// Gives back a send slot taken at `now` whose mail could not be sent.
pub fn release_send(conn: &mut AnyConnection, token_hash: &str, previous: Option<i64>, now: i64) -> QueryResult<()> {
    diesel::update(mfa_challenges::table.find(token_hash).filter(mfa_challenges::last_sent_at.eq(now)))
        .set(mfa_challenges::last_sent_at.eq(previous))
        .execute(conn)?;
    Ok(())
}

/// The code mailed in the send slot taken at `sent_at` replaces the challenge's previous one.
pub fn store_code(
    conn: &mut AnyConnection,
    token_hash: &str,
    code_hash: &str,
    code_expires_at: i64,
    sent_at: i64,
) -> QueryResult<bool> {
    Ok(diesel::update(mfa_challenges::table.find(token_hash).filter(mfa_challenges::last_sent_at.eq(sent_at)))
        .set((mfa_challenges::code_hash.eq(code_hash), mfa_challenges::code_expires_at.eq(code_expires_at)))
        .execute(conn)?
        == 1)
}

/// Creates the challenge `c` (send slot taken, no code yet), or revives a consumed or expired
/// one under the same key, in one statement; `false` when a live one is there (its cool-down
/// decides).
pub fn create_or_revive(conn: &mut AnyConnection, c: &Challenge, now: i64) -> QueryResult<bool> {
    let sql = "INSERT INTO mfa_challenges (token_hash, user_id, purpose, method, code_hash, code_expires_at, \
               last_sent_at, expires_at, consumed_at, created_at, first_factor, link_token_hash) \
               VALUES (?, ?, ?, ?, NULL, NULL, ?, ?, NULL, ?, ?, NULL) \
               ON CONFLICT (token_hash) DO UPDATE SET user_id = excluded.user_id, purpose = excluded.purpose, \
               method = excluded.method, code_hash = NULL, code_expires_at = NULL, \
               last_sent_at = excluded.last_sent_at, expires_at = excluded.expires_at, consumed_at = NULL, \
               created_at = excluded.created_at, first_factor = excluded.first_factor, link_token_hash = NULL \
               WHERE mfa_challenges.consumed_at IS NOT NULL OR mfa_challenges.expires_at <= ?";
    let n = on_each_backend!(conn, sql, |c2, q| q
        .bind::<Text, _>(&c.token_hash)
        .bind::<Text, _>(&c.user_id)
        .bind::<Text, _>(&c.purpose)
        .bind::<Text, _>(&c.method)
        .bind::<Nullable<BigInt>, _>(c.last_sent_at)
        .bind::<BigInt, _>(c.expires_at)
        .bind::<BigInt, _>(c.created_at)
        .bind::<Text, _>(&c.first_factor)
        .bind::<BigInt, _>(now)
        .execute(c2))?;
    Ok(n == 1)
}

/// Removes a challenge created at `sent_at` whose first code could not be sent.
pub fn delete_unsent(conn: &mut AnyConnection, token_hash: &str, sent_at: i64) -> QueryResult<()> {
    diesel::delete(
        mfa_challenges::table
            .find(token_hash)
            .filter(mfa_challenges::last_sent_at.eq(sent_at))
            .filter(mfa_challenges::code_hash.is_null()),
    )
    .execute(conn)?;
    Ok(())
}

/// Voids the e-mailed code of a challenge once it has been used.
pub fn void_challenge_code(conn: &mut AnyConnection, token_hash: &str) -> QueryResult<bool> {
    Ok(diesel::update(mfa_challenges::table.find(token_hash).filter(mfa_challenges::code_hash.is_not_null()))
        .set(mfa_challenges::code_hash.eq(None::<String>))
        .execute(conn)?
        == 1)
}

/// From this many consecutive wrong second factors on, each further one locks for a while.
pub const MFA_LOCK_AFTER: i32 = 5;
/// At this many, a hard lock: an admin unlock or 24 hours.
pub const MFA_HARD_LOCK: i32 = 100;

/// 30 s at the 5th wrong code, doubling up to an hour, and 24 hours from the 100th.
pub fn mfa_lock_secs(failures: i32) -> i64 {
    if failures >= MFA_HARD_LOCK {
        24 * 3600
    } else if failures >= MFA_LOCK_AFTER {
        (30_i64 << (failures - MFA_LOCK_AFTER).min(12) as u32).min(3600)
    } else {
        0
    }
}

/// Seconds until the user's second-factor lock lifts, if one is in force at `now`.
pub fn mfa_locked_for(conn: &mut AnyConnection, user_id: &str, now: i64) -> QueryResult<Option<i64>> {
    super::attempts::SECOND_FACTOR.locked_for(conn, user_id, now)
}

/// Lifts the user's second-factor lock and forgets the count (an admin's unlock or 2FA reset).
pub fn reset_mfa_failures(conn: &mut AnyConnection, user_id: &str) -> QueryResult<()> {
    diesel::delete(mfa_throttle::table.find(user_id)).execute(conn)?;
    Ok(())
}

/// Which of these users have a second-factor lock in force.
pub fn mfa_locked_users(
    conn: &mut AnyConnection,
    user_ids: &[String],
    now: i64,
) -> QueryResult<std::collections::HashSet<String>> {
    let rows: Vec<String> = mfa_throttle::table
        .filter(mfa_throttle::user_id.eq_any(user_ids))
        .filter(mfa_throttle::locked_until.gt(now))
        .select(mfa_throttle::user_id)
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_factor_locks_start_at_five_and_harden_at_a_hundred() {
        assert_eq!(mfa_lock_secs(4), 0);
        assert_eq!(mfa_lock_secs(5), 30);
        assert_eq!(mfa_lock_secs(6), 60);
        assert_eq!(mfa_lock_secs(99), 3600);
        assert_eq!(mfa_lock_secs(100), 24 * 3600);
    }
}
