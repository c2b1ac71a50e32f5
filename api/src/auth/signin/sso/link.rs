//! Connecting an external account: from the profile (the callback of a `connect` attempt) or
//! from the login page (a link token, redeemed at the end of a full sign-in).

use crate::auth::oidc::Identity;
use crate::auth::secrets::ct_eq;
use crate::auth::tokens::{looks_like_token, token_hash};
use crate::db::audit::{self, NewEvent, Origin};
use crate::db::sso::{self, Connection, Provider};
use crate::db::users::User;
use crate::db::{tenants, AnyConnection};
use crate::error::ApiError;
use crate::notices::{self, Letter, Recipient};
use crate::state::AppState;

use super::{binding_hash, failed, SSO_TOKEN_BYTES};

/// Links an external account to `user` inside the caller's transaction; audits and notifies.
/// Returns the new connection's id; 409 `sso_already_connected` when that account or this
/// user already has one through the application.
pub fn connect(
    conn: &mut AnyConnection,
    state: &AppState,
    user: &User,
    provider: &Provider,
    identity: &Identity,
    origin: &Origin,
    now: i64,
) -> Result<String, ApiError> {
    if user.tenant_id != provider.tenant_id {
        return Err(ApiError::SsoNotConfigured);
    }
    let connection = Connection {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user.id.clone(),
        provider_id: provider.id.clone(),
        issuer: identity.issuer.clone(),
        subject: identity.subject.clone(),
        email: identity.email.clone(),
        connected_at: now,
    };
    if !sso::insert_connection(conn, &connection)? {
        return Err(ApiError::SsoAlreadyConnected);
    }
    audit::record(
        conn,
        origin,
        now,
        NewEvent::own(
            &user.tenant_id,
            &user.id,
            "sso_connected",
            serde_json::json!({ "provider_id": provider.id, "kind": provider.kind, "email": identity.email }),
        ),
    )?;
    let letter = Letter::SsoConnected { application: &provider.display_name, email: identity.email.as_deref() };
    notices::queue(conn, &state.data_key, &Recipient::user(user, origin.browser_locale), &letter, now)?;
    Ok(connection.id)
}

/// Checks a `link_token` before a password sign-in: this site, this browser (`sso_cookie` is
/// the value of its `cx_sso` cookie), live. Returns the token's hash, redeemed by
/// [`redeem_link`] once the whole sign-in has succeeded.
pub async fn check_link_token(
    state: &AppState,
    sso_cookie: Option<&str>,
    token: &str,
    tenant_slug: &str,
) -> Result<String, ApiError> {
    if !looks_like_token(token, SSO_TOKEN_BYTES) {
        return Err(failed("state_invalid"));
    }
    let (hash, binding, slug, now) =
        (token_hash(token), binding_hash(sso_cookie), tenant_slug.to_string(), state.now());
    let h = hash.clone();
    let found = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let link = sso::find_link_token(conn, &h)?;
            let tenant = tenants::find_by_slug(conn, &slug)?;
            Ok((link, tenant))
        })
        .await?;
    match found {
        (Some(link), Some(tenant)) if link.tenant_id == tenant.id && ct_eq(&link.binding_hash, &binding) => {
            if link.used_at.is_some() || link.expires_at <= now {
                Err(failed("expired"))
            } else {
                Ok(hash)
            }
        }
        _ => Err(failed("state_invalid")),
    }
}

/// Redeems a link token at the end of a full sign-in of `user`, inside the sign-in's
/// transaction: the external account is connected.
pub fn redeem_link(
    conn: &mut AnyConnection,
    state: &AppState,
    user: &User,
    link_hash: &str,
    origin: &Origin,
    now: i64,
) -> Result<(), ApiError> {
    let link = sso::find_link_token(conn, link_hash)?
        .filter(|l| l.tenant_id == user.tenant_id && l.expires_at > now)
        .ok_or(failed("expired"))?;
    if !sso::use_link_token(conn, link_hash, now)? {
        return Err(failed("expired"));
    }
    let provider = sso::find_provider(conn, &link.provider_id)?.ok_or(ApiError::SsoNotConfigured)?;
    let identity = Identity {
        issuer: link.issuer,
        subject: link.subject,
        email: link.email,
        email_verified: false,
        amr: Vec::new(),
    };
    connect(conn, state, user, &provider, &identity, origin, now).map(|_| ())
}
