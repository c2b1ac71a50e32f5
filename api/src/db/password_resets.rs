//! Password reset links.

use diesel::prelude::*;

use super::schema::password_resets;
use super::AnyConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = password_resets)]
pub struct PasswordReset {
    pub token_hash: String,
    pub user_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub fn insert(conn: &mut AnyConnection, r: &PasswordReset) -> QueryResult<()> {
    diesel::insert_into(password_resets::table).values(r).execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut AnyConnection, hash: &str) -> QueryResult<Option<PasswordReset>> {
    password_resets::table.find(hash).select(PasswordReset::as_select()).first(conn).optional()
}

/// Spends a link once; every other open link of the user dies with it.
pub fn spend(conn: &mut AnyConnection, hash: &str, user_id: &str, now: i64) -> QueryResult<bool> {
    let won = diesel::update(
        password_resets::table
            .find(hash)
            .filter(password_resets::user_id.eq(user_id))
            .filter(password_resets::used_at.is_null()),
    )
    .set(password_resets::used_at.eq(now))
    .execute(conn)?
        == 1;
    if won {
        void_all(conn, user_id, now)?;
    }
    Ok(won)
}

/// Voids every open link of the user (marked used, so a late click answers like a spent link);
/// returns how many were open.
pub fn void_all(conn: &mut AnyConnection, user_id: &str, now: i64) -> QueryResult<usize> {
    diesel::update(
        password_resets::table.filter(password_resets::user_id.eq(user_id)).filter(password_resets::used_at.is_null()),
    )
    .set(password_resets::used_at.eq(now))
    .execute(conn)
}
