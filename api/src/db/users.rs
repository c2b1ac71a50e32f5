use diesel::prelude::*;

use super::schema::users;
use super::AnyConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub tenant_id: String,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub disabled: bool,
    pub created_at: i64,
    pub last_sign_in_at: Option<i64>,
    /// The language the user chose (`en`, `zh-CN`); `None`: no choice made.
    pub locale: Option<String>,
}

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<User>> {
    users::table.find(id).select(User::as_select()).first(conn).optional()
}

/// The user and whether their site requires 2FA, in one query (the refresh path).
pub fn find_with_site_policy(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<(User, bool)>> {
    users::table
        .inner_join(super::schema::tenants::table)
        .filter(users::id.eq(id))
        .select((User::as_select(), super::schema::tenants::require_2fa))
        .first(conn)
        .optional()
}

/// The account behind a submitted (site slug, e-mail) with its site and its 2FA method, in one
/// query (password sign-in): `None` unless both the site and the user exist.
pub fn find_for_sign_in(
    conn: &mut AnyConnection,
    slug: &str,
    email: &str,
) -> QueryResult<Option<(super::tenants::Tenant, User, Option<super::mfa::UserMfa>)>> {
    use super::schema::{tenants, user_mfa};
    users::table
        .inner_join(tenants::table)
        .left_join(user_mfa::table)
        .filter(tenants::slug.eq(slug))
        .filter(users::email.eq(email))
        .select((super::tenants::Tenant::as_select(), User::as_select(), Option::<super::mfa::UserMfa>::as_select()))
        .first(conn)
        .optional()
}

pub fn find_in_tenant(conn: &mut AnyConnection, tenant_id: &str, id: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::tenant_id.eq(tenant_id))
        .filter(users::id.eq(id))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_email(conn: &mut AnyConnection, tenant_id: &str, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::tenant_id.eq(tenant_id))
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut AnyConnection, tenant_id: &str) -> QueryResult<Vec<User>> {
    users::table
        .filter(users::tenant_id.eq(tenant_id))
        .order((users::email.asc(), users::id.asc()))
        .select(User::as_select())
        .load(conn)
}

/// Inserts a user; `Ok(false)` when the e-mail is taken on that site (the unique constraint decides).
/// Creation sets the password, so it counts as the last password change.
pub fn insert(conn: &mut AnyConnection, user: &User) -> QueryResult<bool> {
    match diesel::insert_into(users::table).values((user, users::password_changed_at.eq(user.created_at))).execute(conn)
    {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// What [`normalise_stored_emails`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct EmailNormalisation {
    /// Rows whose address was rewritten into its normal form.
    pub rewritten: usize,
    /// Ids of users whose address stayed as it was: another user of the site already has the
    /// normal form (two accounts that are one address now), or it is not a valid address today
    /// (an invisible character).
    pub left_as_they_were: Vec<String>,
}

/// Rewrites every stored address that is not in [`Email`](crate::domain::Email)'s normal form.
/// Addresses used to be lower-cased only, and only non-ASCII ones can differ. Each row is its
/// own statement (no transaction): a twin that the unique (site, e-mail) index refuses is left
/// as it was, and reported.
pub fn normalise_stored_emails(conn: &mut AnyConnection) -> QueryResult<EmailNormalisation> {
    let rows: Vec<(String, String)> = users::table.select((users::id, users::email)).load(conn)?;
    let mut report = EmailNormalisation::default();
    for (id, stored) in rows.into_iter().filter(|(_, e)| !e.is_ascii()) {
        let Ok(normal) = crate::domain::Email::parse(&stored) else {
            report.left_as_they_were.push(id);
            continue;
        };
        if normal.as_str() == stored {
            continue;
        }
        match diesel::update(users::table.find(&id)).set(users::email.eq(normal.as_str())).execute(conn) {
            Ok(_) => report.rewritten += 1,
            Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
                report.left_as_they_were.push(id)
            }
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

pub fn touch_sign_in(conn: &mut AnyConnection, id: &str, now: i64) -> QueryResult<()> {
    diesel::update(users::table.find(id)).set(users::last_sign_in_at.eq(now)).execute(conn)?;
    Ok(())
}

/// Sets a new password, and when it was set (see [`password_changed_at`]).
pub fn set_password_hash(conn: &mut AnyConnection, id: &str, hash: &str, now: i64) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((users::password_hash.eq(hash), users::password_changed_at.eq(now)))
        .execute(conn)?;
    changed(conn, id, now)
}

/// When the user's password was last set: at creation, a change or a reset.
pub fn password_changed_at(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<i64>> {
    users::table.find(id).select(users::password_changed_at).first(conn).optional()
}

/// Writes the change of user `id` to the revocation log (every instance drops its cached copy).
/// Every function here that changes a user's row calls it, but [`touch_sign_in`].
pub fn changed(conn: &mut AnyConnection, id: &str, now: i64) -> QueryResult<()> {
    super::revocations::record(conn, super::revocations::Change::User(id.to_string()), now)
}

/// Applies an admin's (or the user's own) edit; `None` leaves a field as it is.
pub fn update_profile(
    conn: &mut AnyConnection,
    id: &str,
    display_name: Option<&str>,
    role: Option<&str>,
    disabled: Option<bool>,
    now: i64,
) -> QueryResult<()> {
    if let Some(n) = display_name {
        diesel::update(users::table.find(id)).set(users::display_name.eq(n)).execute(conn)?;
    }
    if let Some(r) = role {
        diesel::update(users::table.find(id)).set(users::role.eq(r)).execute(conn)?;
    }
    if let Some(d) = disabled {
        diesel::update(users::table.find(id)).set(users::disabled.eq(d)).execute(conn)?;
    }
    changed(conn, id, now)
}

/// Sets the user's language (`None` clears the choice). Like every change of the row, it goes
/// through the revocation log, so each instance's cached copy of the user (what `/me` answers
/// from) is refreshed.
pub fn set_locale(conn: &mut AnyConnection, id: &str, locale: Option<&str>, now: i64) -> QueryResult<()> {
    diesel::update(users::table.find(id)).set(users::locale.eq(locale)).execute(conn)?;
    changed(conn, id, now)
}

/// Takes the site's admin lock until the end of the caller's transaction, so that the checks
/// guarding its last admin and the change they guard run one site-change at a time.
///
/// PostgreSQL: a row lock on the site. Under READ COMMITTED two transactions could otherwise both
/// count two admins and each remove one. `FOR NO KEY UPDATE` rather than `FOR UPDATE`: rows that
/// merely reference the site (a sign-in's session, an audit row) take `FOR KEY SHARE` on it,
/// which this mode does not block. SQLite: the write transaction began with `BEGIN IMMEDIATE`
/// and already holds the database's one write lock.
pub fn lock_site_admins(conn: &mut AnyConnection, tenant_id: &str) -> QueryResult<()> {
    match conn {
        AnyConnection::Postgresql(pg) => {
            diesel::sql_query("SELECT id FROM tenants WHERE id = $1 FOR NO KEY UPDATE")
                .bind::<diesel::sql_types::Text, _>(tenant_id)
                .execute(pg)?;
            Ok(())
        }
        AnyConnection::Sqlite(_) => Ok(()),
    }
}

/// Enabled admins of a site.
pub fn count_active_admins(conn: &mut AnyConnection, tenant_id: &str) -> QueryResult<i64> {
    users::table
        .filter(users::tenant_id.eq(tenant_id))
        .filter(users::role.eq("admin"))
        .filter(users::disabled.eq(false))
        .count()
        .get_result(conn)
}

/// Deletes the user; their sessions go with them (the foreign keys) and, through the log, every
/// token naming them.
pub fn delete(conn: &mut AnyConnection, id: &str, now: i64) -> QueryResult<()> {
    diesel::delete(users::table.find(id)).execute(conn)?;
    changed(conn, id, now)
}
