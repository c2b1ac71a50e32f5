//! Sessions: a sign-in creates a refresh family and the first tokens; refreshes rotate them.
//! Everything here runs inside one database transaction opened by the caller, except
//! [`refresh`], which opens its own.

use crate::auth::jwt::{Claims, KeySet};
use crate::auth::tokens::{new_refresh_token, token_hash};
use crate::db::attempts::GiveBack;
use crate::db::audit::{self, NewEvent, Origin};
use crate::db::sessions::{self, Family, Spend};
use crate::db::tenants::Tenant;
use crate::db::users::User;
use crate::db::{tenants, users, write_tx, AnyConnection};
use crate::error::ApiError;

/// Lifetimes of what a session hands out.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub access_secs: i64,
    pub family_max_secs: i64,
    pub family_idle_secs: i64,
}

/// Tokens handed to the client after a successful sign-in, refresh or re-authentication.
#[derive(Debug)]
pub struct Issued {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: String,
    /// Seconds the family has left (the cookie's `Max-Age`).
    pub refresh_max_age: i64,
    pub family_id: String,
}

/// How the user proved who they are at sign-in.
#[derive(Debug, Clone)]
pub struct Authentication {
    /// RFC 8176 values and ours: `pwd`, `sso` + the kind, `otp`/`email`/`backup_code` + `mfa`
    /// for a presented second factor, and `trusted_device` when a remembered browser stood in
    /// for the second factor (it was not presented at this sign-in).
    pub amr: Vec<String>,
    pub acr: &'static str,
}

impl Authentication {
    pub fn password() -> Self {
        Self { amr: vec!["pwd".into()], acr: "aal1" }
    }
}

/// A stable key for per-account throttling from what was submitted, real account or not.
pub fn account_key(tenant_slug: &str, email: &str) -> String {
    token_hash(&format!("account\n{tenant_slug}\n{email}"))
}

/// Signs a user's access token for `family`. Nothing is recorded: the token names the family
/// (`sid`) and dies with it.
pub fn mint_access_token(
    conn: &mut AnyConnection,
    keys: &KeySet,
    life: Lifetimes,
    user: &User,
    family: &Family,
    now: i64,
) -> Result<String, ApiError> {
    mint_access_token_with_policy(conn, keys, life, user, family, now, None)
}

/// As [`mint_access_token`], with the site's `require_2fa` when the caller already read it.
fn mint_access_token_with_policy(
    conn: &mut AnyConnection,
    keys: &KeySet,
    life: Lifetimes,
    user: &User,
    family: &Family,
    now: i64,
    require_2fa: Option<bool>,
) -> Result<String, ApiError> {
    let require_2fa = match require_2fa {
        Some(known) => known,
        None => tenants::find(conn, &user.tenant_id)?.is_some_and(|t| t.require_2fa),
    };
    let setup_required = require_2fa && crate::db::passkeys::lacks_2fa(conn, &user.id)?;
    let holder = Holder::of(user, family, setup_required);
    let claims = holder.claims(keys, life, time_ordered_id(), now);
    keys.sign(&claims).map_err(ApiError::internal)
}

/// Whom a user's access token is for: the user and the session (refresh family) it belongs to.
struct Holder<'a> {
    user_id: &'a str,
    tenant_id: &'a str,
    role: &'a str,
    session_id: &'a str,
    auth_time: i64,
    amr: Vec<String>,
    acr: &'a str,
    setup_required: bool,
}

impl<'a> Holder<'a> {
    /// The holder of `user`'s access token for `family`.
    fn of(user: &'a User, family: &'a Family, setup_required: bool) -> Self {
        Self {
            user_id: &user.id,
            tenant_id: &user.tenant_id,
            role: &user.role,
            session_id: &family.id,
            auth_time: family.auth_time,
            amr: family.amr_list(),
            acr: &family.acr,
            setup_required,
        }
    }

    fn claims(self, keys: &KeySet, life: Lifetimes, jti: String, now: i64) -> Claims {
        Claims {
            iss: keys.issuer().to_string(),
            sub: self.user_id.to_string(),
            aud: keys.audience().to_string(),
            exp: now + life.access_secs,
            iat: now,
            nbf: now,
            jti,
            tid: self.tenant_id.to_string(),
            role: Some(self.role.to_string()),
            auth_time: Some(self.auth_time),
            amr: self.amr,
            acr: Some(self.acr.to_string()),
            sid: Some(self.session_id.to_string()),
            mfa_setup_required: self.setup_required.then_some(true),
            client_id: None,
            scope: None,
        }
    }
}

/// A sign-in from a device and address not seen for the user in this long e-mails the user.
pub const NEW_DEVICE_WINDOW_SECS: i64 = 30 * 86_400;

/// Signs `user` in: a new session (family, first refresh token, access token), the sign-in
/// recorded on the user and as `sign_in_succeeded` in the audit log (`details` plus the session's
/// id), and a notice queued when the device and address are new to the user. Runs inside the
/// caller's transaction ([`sessions::open`]: one statement on PostgreSQL).
#[expect(clippy::too_many_arguments, reason = "one transaction step with its whole context")]
pub fn sign_in(
    conn: &mut AnyConnection,
    data_key: &crate::auth::secrets::DataKey,
    keys: &KeySet,
    life: Lifetimes,
    user: &User,
    how: &Authentication,
    origin: &Origin,
    now: i64,
    details: serde_json::Value,
) -> Result<Issued, ApiError> {
    let start = Start { data_key, keys, life, user, how, origin, now };
    start.run(conn, details, None, false)
}

/// Everything a sign-in's writes need but the connection.
pub struct Start<'a> {
    pub data_key: &'a crate::auth::secrets::DataKey,
    pub keys: &'a KeySet,
    pub life: Lifetimes,
    pub user: &'a User,
    pub how: &'a Authentication,
    pub origin: &'a Origin,
    pub now: i64,
}

impl Start<'_> {
    /// The sign-in of [`sign_in`], giving back the password attempt `give_back` in the same
    /// change; `alone`: the writes are a change of their own ([`sessions::open_alone`]), not part
    /// of the caller's transaction.
    pub fn run(
        &self,
        conn: &mut AnyConnection,
        mut details: serde_json::Value,
        give_back: Option<GiveBack<'_>>,
        alone: bool,
    ) -> Result<Issued, ApiError> {
        let (user, now) = (self.user, self.now);
        let family = Family {
            id: time_ordered_id(),
            user_id: user.id.clone(),
            tenant_id: user.tenant_id.clone(),
            created_at: now,
            auth_time: now,
            last_used_at: now,
            expires_at: now + self.life.family_max_secs,
            amr: serde_json::to_string(&self.how.amr).unwrap_or_else(|_| "[]".into()),
            acr: self.how.acr.to_string(),
            ip: self.origin.ip.clone(),
            user_agent: self.origin.user_agent.as_deref().map(|ua| ua.chars().take(512).collect()),
            revoked_at: None,
            revoked_reason: None,
        };
        if let Some(map) = details.as_object_mut() {
            map.insert("session_id".into(), family.id.clone().into());
        }
        let event = NewEvent {
            tenant_id: Some(&user.tenant_id),
            kind: "sign_in_succeeded",
            user_id: Some(&user.id),
            actor_id: Some(&user.id),
            details,
        };
        let refresh_token = new_refresh_token();
        let opening = sessions::Opening {
            family: &family,
            refresh_hash: &token_hash(&refresh_token),
            seen_since: now - NEW_DEVICE_WINDOW_SECS,
            audit: &audit::row(self.origin, now, event),
            notice: &new_device_notice(self.data_key, user, &family, self.origin, now),
            give_back,
        };
        let opened = if alone { sessions::open_alone(conn, &opening)? } else { sessions::open(conn, &opening)? };
        let holder = Holder::of(user, &family, opened.mfa_setup_required);
        let access_token =
            self.keys.sign(&holder.claims(self.keys, self.life, time_ordered_id(), now)).map_err(ApiError::internal)?;
        Ok(Issued {
            access_token,
            expires_in: self.life.access_secs,
            refresh_token,
            refresh_max_age: (family.expires_at - now).max(0),
            family_id: family.id,
        })
    }
}

/// The e-mail a sign-in from a new device and address sends the user.
fn new_device_notice(
    data_key: &crate::auth::secrets::DataKey,
    user: &User,
    family: &Family,
    origin: &Origin,
    now: i64,
) -> crate::db::outbox::OutboxRow {
    use crate::notices::{sealed, Letter, Recipient};
    let device = crate::domain::device_name(family.user_agent.as_deref().unwrap_or(""));
    let at = crate::clock::rfc3339(now);
    let letter = Letter::NewSignIn { device: &device, address: family.ip.as_deref(), at: &at };
    sealed(data_key, &Recipient::user(user, origin.browser_locale), &letter, now)
}

fn hand_out(
    conn: &mut AnyConnection,
    keys: &KeySet,
    life: Lifetimes,
    user: &User,
    family: &Family,
    now: i64,
    require_2fa: Option<bool>,
) -> Result<Issued, ApiError> {
    let refresh_token = new_refresh_token();
    sessions::insert_refresh_token(conn, &family.id, &token_hash(&refresh_token), now)?;
    let access_token = mint_access_token_with_policy(conn, keys, life, user, family, now, require_2fa)?;
    Ok(Issued {
        access_token,
        expires_in: life.access_secs,
        refresh_token,
        refresh_max_age: (family.expires_at - now).max(0),
        family_id: family.id.clone(),
    })
}

/// What a refresh came to; a re-use is committed (the family dies) before the error is answered.
pub enum Refreshed {
    Ok(Issued),
    Refused,
}

/// Rotates a refresh token. A replay of a spent token ends its family and is audited. Opens its
/// own transaction: the common case (a live token of a live session) is one statement where the
/// database has one for it ([`sessions::rotate_live`], PostgreSQL); everything else takes the
/// steps of [`refresh_in_steps`].
pub fn refresh(
    conn: &mut AnyConnection,
    keys: &KeySet,
    life: Lifetimes,
    presented: &str,
    origin: &Origin,
    now: i64,
) -> Result<Refreshed, ApiError> {
    let presented_hash = token_hash(presented);
    {
        let successor = new_refresh_token();
        let jti = time_ordered_id();
        let rotation = sessions::Rotation {
            presented_hash: &presented_hash,
            successor_hash: &token_hash(&successor),
            idle_secs: life.family_idle_secs,
            now,
        };
        if let Some(r) = sessions::rotate_live(conn, &rotation)? {
            let holder = Holder {
                user_id: &r.user_id,
                tenant_id: &r.tenant_id,
                role: &r.role,
                session_id: &r.family_id,
                auth_time: r.auth_time,
                amr: serde_json::from_str(&r.amr).unwrap_or_default(),
                acr: &r.acr,
                setup_required: r.mfa_setup_required,
            };
            // Signing with the key parsed at start-up cannot fail; the rotation is committed.
            let access_token = keys.sign(&holder.claims(keys, life, jti, now)).map_err(ApiError::internal)?;
            return Ok(Refreshed::Ok(Issued {
                access_token,
                expires_in: life.access_secs,
                refresh_token: successor,
                refresh_max_age: (r.expires_at - now).max(0),
                family_id: r.family_id,
            }));
        }
    }
    write_tx(conn, |conn| refresh_in_steps(conn, keys, life, &presented_hash, origin, now))
}

/// The rotation in steps, inside the caller's transaction: every outcome, on both databases (what
/// SQLite always takes, and what the parity test compares PostgreSQL's one statement with).
pub fn refresh_in_steps(
    conn: &mut AnyConnection,
    keys: &KeySet,
    life: Lifetimes,
    presented_hash: &str,
    origin: &Origin,
    now: i64,
) -> Result<Refreshed, ApiError> {
    match sessions::spend(conn, presented_hash, now, life.family_idle_secs)? {
        Spend::Invalid => Ok(Refreshed::Refused),
        Spend::Reused(family) => {
            sessions::revoke_family(conn, &family.id, "refresh_token_reused", now)?;
            audit::record(
                conn,
                origin,
                now,
                NewEvent {
                    tenant_id: Some(&family.tenant_id),
                    kind: "refresh_token_reused",
                    user_id: Some(&family.user_id),
                    actor_id: None,
                    details: serde_json::json!({ "session_id": family.id }),
                },
            )?;
            Ok(Refreshed::Refused)
        }
        Spend::Spent(mut family) => {
            let found = users::find_with_site_policy(conn, &family.user_id)?;
            let Some((user, require_2fa)) = found.filter(|(u, _)| !u.disabled) else {
                sessions::revoke_family(conn, &family.id, "user_unavailable", now)?;
                return Ok(Refreshed::Refused);
            };
            sessions::touch_family(conn, &family.id, now)?;
            family.last_used_at = now;
            hand_out(conn, keys, life, &user, &family, now, Some(require_2fa)).map(Refreshed::Ok)
        }
    }
}

/// A fresh sign-in inside an existing session: new `auth_time`, a rotated refresh token.
pub fn reauthenticate(
    conn: &mut AnyConnection,
    keys: &KeySet,
    life: Lifetimes,
    user: &User,
    family_id: &str,
    how: &Authentication,
    now: i64,
) -> Result<Issued, ApiError> {
    let family = sessions::find_family(conn, family_id)?
        .filter(|f| f.user_id == user.id && f.is_alive(now, life.family_idle_secs))
        .ok_or(ApiError::Unauthenticated)?;
    sessions::reauthenticate(conn, &family.id, now, &how.amr, how.acr)?;
    let family = sessions::find_family(conn, &family.id)?.ok_or(ApiError::Unauthenticated)?;
    hand_out(conn, keys, life, user, &family, now, None)
}

/// The user and site behind a submitted (site slug, e-mail), if both exist.
pub fn find_account(conn: &mut AnyConnection, slug: &str, email: &str) -> Result<Option<(Tenant, User)>, ApiError> {
    let Some(tenant) = tenants::find_by_slug(conn, slug)? else { return Ok(None) };
    Ok(users::find_by_email(conn, &tenant.id, email)?.map(|u| (tenant, u)))
}

/// A session id or token id: time-ordered (UUIDv7), so that each new row lands at the end of its
/// primary-key index instead of on a random page of it. Neither is a secret: the session id is
/// listed to its user with its creation time, and a token's id travels beside its `iat`.
fn time_ordered_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::time_ordered_id;

    #[test]
    fn session_and_token_ids_are_time_ordered() {
        let ids: Vec<String> = (0..1000).map(|_| time_ordered_id()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "each id sorts after the one before");
        assert!(ids.iter().all(|id| uuid::Uuid::parse_str(id).is_ok_and(|u| u.get_version_num() == 7)));
    }
}
