//! Refresh-token families (one per sign-in), rotation with re-use detection.
//!
//! A user's access token names its session (`sid`, the family id) and dies with it: revoking a
//! family is enough, and nothing is written per access token a session issues. Revoking writes
//! the session to the revocation log ([`super::revocations`]), which every instance's view follows.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};

use super::schema::{refresh_families, refresh_tokens};
use super::AnyConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_families)]
pub struct Family {
    pub id: String,
    pub user_id: String,
    pub tenant_id: String,
    pub created_at: i64,
    pub auth_time: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    /// JSON array of the sign-in's authentication methods.
    pub amr: String,
    pub acr: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<String>,
}

impl Family {
    pub fn amr_list(&self) -> Vec<String> {
        serde_json::from_str(&self.amr).unwrap_or_default()
    }

    /// Alive at `now` with an idle limit of `idle_secs`.
    pub fn is_alive(&self, now: i64, idle_secs: i64) -> bool {
        self.revoked_at.is_none() && now < self.expires_at && now < self.last_used_at + idle_secs
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
struct RefreshToken {
    token_hash: String,
    family_id: String,
    created_at: i64,
    used_at: Option<i64>,
}

pub fn insert_family(conn: &mut AnyConnection, family: &Family) -> QueryResult<()> {
    diesel::insert_into(refresh_families::table).values(family).execute(conn)?;
    Ok(())
}

pub fn find_family(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<Family>> {
    refresh_families::table.find(id).select(Family::as_select()).first(conn).optional()
}

/// Adds a live refresh token (its hash) to a family.
pub fn insert_refresh_token(conn: &mut AnyConnection, family_id: &str, token_hash: &str, now: i64) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(&RefreshToken {
            token_hash: token_hash.into(),
            family_id: family_id.into(),
            created_at: now,
            used_at: None,
        })
        .execute(conn)?;
    Ok(())
}

/// What presenting a refresh token led to.
#[derive(Debug)]
pub enum Spend {
    /// The token was live and is now spent; the caller issues its successor.
    Spent(Family),
    /// The token had been spent before: a replay. The family must die.
    Reused(Family),
    /// Unknown, or its family is revoked, expired or idle too long.
    Invalid,
}

/// Spends a refresh token with one conditional `UPDATE … WHERE used_at IS NULL`: of two
/// concurrent spenders exactly one wins, whatever the instance.
pub fn spend(conn: &mut AnyConnection, token_hash: &str, now: i64, idle_secs: i64) -> QueryResult<Spend> {
    let won = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(token_hash))
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(now))
    .execute(conn)?
        == 1;
    let family = refresh_tokens::table
        .inner_join(refresh_families::table)
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(Family::as_select())
        .first(conn)
        .optional()?;
    Ok(match family {
        None => Spend::Invalid,
        Some(f) if !won => {
            if f.revoked_at.is_none() {
                Spend::Reused(f)
            } else {
                Spend::Invalid
            }
        }
        Some(f) if !f.is_alive(now, idle_secs) => Spend::Invalid,
        Some(f) => Spend::Spent(f),
    })
}

/// A rotation of a refresh token, as [`rotate_live`] takes it: the presented token's hash and the
/// successor's hash, made by the caller.
pub struct Rotation<'a> {
    pub presented_hash: &'a str,
    pub successor_hash: &'a str,
    pub idle_secs: i64,
    pub now: i64,
}

/// What the new access token needs after a [`rotate_live`].
#[derive(QueryableByName)]
pub struct Rotated {
    #[diesel(sql_type = Text)]
    pub family_id: String,
    #[diesel(sql_type = Text)]
    pub user_id: String,
    #[diesel(sql_type = Text)]
    pub tenant_id: String,
    #[diesel(sql_type = Text)]
    pub role: String,
    #[diesel(sql_type = BigInt)]
    pub auth_time: i64,
    #[diesel(sql_type = BigInt)]
    pub expires_at: i64,
    /// JSON array, as in [`Family::amr`].
    #[diesel(sql_type = Text)]
    pub amr: String,
    #[diesel(sql_type = Text)]
    pub acr: String,
    #[diesel(sql_type = Bool)]
    pub mfa_setup_required: bool,
}

/// The whole rotation of a live token as one PostgreSQL statement (atomic on its own, one round
/// trip): spend the token, touch the family, add the successor, and read what the access token
/// carries. It only acts on a live token of a live family whose user is
/// enabled, and answers `None` otherwise, having changed nothing (or, when the family was revoked
/// at the same moment, only spent the token, as [`spend`] would). The caller then takes the steps
/// of [`spend`], which tell a replay from an unknown token. The conditions on the token and on the
/// family are checked again on the rows as they are when locked, so a concurrent spend or
/// revocation wins as it does in [`spend`].
const ROTATE_LIVE_SQL: &str = "\
WITH live AS (
    SELECT r.family_id FROM refresh_tokens r
    JOIN refresh_families f ON f.id = r.family_id
    JOIN users u ON u.id = f.user_id
    WHERE r.token_hash = ? AND r.used_at IS NULL
      AND f.revoked_at IS NULL AND f.expires_at > ? AND f.last_used_at + ? > ?
      AND NOT u.disabled
), spent AS (
    UPDATE refresh_tokens SET used_at = ?
    WHERE token_hash = ? AND used_at IS NULL AND family_id IN (SELECT family_id FROM live)
    RETURNING family_id
), family AS (
    UPDATE refresh_families SET last_used_at = ?
    WHERE id IN (SELECT family_id FROM spent) AND revoked_at IS NULL
    RETURNING id, user_id, auth_time, expires_at, amr, acr
), successor AS (
    INSERT INTO refresh_tokens (token_hash, family_id, created_at) SELECT ?, id, ? FROM family
)
SELECT family.id AS family_id, u.id AS user_id, u.tenant_id, u.role, family.auth_time,
       family.expires_at, family.amr, family.acr,
       (t.require_2fa AND NOT EXISTS (SELECT 1 FROM user_mfa m WHERE m.user_id = u.id)
        AND NOT EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = u.id)) AS mfa_setup_required
FROM family JOIN users u ON u.id = family.user_id JOIN tenants t ON t.id = u.tenant_id";

/// The rotation of a live token in one statement ([`ROTATE_LIVE_SQL`]) where the database has
/// one for it: PostgreSQL. `None` means "take the steps of [`spend`]": always on SQLite.
pub fn rotate_live(conn: &mut AnyConnection, r: &Rotation<'_>) -> QueryResult<Option<Rotated>> {
    match conn {
        AnyConnection::Postgresql(pg) => rotate_live_in_one_statement(pg, r),
        AnyConnection::Sqlite(_) => Ok(None),
    }
}

/// See [`ROTATE_LIVE_SQL`]; kept prepared on the connection.
fn rotate_live_in_one_statement(conn: &mut diesel::PgConnection, r: &Rotation<'_>) -> QueryResult<Option<Rotated>> {
    use super::statement::{Bind, Statement};
    let (presented, now) = (Bind::Text(r.presented_hash), Bind::BigInt(r.now));
    Statement::new(
        ROTATE_LIVE_SQL,
        vec![presented, now, Bind::BigInt(r.idle_secs), now, now, presented, now, Bind::Text(r.successor_hash), now],
    )
    .get_result(conn)
    .optional()
}

/// What a sign-in writes, for [`open`].
pub struct Opening<'a> {
    pub family: &'a Family,
    pub refresh_hash: &'a str,
    /// A family of the same device and address created since then means the device is known.
    pub seen_since: i64,
    pub audit: &'a super::audit::AuditEvent,
    /// Queued only when the device is new.
    pub notice: &'a super::outbox::OutboxRow,
    /// The password attempt this sign-in gives back (see [`super::attempts`]), if any.
    pub give_back: Option<super::attempts::GiveBack<'a>>,
}

/// What [`open`] found.
#[derive(QueryableByName)]
pub struct Opened {
    #[diesel(sql_type = Bool)]
    pub new_device: bool,
    #[diesel(sql_type = Bool)]
    pub mfa_setup_required: bool,
}

/// A sign-in as one PostgreSQL statement (atomic on its own, one round trip): the new family, the
/// user's `last_sign_in_at`, the first refresh token, the audit event,
/// and the new-device notice when no family of the same device and address was created since
/// `seen_since` (the statement's snapshot does not see the family it inserts). It reads whether
/// the site requires 2FA of a user who has none, for the access token. The steps it replaces are
/// in [`open_in_steps`], which SQLite takes. It also gives back the password attempt of the
/// sign-in ([`super::attempts::PASSWORD`]); with no attempt to give back, its key is NULL and
/// that part matches no row.
const OPEN_SQL: &str = "\
WITH family AS (
    INSERT INTO refresh_families
        (id, user_id, tenant_id, created_at, auth_time, last_used_at, expires_at, amr, acr, ip, user_agent)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    RETURNING id
), touched AS (
    UPDATE users SET last_sign_in_at = ? WHERE id = ?
), token AS (
    INSERT INTO refresh_tokens (token_hash, family_id, created_at) SELECT ?, id, ? FROM family
), audit AS (
    INSERT INTO audit_events (id, tenant_id, at, kind, user_id, actor_id, ip, user_agent, details)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
), seen AS (
    SELECT EXISTS (
        SELECT 1 FROM refresh_families
        WHERE user_id = ? AND created_at >= ? AND ip IS NOT DISTINCT FROM ? AND user_agent IS NOT DISTINCT FROM ?
    ) AS known
), notice AS (
    INSERT INTO outbox (id, recipient, subject, sealed_body, created_at, attempts, next_attempt_at)
    SELECT ?, ?, ?, ?, ?, ?, ? FROM seen WHERE NOT seen.known
), given_back AS (
    UPDATE login_throttle SET failures = 0, locked_until = NULL,
    pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END WHERE key = ?
)
SELECT NOT seen.known AS new_device,
       (t.require_2fa AND NOT EXISTS (SELECT 1 FROM user_mfa m WHERE m.user_id = ?)
        AND NOT EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = ?)) AS mfa_setup_required
FROM seen, tenants t WHERE t.id = ?";

/// The writes of a sign-in inside the caller's transaction: [`OPEN_SQL`] on PostgreSQL (one
/// statement), [`open_in_steps`] on SQLite.
pub fn open(conn: &mut AnyConnection, o: &Opening<'_>) -> QueryResult<Opened> {
    match conn {
        AnyConnection::Postgresql(pg) => open_in_one_statement(pg, o),
        AnyConnection::Sqlite(_) => open_in_steps(conn, o),
    }
}

/// [`open`] as a change of its own: on PostgreSQL the one statement is atomic without a
/// transaction (`BEGIN` and `COMMIT` would be two round trips more); SQLite takes a write
/// transaction around the steps.
pub fn open_alone(conn: &mut AnyConnection, o: &Opening<'_>) -> QueryResult<Opened> {
    match conn {
        AnyConnection::Postgresql(pg) => open_in_one_statement(pg, o),
        AnyConnection::Sqlite(_) => super::write_tx(conn, |conn| open_in_steps(conn, o)),
    }
}

/// The writes of [`OPEN_SQL`] one statement at a time, inside the caller's transaction: what
/// SQLite runs, and what the parity test compares the PostgreSQL statement with.
pub fn open_in_steps(conn: &mut AnyConnection, o: &Opening<'_>) -> QueryResult<Opened> {
    let f = o.family;
    let (ip, ua) = (f.ip.as_deref(), f.user_agent.as_deref());
    // Before the family is inserted: the new one must not count as the device seen before.
    let known = seen_device(conn, &f.user_id, ip, ua, o.seen_since, &f.id)?;
    insert_family(conn, f)?;
    super::users::touch_sign_in(conn, &f.user_id, f.created_at)?;
    insert_refresh_token(conn, &f.id, o.refresh_hash, f.created_at)?;
    diesel::insert_into(super::schema::audit_events::table).values(o.audit).execute(conn)?;
    if !known {
        super::outbox::enqueue(conn, o.notice)?;
    }
    if let Some(back) = &o.give_back {
        super::attempts::PASSWORD.give_back(conn, back.key)?;
    }
    let require_2fa = super::tenants::find(conn, &f.tenant_id)?.is_some_and(|t| t.require_2fa);
    let mfa_setup_required = require_2fa && super::passkeys::lacks_2fa(conn, &f.user_id)?;
    Ok(Opened { new_device: !known, mfa_setup_required })
}

/// See [`OPEN_SQL`]; kept prepared on the connection.
fn open_in_one_statement(conn: &mut diesel::PgConnection, o: &Opening<'_>) -> QueryResult<Opened> {
    use super::statement::{Bind, Statement};
    let (f, a, n) = (o.family, o.audit, o.notice);
    let (user, ip, ua) =
        (Bind::Text(&f.user_id), Bind::NullableText(f.ip.as_deref()), Bind::NullableText(f.user_agent.as_deref()));
    let now = Bind::BigInt(f.created_at);
    Statement::new(
        OPEN_SQL,
        vec![
            // family
            Bind::Text(&f.id),
            user,
            Bind::Text(&f.tenant_id),
            now,
            Bind::BigInt(f.auth_time),
            Bind::BigInt(f.last_used_at),
            Bind::BigInt(f.expires_at),
            Bind::Text(&f.amr),
            Bind::Text(&f.acr),
            ip,
            ua,
            // touched
            now,
            user,
            // token
            Bind::Text(o.refresh_hash),
            now,
            // audit
            Bind::Text(&a.id),
            Bind::NullableText(a.tenant_id.as_deref()),
            Bind::BigInt(a.at),
            Bind::Text(&a.kind),
            Bind::NullableText(a.user_id.as_deref()),
            Bind::NullableText(a.actor_id.as_deref()),
            Bind::NullableText(a.ip.as_deref()),
            Bind::NullableText(a.user_agent.as_deref()),
            Bind::Text(&a.details),
            // seen
            user,
            Bind::BigInt(o.seen_since),
            ip,
            ua,
            // notice
            Bind::Text(&n.id),
            Bind::Text(&n.recipient),
            Bind::Text(&n.subject),
            Bind::Text(&n.sealed_body),
            Bind::BigInt(n.created_at),
            Bind::Integer(n.attempts),
            Bind::BigInt(n.next_attempt_at),
            // given back
            Bind::NullableText(o.give_back.as_ref().map(|b| b.key)),
            // result (a passkey counts as 2FA)
            user,
            user,
            Bind::Text(&f.tenant_id),
        ],
    )
    .get_result(conn)
}

/// The family a refresh token belongs to, spent or not (for logout).
pub fn family_of_token(conn: &mut AnyConnection, token_hash: &str) -> QueryResult<Option<Family>> {
    refresh_tokens::table
        .inner_join(refresh_families::table)
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(Family::as_select())
        .first(conn)
        .optional()
}

pub fn touch_family(conn: &mut AnyConnection, id: &str, now: i64) -> QueryResult<()> {
    diesel::update(refresh_families::table.find(id)).set(refresh_families::last_used_at.eq(now)).execute(conn)?;
    Ok(())
}

/// A fresh sign-in inside the session: new `auth_time`, and every live token of the family spent
/// (the caller hands out a new one).
pub fn reauthenticate(conn: &mut AnyConnection, id: &str, now: i64, amr: &[String], acr: &str) -> QueryResult<()> {
    diesel::update(refresh_families::table.find(id))
        .set((
            refresh_families::auth_time.eq(now),
            refresh_families::last_used_at.eq(now),
            refresh_families::amr.eq(serde_json::to_string(amr).unwrap_or_else(|_| "[]".into())),
            refresh_families::acr.eq(acr),
        ))
        .execute(conn)?;
    diesel::update(
        refresh_tokens::table.filter(refresh_tokens::family_id.eq(id)).filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Ends a family: no refresh token of it works again, and neither does any access token it
/// issued (its `sid` goes into the revocation log with the change, and every instance's view
/// refuses it). Returns whether it was alive before.
pub fn revoke_family(conn: &mut AnyConnection, id: &str, reason: &str, now: i64) -> QueryResult<bool> {
    let ended = diesel::update(refresh_families::table.find(id).filter(refresh_families::revoked_at.is_null()))
        .set((refresh_families::revoked_at.eq(now), refresh_families::revoked_reason.eq(reason)))
        .execute(conn)?
        == 1;
    if ended {
        super::revocations::record(conn, super::revocations::Change::Session(id.to_string()), now)?;
    }
    Ok(ended)
}

/// Ends every live family of a user (except `keep`); returns how many ended.
pub fn revoke_user_families(
    conn: &mut AnyConnection,
    user_id: &str,
    keep: Option<&str>,
    reason: &str,
    now: i64,
) -> QueryResult<usize> {
    let ids: Vec<String> = refresh_families::table
        .filter(refresh_families::user_id.eq(user_id))
        .filter(refresh_families::revoked_at.is_null())
        .select(refresh_families::id)
        .load(conn)?;
    let mut n = 0;
    for id in ids.iter().filter(|id| Some(id.as_str()) != keep) {
        if revoke_family(conn, id, reason, now)? {
            n += 1;
        }
    }
    Ok(n)
}

/// Whether the session `sid` still exists and has not been ended: what an access token naming it
/// needs when the revocation view cannot be trusted. One query.
pub fn is_live(conn: &mut AnyConnection, sid: &str) -> QueryResult<bool> {
    use diesel::dsl::{exists, select};
    select(exists(refresh_families::table.find(sid).filter(refresh_families::revoked_at.is_null()))).get_result(conn)
}

/// The user's live sessions (families), newest first.
pub fn live_families(conn: &mut AnyConnection, user_id: &str, now: i64, idle_secs: i64) -> QueryResult<Vec<Family>> {
    let all: Vec<Family> = refresh_families::table
        .filter(refresh_families::user_id.eq(user_id))
        .filter(refresh_families::revoked_at.is_null())
        .filter(refresh_families::expires_at.gt(now))
        .order(refresh_families::created_at.desc())
        .select(Family::as_select())
        .load(conn)?;
    Ok(all.into_iter().filter(|f| f.is_alive(now, idle_secs)).collect())
}

/// Has this user signed in from this address and device within `since`, besides `except`?
pub fn seen_device(
    conn: &mut AnyConnection,
    user_id: &str,
    ip: Option<&str>,
    user_agent: Option<&str>,
    since: i64,
    except: &str,
) -> QueryResult<bool> {
    let mut q = refresh_families::table
        .filter(refresh_families::user_id.eq(user_id))
        .filter(refresh_families::created_at.ge(since))
        .filter(refresh_families::id.ne(except))
        .into_boxed();
    q = match ip {
        Some(ip) => q.filter(refresh_families::ip.eq(ip.to_string())),
        None => q.filter(refresh_families::ip.is_null()),
    };
    q = match user_agent {
        Some(ua) => q.filter(refresh_families::user_agent.eq(ua.to_string())),
        None => q.filter(refresh_families::user_agent.is_null()),
    };
    Ok(q.count().get_result::<i64>(conn)? > 0)
}
