//! Passkeys (WebAuthn): signing in with one, re-authenticating with one, and the user's own
//! passkeys under `/me/passkeys`. HTTP only: the flows are in `auth::signin::passkey`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::signin::passkey::manage::{self, Registration};
use crate::auth::signin::passkey::{
    self as flow, Challenge, OptionsOutcome, PasskeyReauth, PasskeySignIn, ReauthOptions, ReauthOutcome, SignInOutcome,
};
use crate::auth::signin::rate_limited;
use crate::clock::rfc3339;
use crate::db::passkeys::PasskeyRow;
use crate::domain::TenantSlug;
use crate::error::{ApiError, Problem};
use crate::routes::extract::{self, AuthUser};
use crate::routes::views::{authenticated, SignInResponse, TokenDelivery};
use crate::state::AppState;

// The answer that starts a ceremony.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyOptions {
    /// Send it back with the authenticator's answer; valid 5 minutes, once.
    pub challenge_id: String,
    /// For the browser: webauthn-rs's `CreationChallengeResponse` (adding a passkey) or
    /// `RequestChallengeResponse` (signing in), `{"publicKey": {…}}` in the WebAuthn JSON form.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

impl From<Challenge> for PasskeyOptions {
    fn from(c: Challenge) -> Self {
        Self { challenge_id: c.challenge_id, options: c.options }
    }
}

// Synced (backup eligible: the passkey may live on several of the user's devices) or bound to one device.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PasskeyKind {
    Synced,
    DeviceBound,
}

// One of the user's passkeys.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub backup_eligible: bool,
    pub backed_up: bool,
    pub kind: PasskeyKind,
}

impl From<PasskeyRow> for PasskeyView {
    fn from(p: PasskeyRow) -> Self {
        Self {
            id: p.id,
            name: p.name,
            created_at: rfc3339(p.created_at),
            last_used_at: p.last_used_at.map(rfc3339),
            backup_eligible: p.backup_eligible,
            backed_up: p.backed_up,
            kind: if p.backup_eligible { PasskeyKind::Synced } else { PasskeyKind::DeviceBound },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyList {
    pub passkeys: Vec<PasskeyView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddPasskeyRequest {
    pub challenge_id: String,
    /// Trimmed, at most 64 characters; empty gives "Passkey".
    #[serde(default)]
    pub name: Option<String>,
    /// The browser's `PublicKeyCredential` from `navigator.credentials.create`, in the WebAuthn
    /// JSON form (`id`, `rawId`, `response.attestationObject`, `response.clientDataJSON`, `type`).
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenamePasskeyRequest {
    /// Trimmed, at most 64 characters; empty gives "Passkey".
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyOptionsRequest {
    /// The site's slug.
    #[schema(example = "acme")]
    pub tenant: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyLoginRequest {
    /// The site's slug.
    #[schema(example = "acme")]
    pub tenant: String,
    pub challenge_id: String,
    /// The browser's `PublicKeyCredential` from `navigator.credentials.get`, in the WebAuthn JSON
    /// form (`id`, `rawId`, `response.authenticatorData`, `response.clientDataJSON`,
    /// `response.signature`, `response.userHandle`, `type`).
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
    #[serde(default)]
    pub token_delivery: Option<TokenDelivery>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyReauthRequest {
    pub challenge_id: String,
    /// As for `/auth/passkey/login`.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
    #[serde(default)]
    pub token_delivery: Option<TokenDelivery>,
}

/// The authenticator's answer in the library's type, or 422 on `credential`.
fn answer<T: serde::de::DeserializeOwned>(credential: serde_json::Value) -> Result<T, ApiError> {
    serde_json::from_value(credential)
        .map_err(|e| ApiError::invalid("credential", format!("not a WebAuthn public key credential: {e}")))
}

fn name_of(input: Option<&str>) -> Result<String, ApiError> {
    manage::passkey_name(input).map_err(|m| ApiError::invalid("name", m))
}

/// Start adding a passkey: options for `navigator.credentials.create`.
///
/// The options ask for a discoverable credential (`residentKey: "required"`) with user
/// verification, and exclude the user's existing passkeys. Attestation `none`.
#[utoipa::path(
    post, path = "/api/v1/me/passkeys/options", tag = "passkeys",
    security(("bearer" = [])),
    responses(
        (status = 200, body = PasskeyOptions),
        (status = 403, description = "`reauth_required` (sign in again within 10 minutes first) or `passkeys_disabled` (the site turned passkeys off)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn registration_options(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    user.require_fresh(state.now())?;
    let challenge = manage::registration_options(&state, &user.user).await?;
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(PasskeyOptions::from(challenge)))
}

/// Add a passkey: the authenticator's answer to the options of `POST /me/passkeys/options`.
///
/// Audited (`passkey_added`); the user gets a notice mail.
#[utoipa::path(
    post, path = "/api/v1/me/passkeys", tag = "passkeys",
    security(("bearer" = [])),
    request_body = AddPasskeyRequest,
    responses(
        (status = 201, body = PasskeyView),
        (status = 403, description = "`reauth_required` or `passkeys_disabled`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a bad name, or the answer was not accepted (unknown, expired or used challenge, wrong origin, no user verification, a passkey already registered)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<AddPasskeyRequest>,
) -> Result<HttpResponse, ApiError> {
    user.require_fresh(state.now())?;
    let body = body.into_inner();
    let name = name_of(body.name.as_deref())?;
    let input = Registration { challenge_id: body.challenge_id, name, answer: answer(body.credential)? };
    let row = manage::register(&state, &user.user, input, extract::origin(&req, &state)).await?;
    Ok(HttpResponse::Created().json(PasskeyView::from(row)))
}

/// The user's passkeys, oldest first.
#[utoipa::path(
    get, path = "/api/v1/me/passkeys", tag = "passkeys", operation_id = "list_passkeys",
    security(("bearer" = [])),
    responses(
        (status = 200, body = PasskeyList),
    )
)]
pub async fn list(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let rows = manage::list(&state, &user.user).await?;
    Ok(HttpResponse::Ok().json(PasskeyList { passkeys: rows.into_iter().map(PasskeyView::from).collect() }))
}

/// Rename one of the user's passkeys (no fresh sign-in needed). Audited (`passkey_renamed`).
#[utoipa::path(
    patch, path = "/api/v1/me/passkeys/{id}", tag = "passkeys",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The passkey's id")),
    request_body = RenamePasskeyRequest,
    responses(
        (status = 200, body = PasskeyView),
        (status = 404, description = "`not_found`: no such passkey of this user", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn rename(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: web::Json<RenamePasskeyRequest>,
) -> Result<HttpResponse, ApiError> {
    let name = name_of(Some(&body.name))?;
    let row = manage::rename(&state, &user.user, path.into_inner(), name, extract::origin(&req, &state)).await?;
    Ok(HttpResponse::Ok().json(PasskeyView::from(row)))
}

/// Remove one of the user's passkeys. Audited (`passkey_removed`); the user gets a notice mail.
#[utoipa::path(
    delete, path = "/api/v1/me/passkeys/{id}", tag = "passkeys",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The passkey's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "`reauth_required`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such passkey of this user", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    user.require_fresh(state.now())?;
    manage::remove(&state, &user.user, path.into_inner(), extract::origin(&req, &state)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Start a passkey sign-in: options for `navigator.credentials.get`.
///
/// Discoverable: `allowCredentials` is empty and the browser offers the passkeys it holds for
/// this site (`mediation` is `conditional` for the e-mail field's autofill; the web app may ask
/// modally instead). Counts against the address's sign-in budget. An unknown site gets options
/// too (that can never succeed).
#[utoipa::path(
    post, path = "/api/v1/auth/passkey/options", tag = "sign-in",
    request_body = PasskeyOptionsRequest,
    responses(
        (status = 200, body = PasskeyOptions),
        (status = 403, description = "`passkeys_disabled`: the site turned passkeys off", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`: the address is over its sign-in budget", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn sign_in_options(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<PasskeyOptionsRequest>,
) -> Result<HttpResponse, ApiError> {
    let slug = TenantSlug::parse(&body.tenant).map_err(|m| ApiError::invalid("tenant", m))?;
    match flow::sign_in_options(&state, &slug, &extract::signin_budget(&req, &state)).await? {
        OptionsOutcome::Started(c) => {
            Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(PasskeyOptions::from(c)))
        }
        OptionsOutcome::Disabled => Err(ApiError::PasskeysDisabled),
        OptionsOutcome::AddressLimited { retry_after } => Err(rate_limited(&state, retry_after)),
    }
}

/// Sign in with a passkey: no password, no second factor.
///
/// The same answer as `/auth/login`. The access token's `amr` is `["swk","user"]` for a synced
/// passkey (a software-protected key, RFC 8176) or `["hwk","user"]` for one bound to a device
/// (hardware-protected), `user` meaning user verification (PIN or biometrics) was performed;
/// `acr` is `aal2`. The challenge is single use and taken before the answer is checked.
#[utoipa::path(
    post, path = "/api/v1/auth/passkey/login", tag = "sign-in", operation_id = "passkey_login",
    request_body = PasskeyLoginRequest,
    responses(
        (status = 200, description = "Signed in (refresh token in the `cx_refresh` cookie unless `token_delivery` is `body`)", body = SignInResponse),
        (status = 401, description = "`invalid_credentials`: any failure — unknown, used or expired challenge, unknown or removed passkey, disabled user, wrong origin, bad signature, counter gone backwards, passkeys off for the site, a passkey of another site", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<PasskeyLoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let slug = TenantSlug::parse(&body.tenant).map_err(|m| ApiError::invalid("tenant", m))?;
    let input = PasskeySignIn {
        slug,
        challenge_id: body.challenge_id,
        answer: answer(body.credential)?,
        budget: extract::signin_budget(&req, &state),
    };
    match flow::sign_in(&state, input, extract::origin(&req, &state)).await? {
        SignInOutcome::Authenticated(issued) => {
            Ok(authenticated(&state, issued, body.token_delivery.unwrap_or_default()))
        }
        SignInOutcome::InvalidCredentials => Err(ApiError::InvalidCredentials { in_session: false }),
        SignInOutcome::AddressLimited { retry_after } => Err(rate_limited(&state, retry_after)),
    }
}

/// Start a re-authentication with a passkey: options naming the user's passkeys.
#[utoipa::path(
    post, path = "/api/v1/auth/reauth/passkey/options", tag = "sign-in",
    security(("bearer" = [])),
    responses(
        (status = 200, body = PasskeyOptions),
        (status = 403, description = "`passkeys_disabled`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: the user has no passkey", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reauth_options(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    match flow::reauth_options(&state, &user.user).await? {
        ReauthOptions::Started(c) => {
            Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(PasskeyOptions::from(c)))
        }
        ReauthOptions::Disabled => Err(ApiError::PasskeysDisabled),
        ReauthOptions::NoPasskey => Err(ApiError::NotFound),
    }
}

/// Re-authenticate with a passkey: a fresh `auth_time` and a rotated refresh token, as `POST /auth/reauth`.
#[utoipa::path(
    post, path = "/api/v1/auth/reauth/passkey", tag = "sign-in", operation_id = "passkey_reauth",
    security(("bearer" = [])),
    request_body = PasskeyReauthRequest,
    responses(
        (status = 200, description = "A new access token with a fresh `auth_time` (`amr` `[\"hwk\"|\"swk\",\"user\"]`, `acr` `aal2`)", body = SignInResponse),
        (status = 403, description = "`invalid_credentials`: any failure of the passkey or its challenge", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reauth(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<PasskeyReauthRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let answer = answer(body.credential)?;
    extract::limit_signin(&req, &state).await?;
    let family_id = user.claims.sid.clone().ok_or(ApiError::Unauthenticated)?;
    let AuthUser { user, tenant, .. } = user;
    let input = PasskeyReauth { user, tenant, family_id, challenge_id: body.challenge_id, answer };
    match flow::reauthenticate(&state, input, extract::origin(&req, &state)).await? {
        ReauthOutcome::Authenticated(issued) => {
            Ok(authenticated(&state, issued, body.token_delivery.unwrap_or_default()))
        }
        ReauthOutcome::InvalidCredentials => Err(ApiError::InvalidCredentials { in_session: true }),
    }
}
