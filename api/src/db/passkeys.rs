//! Passkeys (WebAuthn credentials) and the single-use WebAuthn ceremony states every instance
//! shares. The library's structures arrive here already serialised as JSON.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::schema::{passkeys, webauthn_challenges};
use super::AnyConnection;
use crate::on_each_backend;

/// A stored passkey.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = passkeys)]
pub struct PasskeyRow {
    pub id: String,
    pub tenant_id: String,
    pub user_id: String,
    /// base64url (unpadded) of the credential ID.
    pub credential_id: String,
    /// The library's `Passkey`, JSON.
    pub credential: String,
    pub name: String,
    pub backup_eligible: bool,
    pub backed_up: bool,
    pub sign_count: i64,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// Stores a new passkey; `Ok(false)` when its credential ID is already registered (to anyone).
/// A passkey counts as a second factor: the user's change goes to the revocation log.
pub fn insert(conn: &mut AnyConnection, row: &PasskeyRow, now: i64) -> QueryResult<bool> {
    match diesel::insert_into(passkeys::table).values(row).execute(conn) {
        Ok(_) => super::users::changed(conn, &row.user_id, now).map(|()| true),
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The user's passkeys, oldest first.
pub fn list_of(conn: &mut AnyConnection, user_id: &str) -> QueryResult<Vec<PasskeyRow>> {
    passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .order((passkeys::created_at.asc(), passkeys::id.asc()))
        .select(PasskeyRow::as_select())
        .load(conn)
}

/// Whether the user has at least one passkey.
pub fn has_any(conn: &mut AnyConnection, user_id: &str) -> QueryResult<bool> {
    use diesel::dsl::{exists, select};
    select(exists(passkeys::table.filter(passkeys::user_id.eq(user_id)))).get_result(conn)
}

/// Whether the user has neither a second-factor method nor a passkey: what the site's
/// `require_2fa` asks them to set up (a passkey counts). The one-statement paths of
/// `db::sessions` say the same in SQL.
pub fn lacks_2fa(conn: &mut AnyConnection, user_id: &str) -> QueryResult<bool> {
    Ok(super::mfa::find(conn, user_id)?.is_none() && !has_any(conn, user_id)?)
}

/// One passkey of the user (`None` for another user's).
pub fn find_of_user(conn: &mut AnyConnection, user_id: &str, id: &str) -> QueryResult<Option<PasskeyRow>> {
    passkeys::table
        .find(id)
        .filter(passkeys::user_id.eq(user_id))
        .select(PasskeyRow::as_select())
        .first(conn)
        .optional()
}

/// The passkey with this credential ID (base64url), whoever it belongs to.
pub fn find_by_credential_id(conn: &mut AnyConnection, credential_id: &str) -> QueryResult<Option<PasskeyRow>> {
    passkeys::table
        .filter(passkeys::credential_id.eq(credential_id))
        .select(PasskeyRow::as_select())
        .first(conn)
        .optional()
}

/// Renames one passkey of the user; `false` when the user has no such passkey.
pub fn rename(conn: &mut AnyConnection, user_id: &str, id: &str, name: &str) -> QueryResult<bool> {
    Ok(diesel::update(passkeys::table.find(id).filter(passkeys::user_id.eq(user_id)))
        .set(passkeys::name.eq(name))
        .execute(conn)?
        == 1)
}

/// Removes one passkey of the user; `false` when the user has no such passkey.
pub fn delete_of_user(conn: &mut AnyConnection, user_id: &str, id: &str, now: i64) -> QueryResult<bool> {
    let gone = diesel::delete(passkeys::table.find(id).filter(passkeys::user_id.eq(user_id))).execute(conn)? == 1;
    if gone {
        super::users::changed(conn, user_id, now)?;
    }
    Ok(gone)
}

/// Removes every passkey of the user (an admin's 2FA reset); how many there were.
pub fn delete_all_of(conn: &mut AnyConnection, user_id: &str, now: i64) -> QueryResult<usize> {
    diesel::delete(webauthn_challenges::table.filter(webauthn_challenges::user_id.eq(user_id))).execute(conn)?;
    let n = diesel::delete(passkeys::table.filter(passkeys::user_id.eq(user_id))).execute(conn)?;
    if n > 0 {
        super::users::changed(conn, user_id, now)?;
    }
    Ok(n)
}

/// What a verified assertion changes on its passkey.
pub struct Use<'a> {
    pub id: &'a str,
    /// The library's `Passkey` after `update_credential`, JSON.
    pub credential: &'a str,
    pub backup_eligible: bool,
    pub backed_up: bool,
    /// The authenticator's signature counter in this assertion (0: it keeps none).
    pub counter: i64,
    pub now: i64,
}

/// Records a verified assertion in one conditional statement: with a counter, only when it is
/// above the stored one (so of two assertions racing with the same or older counter, one wins
/// and the other is refused as a possible clone, as WebAuthn §7.2 step 21 advises); without one
/// (synced passkeys keep none), only while the stored counter is still 0. `false`: refused.
pub fn record_use(conn: &mut AnyConnection, u: &Use<'_>) -> QueryResult<bool> {
    let target = passkeys::table.find(u.id);
    let changes = (
        passkeys::credential.eq(u.credential),
        passkeys::backup_eligible.eq(u.backup_eligible),
        passkeys::backed_up.eq(u.backed_up),
        passkeys::sign_count.eq(u.counter),
        passkeys::last_used_at.eq(Some(u.now)),
    );
    let changed = if u.counter > 0 {
        diesel::update(target.filter(passkeys::sign_count.lt(u.counter))).set(changes).execute(conn)?
    } else {
        diesel::update(target.filter(passkeys::sign_count.eq(0))).set(changes).execute(conn)?
    };
    Ok(changed == 1)
}

/// A ceremony state about to be stored.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = webauthn_challenges)]
pub struct NewChallenge {
    pub id: String,
    /// `None` for a sign-in at an unknown site: such a challenge never succeeds.
    pub tenant_id: Option<String>,
    /// `None` for a discoverable sign-in.
    pub user_id: Option<String>,
    /// `register`, `signin` or `reauth`.
    pub purpose: String,
    /// The library's ceremony state, JSON.
    pub state: String,
    pub created_at: i64,
    pub expires_at: i64,
}

pub fn put_challenge(conn: &mut AnyConnection, c: &NewChallenge) -> QueryResult<()> {
    diesel::insert_into(webauthn_challenges::table).values(c).execute(conn)?;
    Ok(())
}

/// A challenge taken out of the store.
#[derive(Debug, QueryableByName)]
pub struct Taken {
    #[diesel(sql_type = Nullable<Text>)]
    pub tenant_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub user_id: Option<String>,
    #[diesel(sql_type = Text)]
    pub state: String,
}

/// Takes a live challenge of `purpose` out of the store: ONE statement (`DELETE … RETURNING`, on
/// PostgreSQL and on SQLite ≥ 3.35) that removes it and hands back its state, so of any number of
/// requests presenting the same challenge at once exactly one gets it, on one instance or many.
/// `None`: unknown, expired, of another purpose, or already taken.
pub fn take_challenge(conn: &mut AnyConnection, id: &str, purpose: &str, now: i64) -> QueryResult<Option<Taken>> {
    let sql = "DELETE FROM webauthn_challenges WHERE id = ? AND purpose = ? AND expires_at > ? \
               RETURNING tenant_id, user_id, state";
    on_each_backend!(conn, sql, |c, q| q
        .bind::<Text, _>(id)
        .bind::<Text, _>(purpose)
        .bind::<BigInt, _>(now)
        .get_result::<Taken>(c)
        .optional())
}

/// Forgets expired challenges (the periodic housekeeping).
pub fn purge_expired_challenges(conn: &mut AnyConnection, now: i64) -> QueryResult<usize> {
    diesel::delete(webauthn_challenges::table.filter(webauthn_challenges::expires_at.le(now))).execute(conn)
}
