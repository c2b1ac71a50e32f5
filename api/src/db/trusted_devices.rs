//! Browsers trusted to skip the second factor ("Remember this device"). The cookie's random
//! value is never stored: only its SHA-256 (`token_hash`, unique), so a match is one indexed
//! look-up on the hash, bound to the user and the site in the same statement.

use diesel::prelude::*;

use super::schema::trusted_devices;
use super::AnyConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = trusted_devices)]
pub struct TrustedDevice {
    pub id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub token_hash: String,
    /// Browser and operating system from the User-Agent, e.g. "Chrome on Linux".
    pub label: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
}

pub fn insert(conn: &mut AnyConnection, d: &TrustedDevice) -> QueryResult<()> {
    diesel::insert_into(trusted_devices::table).values(d).execute(conn)?;
    Ok(())
}

/// Marks the device of `token_hash` used if it is a live one of this user and site: one
/// conditional statement, so an expired row, or a row of another user or site, never matches.
pub fn use_live(
    conn: &mut AnyConnection,
    token_hash: &str,
    user_id: &str,
    tenant_id: &str,
    now: i64,
) -> QueryResult<bool> {
    let n = diesel::update(
        trusted_devices::table
            .filter(trusted_devices::token_hash.eq(token_hash))
            .filter(trusted_devices::user_id.eq(user_id))
            .filter(trusted_devices::tenant_id.eq(tenant_id))
            .filter(trusted_devices::expires_at.gt(now)),
    )
    .set(trusted_devices::last_used_at.eq(now))
    .execute(conn)?;
    Ok(n == 1)
}

/// The user's unexpired devices, newest first.
pub fn list_live(conn: &mut AnyConnection, user_id: &str, now: i64) -> QueryResult<Vec<TrustedDevice>> {
    trusted_devices::table
        .filter(trusted_devices::user_id.eq(user_id))
        .filter(trusted_devices::expires_at.gt(now))
        .order((trusted_devices::created_at.desc(), trusted_devices::id.desc()))
        .select(TrustedDevice::as_select())
        .load(conn)
}

/// Forgets one device of the user; `None` when the user has no such device.
pub fn forget_one(conn: &mut AnyConnection, user_id: &str, id: &str) -> QueryResult<Option<TrustedDevice>> {
    let found = trusted_devices::table
        .filter(trusted_devices::id.eq(id))
        .filter(trusted_devices::user_id.eq(user_id))
        .select(TrustedDevice::as_select())
        .first(conn)
        .optional()?;
    if found.is_some() {
        diesel::delete(trusted_devices::table.filter(trusted_devices::id.eq(id))).execute(conn)?;
    }
    Ok(found)
}

/// Forgets every device of the user but the one of `keep` (a cookie's hash); how many.
pub fn forget_all(conn: &mut AnyConnection, user_id: &str, keep: Option<&str>) -> QueryResult<usize> {
    let of_user = trusted_devices::table.filter(trusted_devices::user_id.eq(user_id));
    match keep {
        Some(k) => diesel::delete(of_user.filter(trusted_devices::token_hash.ne(k))).execute(conn),
        None => diesel::delete(of_user).execute(conn),
    }
}

/// Deletes expired devices (the periodic housekeeping).
pub fn purge_expired(conn: &mut AnyConnection, now: i64) -> QueryResult<usize> {
    diesel::delete(trusted_devices::table.filter(trusted_devices::expires_at.le(now))).execute(conn)
}
