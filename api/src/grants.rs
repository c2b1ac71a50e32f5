//! Changes that take a grant away (DESIGN habit 14): a role change, disabling, deleting, a
//! second-factor reset, a password change or reset. Each ends, in its own transaction, the
//! sessions, reset links and trusted devices that carried the old grant, so nothing issued
//! before the change outlives it. No actix: the route modules call one function and map the outcome.

use diesel::QueryResult;

use crate::auth::session::account_key;
use crate::auth::signin::trusted;
use crate::db::audit::{self, NewEvent, Origin};
use crate::db::users::User;
use crate::db::{password_resets, sessions, sso, tenants, throttle, users, write_tx, AnyConnection};
use crate::error::ApiError;
use crate::notices::{self, ConnectionLine, Letter, Recipient};

/// What [`end_grants`] ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ended {
    /// Sessions (refresh families) ended; every access token names its session and dies with it.
    pub sessions: usize,
    /// Open password reset links voided.
    pub links: usize,
}

/// Ends every session of the user but `keep` and voids every open reset link, inside the
/// caller's transaction: a link or a token issued before the change cannot act after it.
pub fn end_grants(
    conn: &mut AnyConnection,
    user_id: &str,
    keep: Option<&str>,
    reason: &str,
    now: i64,
) -> QueryResult<Ended> {
    let sessions = sessions::revoke_user_families(conn, user_id, keep, reason, now)?;
    let links = password_resets::void_all(conn, user_id, now)?;
    Ok(Ended { sessions, links })
}

/// The refusals that protect a site from locking itself out, taken under the site's admin lock
/// ([`users::lock_site_admins`], which the caller took before reading `user`): an admin cannot
/// remove themselves, nor the last enabled admin. Two admins removing each other at the same
/// moment are taken one after the other, and the second sees that only one admin is left.
fn guard_self_and_last_admin(conn: &mut AnyConnection, actor: &User, user: &User) -> Result<(), ApiError> {
    if actor.id == user.id {
        return Err(ApiError::SelfActionForbidden("an admin cannot disable, delete or demote themselves".into()));
    }
    if user.role == "admin" && !user.disabled && users::count_active_admins(conn, &user.tenant_id)? <= 1 {
        return Err(ApiError::SelfActionForbidden("the site's last admin cannot be removed".into()));
    }
    Ok(())
}

/// An admin's edit of a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserEdit {
    pub display_name: Option<String>,
    /// `admin` or `agent`.
    pub role: Option<String>,
    pub disabled: Option<bool>,
}

/// Applies an admin's edit of user `id` of the actor's site in one transaction with its audit
/// row. Disabling or changing the role ends the user's sessions and reset links (a token
/// carries its role until it expires, so an old one must not outlive a new role). 404
/// `not_found` when the site has no such user; 409 `self_action_forbidden` for the actor
/// themselves or the site's last admin.
pub fn update_user(
    conn: &mut AnyConnection,
    origin: &Origin,
    actor: &User,
    id: &str,
    edit: &UserEdit,
    now: i64,
) -> Result<(), ApiError> {
    write_tx(conn, |conn| {
        let guarded = edit.role.is_some() || edit.disabled == Some(true);
        if guarded {
            users::lock_site_admins(conn, &actor.tenant_id)?;
        }
        // Read under the lock: the guard judges the user as they are now, not as a request
        // that raced this one left them.
        let user = users::find_in_tenant(conn, &actor.tenant_id, id)?.ok_or(ApiError::NotFound)?;
        let role_changed = edit.role.as_deref().is_some_and(|r| r != user.role);
        let demote = role_changed && user.role == "admin";
        let disable = edit.disabled == Some(true) && !user.disabled;
        if demote || disable {
            guard_self_and_last_admin(conn, actor, &user)?;
        }
        users::update_profile(conn, &user.id, edit.display_name.as_deref(), edit.role.as_deref(), edit.disabled, now)?;
        let ended = match (disable, role_changed) {
            (true, _) => end_grants(conn, &user.id, None, "user_disabled", now)?,
            (false, true) => end_grants(conn, &user.id, None, "role_changed", now)?,
            (false, false) => Ended::default(),
        };
        // A disabled user's browsers are trusted no more (habit 14 counts a role change too:
        // the trust was given to the account as it was).
        if disable || role_changed {
            let reason = if disable { "user_disabled" } else { "role_changed" };
            trusted::forget(conn, origin, &user, Some(&actor.id), None, reason, now)?;
        }
        let kind = match edit.disabled {
            Some(true) if disable => "user_disabled",
            Some(false) if user.disabled => "user_enabled",
            _ => "user_updated",
        };
        audit::record(
            conn,
            origin,
            now,
            NewEvent {
                tenant_id: Some(&user.tenant_id),
                kind,
                user_id: Some(&user.id),
                actor_id: Some(&actor.id),
                details: serde_json::json!({
                    "display_name": edit.display_name,
                    "role": edit.role,
                    "previous_role": role_changed.then_some(&user.role),
                    "disabled": edit.disabled,
                    "sessions_ended": ended.sessions,
                    "reset_links_voided": ended.links,
                }),
            },
        )?;
        Ok(())
    })
}

/// Deletes user `id` of the actor's site in one transaction with its audit row (the audit
/// history stays); the guard and the answers of [`update_user`].
pub fn delete_user(
    conn: &mut AnyConnection,
    origin: &Origin,
    actor: &User,
    id: &str,
    now: i64,
) -> Result<(), ApiError> {
    write_tx(conn, |conn| {
        users::lock_site_admins(conn, &actor.tenant_id)?;
        let user = users::find_in_tenant(conn, &actor.tenant_id, id)?.ok_or(ApiError::NotFound)?;
        guard_self_and_last_admin(conn, actor, &user)?;
        let ended = end_grants(conn, &user.id, None, "user_deleted", now)?;
        users::delete(conn, &user.id, now)?;
        audit::record(
            conn,
            origin,
            now,
            NewEvent {
                tenant_id: Some(&user.tenant_id),
                kind: "user_deleted",
                user_id: Some(&user.id),
                actor_id: Some(&actor.id),
                details: serde_json::json!({
                    "email": user.email,
                    "sessions_ended": ended.sessions,
                    "reset_links_voided": ended.links,
                }),
            },
        )?;
        Ok(())
    })
}

/// The open link of `token_hash` and its user, if the link can still reset a password: unused,
/// unexpired, and its user enabled. Checked before the new password is hashed, so a dead link
/// costs no hashing; [`reset_password`] checks again in its transaction.
pub fn usable_reset_link(conn: &mut AnyConnection, token_hash: &str, now: i64) -> QueryResult<Option<User>> {
    let Some(link) = password_resets::find(conn, token_hash)? else { return Ok(None) };
    if link.used_at.is_some() || link.expires_at <= now {
        return Ok(None);
    }
    Ok(users::find(conn, &link.user_id)?.filter(|u| !u.disabled))
}

/// Sets the password of the user of the reset link `token_hash` (the new `password_hash` is
/// hashed already), in one transaction: the link is spent and every other one voided, every
/// session ends, the password lock lifts, and the SSO connections made since the previous
/// password was set are removed — whoever knew that password could have made them. The mail
/// names the removed connections and lists the remaining ones. 401 `invalid_code` for an
/// unknown, spent or expired link and for a disabled user alike, so the answer says nothing
/// about the account.
pub fn reset_password(
    conn: &mut AnyConnection,
    key: &crate::auth::secrets::DataKey,
    origin: &Origin,
    token_hash: &str,
    password_hash: &str,
    now: i64,
) -> Result<(), ApiError> {
    let invalid = || ApiError::InvalidCode { in_session: false };
    write_tx(conn, |conn| {
        let user = usable_reset_link(conn, token_hash, now)?.ok_or_else(invalid)?;
        if !password_resets::spend(conn, token_hash, &user.id, now)? {
            return Err(invalid());
        }
        let since = users::password_changed_at(conn, &user.id)?.unwrap_or(0);
        let removed = sso::remove_connections_since(conn, &user.id, since)?;
        users::set_password_hash(conn, &user.id, password_hash, now)?;
        let ended = end_grants(conn, &user.id, None, "password_reset", now)?;
        trusted::forget(conn, origin, &user, Some(&user.id), None, "password_reset", now)?;
        if let Some(t) = tenants::find(conn, &user.tenant_id)? {
            throttle::unlock(conn, &account_key(&t.slug, &user.email))?;
        }
        audit::record(
            conn,
            origin,
            now,
            NewEvent::own(
                &user.tenant_id,
                &user.id,
                "password_reset",
                serde_json::json!({"sessions_ended": ended.sessions, "sso_disconnected": removed.len()}),
            ),
        )?;
        for (c, _) in &removed {
            audit::record(
                conn,
                origin,
                now,
                NewEvent::own(
                    &user.tenant_id,
                    &user.id,
                    "sso_disconnected",
                    serde_json::json!({
                        "provider_id": c.provider_id,
                        "connection_id": c.id,
                        "reason": "password_reset",
                        "connected_at": c.connected_at,
                        "password_set_at": since,
                    }),
                ),
            )?;
        }
        let line = |(c, name): (sso::Connection, String)| ConnectionLine { application: name, email: c.email };
        let kept: Vec<ConnectionLine> = sso::connections_named(conn, &user.id)?.into_iter().map(line).collect();
        let removed: Vec<ConnectionLine> = removed.into_iter().map(line).collect();
        let letter = Letter::PasswordReset { removed: &removed, kept: &kept };
        notices::queue(conn, key, &Recipient::user(&user, origin.browser_locale), &letter, now)?;
        Ok(())
    })
}
