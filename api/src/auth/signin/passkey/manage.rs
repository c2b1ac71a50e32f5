//! The user's own passkeys (`/me/passkeys*`): adding one (its ceremony's challenge taken by one
//! statement, like a sign-in's), listing, renaming, removing — each change audited in the
//! transaction that makes it, adding and removing with a notice mail.

use webauthn_rs::prelude::RegisterPublicKeyCredential;

use crate::auth::passkeys as mechanics;
use crate::db::audit::{self, NewEvent, Origin};
use crate::db::passkeys::{self, PasskeyRow};
use crate::db::users::User;
use crate::db::write_tx;
use crate::domain::DisplayName;
use crate::error::{ApiError, Context};
use crate::notices::{self, Letter, Recipient};
use crate::state::AppState;

use super::{new_challenge, refused_internally, relying_party, site_allows, Challenge};
use mechanics::Purpose;

/// The longest name of a passkey.
pub const NAME_MAX: usize = 64;
/// The name of a passkey added without one.
pub const DEFAULT_NAME: &str = "Passkey";

/// A passkey's name as submitted: trimmed, [`DisplayName`] rules, at most [`NAME_MAX`]
/// characters; empty (or only spaces) gives [`DEFAULT_NAME`].
pub fn passkey_name(input: Option<&str>) -> Result<String, String> {
    match input.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(DEFAULT_NAME.to_string()),
        Some(name) => DisplayName::parse(name, NAME_MAX).map(DisplayName::into_string),
    }
}

/// Starts adding a passkey for `user` (the route checked the fresh sign-in). 403
/// `passkeys_disabled` when the site turned them off or they are unavailable.
pub async fn registration_options(state: &AppState, user: &User) -> Result<Challenge, ApiError> {
    let webauthn = relying_party(state).ok_or(ApiError::PasskeysDisabled)?;
    let (user, now) = (user.clone(), state.now());
    state
        .db
        .run(move |conn| {
            if !site_allows(conn, &user.tenant_id)? {
                return Err(ApiError::PasskeysDisabled);
            }
            let existing: Vec<String> = passkeys::list_of(conn, &user.id)?.into_iter().map(|p| p.credential).collect();
            let started =
                mechanics::start_registration(&webauthn, &user.id, &user.email, &user.display_name, &existing)
                    .map_err(refused_internally)?;
            let challenge = new_challenge(
                Some(user.tenant_id.clone()),
                Some(user.id.clone()),
                Purpose::Register,
                started.state,
                now,
            );
            passkeys::put_challenge(conn, &challenge)?;
            Ok(Challenge { challenge_id: challenge.id, options: started.options })
        })
        .await
}

/// A passkey to add: the challenge it answers, its name (already checked by
/// [`passkey_name`]) and the authenticator's answer.
pub struct Registration {
    pub challenge_id: String,
    pub name: String,
    pub answer: RegisterPublicKeyCredential,
}

/// Adds a passkey: the registration challenge taken (one statement), the answer checked, the
/// passkey stored with its audit row (`passkey_added`) and notice mail in one transaction. A
/// refused answer or an unusable challenge is 422 `validation_failed` on `credential`.
pub async fn register(
    state: &AppState,
    user: &User,
    input: Registration,
    origin: Origin,
) -> Result<PasskeyRow, ApiError> {
    let webauthn = relying_party(state).ok_or(ApiError::PasskeysDisabled)?;
    let Registration { challenge_id, name, answer } = input;
    let (u, now) = (user.clone(), state.now());
    let taken = state
        .db
        .run(move |conn| {
            if !site_allows(conn, &u.tenant_id)? {
                return Err(ApiError::PasskeysDisabled);
            }
            let taken = passkeys::take_challenge(conn, &challenge_id, "register", now)?;
            Ok(taken.filter(|t| t.user_id.as_deref() == Some(u.id.as_str())))
        })
        .await?;
    let refused = || ApiError::invalid("credential", "the authenticator's answer was not accepted: start again");
    let Some(taken) = taken else { return Err(refused()) };
    let made = mechanics::finish_registration(&webauthn, &taken.state, &answer).map_err(|e| {
        tracing::info!(reason = %e, "a passkey registration was refused");
        refused()
    })?;
    let row = PasskeyRow {
        // Time-ordered: the list is oldest first, also for two added within one second.
        id: uuid::Uuid::now_v7().to_string(),
        tenant_id: user.tenant_id.clone(),
        user_id: user.id.clone(),
        credential_id: made.credential_id,
        credential: made.credential,
        name,
        backup_eligible: made.flags.backup_eligible,
        backed_up: made.flags.backed_up,
        sign_count: made.flags.counter,
        created_at: now,
        last_used_at: None,
    };
    let (user, key) = (user.clone(), state.data_key.clone());
    let row = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                if !passkeys::insert(conn, &row, now)? {
                    return Err(ApiError::invalid("credential", "this passkey is already registered"));
                }
                let details = serde_json::json!({
                    "passkey_id": row.id, "name": row.name, "kind": kind_of(row.backup_eligible)
                });
                audit::record(conn, &origin, now, NewEvent::own(&user.tenant_id, &user.id, "passkey_added", details))?;
                let to = Recipient::user(&user, origin.browser_locale);
                notices::queue(conn, &key, &to, &Letter::PasskeyAdded { name: &row.name }, now)?;
                Ok(row)
            })
        })
        .await?;
    state.outbox_wake.notify_one();
    Ok(row)
}

/// `synced` (backup eligible: the passkey may live on several devices) or `device_bound`.
pub fn kind_of(backup_eligible: bool) -> &'static str {
    if backup_eligible {
        "synced"
    } else {
        "device_bound"
    }
}

/// The user's passkeys, oldest first.
pub async fn list(state: &AppState, user: &User) -> Result<Vec<PasskeyRow>, ApiError> {
    let id = user.id.clone();
    state.db.run(move |conn| passkeys::list_of(conn, &id).map_err(ApiError::from)).await
}

/// Renames one of the user's passkeys (audited `passkey_renamed`); 404 for another user's.
pub async fn rename(
    state: &AppState,
    user: &User,
    id: String,
    name: String,
    origin: Origin,
) -> Result<PasskeyRow, ApiError> {
    let (user, now) = (user.clone(), state.now());
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let before = passkeys::find_of_user(conn, &user.id, &id)?.ok_or(ApiError::NotFound)?;
                passkeys::rename(conn, &user.id, &id, &name)?;
                let details = serde_json::json!({ "passkey_id": id, "name": name, "previous_name": before.name });
                audit::record(
                    conn,
                    &origin,
                    now,
                    NewEvent::own(&user.tenant_id, &user.id, "passkey_renamed", details),
                )?;
                Ok(PasskeyRow { name, ..before })
            })
        })
        .await
}

/// Removes one of the user's passkeys (audited `passkey_removed`, with a notice mail, in one
/// transaction); 404 for another user's.
pub async fn remove(state: &AppState, user: &User, id: String, origin: Origin) -> Result<(), ApiError> {
    let (user, now, key) = (user.clone(), state.now(), state.data_key.clone());
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let gone = passkeys::find_of_user(conn, &user.id, &id)?.ok_or(ApiError::NotFound)?;
                if !passkeys::delete_of_user(conn, &user.id, &id, now)? {
                    return Err(ApiError::NotFound);
                }
                let details = serde_json::json!({ "passkey_id": id, "name": gone.name });
                audit::record(
                    conn,
                    &origin,
                    now,
                    NewEvent::own(&user.tenant_id, &user.id, "passkey_removed", details),
                )?;
                let to = Recipient::user(&user, origin.browser_locale);
                notices::queue(conn, &key, &to, &Letter::PasskeyRemoved { name: &gone.name }, now)?;
                Ok(())
            })
        })
        .await
        .context_api("removing a passkey")?;
    state.outbox_wake.notify_one();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passkey_name_is_trimmed_checked_and_defaults_when_empty() {
        assert_eq!(passkey_name(None).unwrap(), "Passkey");
        assert_eq!(passkey_name(Some("   ")).unwrap(), "Passkey");
        assert_eq!(passkey_name(Some("  Laptop  ")).unwrap(), "Laptop");
        assert!(passkey_name(Some(&"x".repeat(65))).is_err());
        assert!(passkey_name(Some("a\nb")).is_err());
    }
}
