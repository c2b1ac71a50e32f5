//! The SSO sign-in flow, free of actix: starting an attempt, the callback's work (state check,
//! code exchange, ID token validation, storing what it found), redeeming that at
//! `/sso/complete`, link tokens ("connect from the login page") and connecting an account.
//! Each step takes typed input and returns an outcome the handler maps to HTTP.

mod callback;
mod link;

pub use callback::{callback, CallbackOutcome, ProviderReply};
pub use link::{check_link_token, connect, redeem_link};

use serde::{Deserialize, Serialize};

use super::lifetimes;
use crate::auth::oidc::{self, Identity};
use crate::auth::secrets::ct_eq;
use crate::auth::session::{self, Authentication, Issued};
use crate::auth::tokens::{looks_like_token, random_token, token_hash};
use crate::db::audit::Origin;
use crate::db::sso::{self, Attempt, Connection, LinkToken, Provider};
use crate::db::users::User;
use crate::db::{mfa, tenants, users, write_tx, AnyConnection};
use crate::error::ApiError;
use crate::state::AppState;

/// Lifetime of an attempt (and of its `cx_sso` cookie): 10 minutes.
pub const ATTEMPT_SECS: i64 = 600;
const RESULT_SECS: i64 = 120;
const LINK_SECS: i64 = 600;

/// Random bytes in an SSO `state`, `result` and `link_token` (128 bits, base64url: 22 characters).
pub const SSO_TOKEN_BYTES: usize = 16;

/// Only a path on our own origin: no scheme, no host, no `//`, no backslash.
pub fn valid_return_to(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(|c| c.is_control() || c.is_whitespace())
        && path.len() <= 512
}

/// What binds an attempt, its result and its link token to the browser that started it: a
/// hash of the `cx_sso` cookie's value (an absent cookie binds to nothing we ever issued).
fn binding_hash(sso_cookie: Option<&str>) -> String {
    token_hash(&format!("sso-binding\n{}", sso_cookie.unwrap_or_default()))
}

/// The redirect URI every application registers at its provider.
pub fn redirect_uri(state: &AppState) -> String {
    format!("{}/api/v1/auth/sso/callback", state.public_url)
}

/// Associated data sealing an application's client secret to that application.
pub fn client_secret_aad(provider_id: &str) -> Vec<u8> {
    format!("sso-provider\n{provider_id}").into_bytes()
}

fn failed(reason: &'static str) -> ApiError {
    ApiError::SsoFailed { reason, return_to: None }
}

/// Why an attempt is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Login,
    Connect,
}

/// The signed-in user behind a request's bearer token, as the handler authenticated it. A step
/// that needs one gets `Err` with the reason (`unauthenticated`…) when there is none; a step
/// that does not never looks, so a stale token does not fail a login.
pub struct SignedIn {
    pub user: User,
    /// Signed in within the last 10 minutes (needed to connect an account).
    pub fresh: bool,
}

/// A started attempt: where to send the browser, and the `cx_sso` cookie value binding it.
pub struct Started {
    pub authorization_url: String,
    pub sso_cookie: String,
}

/// Starts an attempt at an enabled application: state, nonce and PKCE verifier stored, the
/// provider's authorization URL returned. `connect` needs a fresh sign-in of a user of the
/// application's site who has no connection through it yet.
pub async fn start(
    state: &AppState,
    provider_id: &str,
    intent: Intent,
    caller: Result<SignedIn, ApiError>,
    return_to: Option<String>,
) -> Result<Started, ApiError> {
    if return_to.as_deref().is_some_and(|r| !valid_return_to(r)) {
        return Err(ApiError::invalid("return_to", "a path on this site, such as /settings"));
    }
    let id = provider_id.to_string();
    let provider = state
        .db
        .run(move |conn| sso::find_provider(conn, &id).map_err(ApiError::from))
        .await?
        .filter(|p| p.enabled)
        .ok_or(ApiError::SsoNotConfigured)?;
    let now = state.now();
    let user_id = match intent {
        Intent::Login => None,
        Intent::Connect => {
            let caller = caller?;
            if caller.user.tenant_id != provider.tenant_id {
                return Err(ApiError::SsoNotConfigured);
            }
            if !caller.fresh {
                return Err(ApiError::ReauthRequired);
            }
            let (uid, pid) = (caller.user.id.clone(), provider.id.clone());
            let has = state
                .db
                .run(move |conn| sso::connections_of(conn, &uid).map_err(ApiError::from))
                .await?
                .iter()
                .any(|(c, _)| c.provider_id == pid);
            if has {
                return Err(ApiError::SsoAlreadyConnected);
            }
            Some(caller.user.id)
        }
    };
    let discovered = state
        .oidc
        .discover(&provider.issuer, false)
        .await
        .map_err(|e| ApiError::SsoFailed { reason: e.reason(), return_to: return_to.clone() })?;
    let (stoken, nonce, verifier, binding) =
        (random_token(SSO_TOKEN_BYTES), random_token(16), random_token(32), random_token(16));
    let url =
        oidc::authorization_url(&discovered.doc, &provider.client_id, &redirect_uri(state), &stoken, &nonce, &verifier);
    let attempt = Attempt {
        state_hash: token_hash(&stoken),
        provider_id: provider.id.clone(),
        tenant_id: provider.tenant_id.clone(),
        intent: match intent {
            Intent::Login => "login".into(),
            Intent::Connect => "connect".into(),
        },
        user_id,
        binding_hash: binding_hash(Some(&binding)),
        nonce,
        pkce_verifier: state.data_key.seal(verifier.as_bytes(), b"pkce"),
        return_to,
        created_at: now,
        expires_at: now + ATTEMPT_SECS,
        used_at: None,
    };
    state.db.run(move |conn| sso::insert_attempt(conn, &attempt).map_err(ApiError::from)).await?;
    Ok(Started { authorization_url: url, sso_cookie: binding })
}

/// What the callback found, stored for `/sso/complete` (as JSON: the shape is stored data).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Found {
    Failed { reason: String },
    Login { provider_id: String, identity: Identity },
    Connected { connection_id: String, user_id: String },
}

/// What redeeming a callback's `result` came to.
pub enum Completed {
    /// Signed in.
    Authenticated(Issued),
    /// The user has a second factor to give (its challenge is started).
    MfaRequired { mfa_token: String, method: String, remember_device_days: Option<i32> },
    /// No user is connected to this external account: sign in with the password and this
    /// `link_token` to connect it.
    NotConnected { link_token: String, provider: Provider, email: Option<String> },
    /// The signed-in user's account is connected.
    Connected { connection: Connection, kind: String },
}

/// A [`Completed`] and the `return_to` of its attempt, which every answer echoes.
pub struct Completion {
    pub completed: Completed,
    pub return_to: Option<String>,
}

/// Redeems the callback's `result` (single use, 2 minutes, this browser): a failure the callback
/// stored is 400 `sso_failed` with its reason; a login signs in, asks for the second factor or
/// hands out a link token; a connect needs the same signed-in user as the one who started it.
/// `device` is the browser's `cx_device` cookie: a trusted device of the user skips the second
/// factor.
pub async fn complete(
    state: &AppState,
    sso_cookie: Option<&str>,
    result: &str,
    caller: Result<SignedIn, ApiError>,
    device: Option<&str>,
    origin: Origin,
) -> Result<Completion, ApiError> {
    if !looks_like_token(result, SSO_TOKEN_BYTES) {
        return Err(failed("state_invalid"));
    }
    let (hash, binding, now) = (token_hash(result), binding_hash(sso_cookie), state.now());
    let b = binding.clone();
    let row = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            write_tx(conn, |conn| {
                let Some(r) = sso::find_result(conn, &hash)? else { return Ok(Err("state_invalid")) };
                if !ct_eq(&r.binding_hash, &b) {
                    return Ok(Err("state_invalid"));
                }
                if r.used_at.is_some() || r.expires_at <= now || !sso::use_result(conn, &hash, now)? {
                    return Ok(Err("expired"));
                }
                Ok(Ok(r))
            })
        })
        .await?
        .map_err(failed)?;
    let return_to = row.return_to.clone();
    let found: Found = serde_json::from_str(&row.outcome).map_err(ApiError::internal)?;
    let completed = match found {
        Found::Failed { reason } if reason == "already_connected" => return Err(ApiError::SsoAlreadyConnected),
        Found::Failed { reason } => {
            let reason = match reason.as_str() {
                "state_invalid" => "state_invalid",
                "expired" => "expired",
                "token_invalid" => "token_invalid",
                "tenant_not_allowed" => "tenant_not_allowed",
                _ => "provider_error",
            };
            return Err(ApiError::SsoFailed { reason, return_to });
        }
        Found::Connected { connection_id, user_id } => {
            let caller = caller?;
            if caller.user.id != user_id {
                return Err(ApiError::Forbidden("this attempt belongs to another user".into()));
            }
            let (connection, kind) = state
                .db
                .run(move |conn| -> Result<_, ApiError> {
                    sso::connections_of(conn, &caller.user.id)?
                        .into_iter()
                        .find(|(c, _)| c.id == connection_id)
                        .ok_or(ApiError::NotFound)
                })
                .await?;
            Completed::Connected { connection, kind }
        }
        Found::Login { provider_id, identity } => {
            let (st, o, device) = (state.clone(), origin.clone(), device.map(str::to_string));
            let signed = state
                .db
                .run(move |conn| {
                    write_tx(conn, |conn| {
                        sso_sign_in(conn, &st, &provider_id, identity, &binding, device.as_deref(), &o, now)
                    })
                })
                .await?;
            match signed {
                SsoSignIn::Signed(issued) => Completed::Authenticated(issued),
                SsoSignIn::NotConnected { link_token, provider, email } => {
                    Completed::NotConnected { link_token, provider, email }
                }
                SsoSignIn::Challenge { user, method, first_factor } => {
                    let tid = user.tenant_id.clone();
                    let tenant = state
                        .db
                        .run(move |conn| tenants::find(conn, &tid).map_err(ApiError::from))
                        .await?
                        .ok_or(ApiError::NotFound)?;
                    let started =
                        super::challenge::start(state, &user, &tenant, &method, None, &first_factor, None, origin)
                            .await?;
                    Completed::MfaRequired {
                        mfa_token: started.mfa_token,
                        method: started.method,
                        remember_device_days: started.remember_device_days,
                    }
                }
            }
        }
    };
    Ok(Completion { completed, return_to })
}

/// A login's result, decided inside one transaction.
enum SsoSignIn {
    Signed(Issued),
    Challenge { user: User, method: String, first_factor: String },
    NotConnected { link_token: String, provider: Provider, email: Option<String> },
}

/// Signs in the user connected to `identity`, or says a second factor is due (unless the
/// application trusts the provider's `mfa`, or `device` is a trusted device of the user), or
/// issues a link token bound to this browser.
#[expect(clippy::too_many_arguments, reason = "one transaction step with its whole context")]
fn sso_sign_in(
    conn: &mut AnyConnection,
    state: &AppState,
    provider_id: &str,
    identity: Identity,
    binding: &str,
    device: Option<&str>,
    origin: &Origin,
    now: i64,
) -> Result<SsoSignIn, ApiError> {
    let provider = sso::find_provider(conn, provider_id)?.filter(|p| p.enabled).ok_or(failed("provider_error"))?;
    let connection = sso::find_connection_by_subject(conn, &provider.id, &identity.issuer, &identity.subject)?;
    let Some(connection) = connection else {
        let link_token = random_token(SSO_TOKEN_BYTES);
        sso::insert_link_token(
            conn,
            &LinkToken {
                token_hash: token_hash(&link_token),
                tenant_id: provider.tenant_id.clone(),
                provider_id: provider.id.clone(),
                issuer: identity.issuer,
                subject: identity.subject,
                email: identity.email.clone(),
                binding_hash: binding.to_string(),
                expires_at: now + LINK_SECS,
                used_at: None,
            },
        )?;
        return Ok(SsoSignIn::NotConnected { link_token, provider, email: identity.email });
    };
    let user = users::find(conn, &connection.user_id)?
        .filter(|u| !u.disabled)
        .ok_or(ApiError::InvalidCredentials { in_session: false })?;
    let first_factor = format!("sso {}", provider.kind);
    let idp_mfa = provider.trust_idp_mfa && identity.amr.iter().any(|a| a == "mfa");
    let mut amr = vec!["sso".to_string(), provider.kind.clone()];
    let mut remembered = None;
    if let Some(method) = mfa::find(conn, &user.id)? {
        if !idp_mfa {
            remembered = match device {
                Some(d) => super::trusted::recognise(conn, &user, d, amr.clone(), now)?,
                None => None,
            };
            if remembered.is_none() {
                return Ok(SsoSignIn::Challenge { user, method: method.method, first_factor });
            }
        }
    }
    if idp_mfa {
        amr.push("mfa".into());
    }
    let how = match remembered {
        Some(how) => how,
        None => Authentication { amr, acr: if idp_mfa { "aal2" } else { "aal1" } },
    };
    let details = serde_json::json!({ "method": "sso", "provider_id": provider.id });
    let issued =
        session::sign_in(conn, &state.data_key, &state.keys, lifetimes(state), &user, &how, origin, now, details)?;
    Ok(SsoSignIn::Signed(issued))
}
