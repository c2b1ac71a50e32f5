//! `/api/v1/auth`: password sign-in, refresh, logout, re-authentication.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::mfa::Submission;
use crate::auth::session::{self, Refreshed};
use crate::auth::signin::password::{self, LinkRequest, PasswordOutcome, PasswordSignIn};
use crate::auth::signin::reauth::{self, Reauth, ReauthOutcome};
use crate::auth::signin::{lifetimes, rate_limited};
use crate::auth::tokens::{looks_like_token, token_hash};
use crate::db::audit::{self, NewEvent};
use crate::db::{sessions, write_tx};
use crate::domain::{Email, Secret, TenantSlug, MAX_PASSWORD_CHARS};
use crate::error::{ApiError, FieldError, Problem};
use crate::routes::extract::{self, AuthUser, OptionalJson};
use crate::routes::views::{
    authenticated, mfa_required, refresh_cookie, SignInResponse, TokenDelivery, DEVICE_COOKIE, REFRESH_COOKIE,
};
use crate::state::AppState;

/// The cookie of an SSO attempt, which a link token is bound to.
const SSO_COOKIE: &str = "cx_sso";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The site's slug.
    #[schema(example = "acme")]
    pub tenant: String,
    #[schema(example = "agent@acme.example")]
    pub email: String,
    #[schema(format = Password)]
    pub password: String,
    /// From an SSO attempt that found no connected account ("connect from the login page").
    #[serde(default)]
    pub link_token: Option<String>,
    #[serde(default)]
    pub token_delivery: Option<TokenDelivery>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub token_delivery: Option<TokenDelivery>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    #[serde(default)]
    pub refresh_token: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReauthRequest {
    #[schema(format = Password)]
    pub password: String,
    /// A one-time code, for a user with 2FA.
    #[serde(default)]
    pub code: Option<String>,
    /// A backup code, for a user with 2FA.
    #[serde(default)]
    pub backup_code: Option<String>,
    #[serde(default)]
    pub token_delivery: Option<TokenDelivery>,
}

/// The cookie is only taken from our own origin (CSRF): `Origin` must be `AUTH_PUBLIC_URL`'s.
fn cookie_token(req: &HttpRequest, state: &AppState) -> Result<Option<String>, ApiError> {
    let Some(cookie) = req.cookie(REFRESH_COOKIE) else { return Ok(None) };
    let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if origin != Some(public_origin(&state.public_url)) {
        return Err(ApiError::Forbidden("the refresh cookie is only accepted from the app's own origin".into()));
    }
    Ok(Some(cookie.value().to_string()))
}

/// `scheme://host[:port]` of a URL.
pub fn public_origin(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

fn validate_login(body: &LoginRequest) -> Result<(TenantSlug, Email), ApiError> {
    let mut errors = Vec::new();
    let slug = TenantSlug::parse(&body.tenant).map_err(|m| errors.push(FieldError::new("tenant", m)));
    let email = Email::parse(&body.email).map_err(|m| errors.push(FieldError::new("email", m)));
    if body.password.is_empty() {
        errors.push(FieldError::new("password", "the password is required"));
    } else if body.password.chars().count() > MAX_PASSWORD_CHARS {
        // Refused before hashing: no valid password is this long.
        errors.push(FieldError::new("password", "at most 128 characters"));
    }
    match (slug, email) {
        (Ok(s), Ok(e)) if errors.is_empty() => Ok((s, e)),
        _ => Err(ApiError::Invalid(errors)),
    }
}

/// Sign in with site, e-mail and password.
#[utoipa::path(
    post, path = "/api/v1/auth/login", tag = "sign-in",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in (refresh token in the `cx_refresh` cookie unless `token_delivery` is `body`), or `mfa_required`. A user with 2FA whose browser sends the `cx_device` cookie of a live trusted device of that user and site skips the second factor: `amr` `[\"pwd\", \"trusted_device\"]`, `acr` the site's `remembered_device_acr`", body = SignInResponse),
        (status = 400, description = "Malformed request", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_credentials`: wrong password, unknown user or site, disabled user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`: the account is locked or the address is over its budget", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let (slug, email) = validate_login(&body)?;
    let link = body
        .link_token
        .map(|token| LinkRequest { token, sso_cookie: req.cookie(SSO_COOKIE).map(|c| c.value().to_string()) });
    let input = PasswordSignIn {
        slug,
        email,
        password: Secret::new(body.password),
        link,
        budget: extract::signin_budget(&req, &state),
        device: req.cookie(DEVICE_COOKIE).map(|c| c.value().to_string()),
    };
    match password::sign_in(&state, input, extract::origin(&req, &state)).await? {
        PasswordOutcome::Authenticated(issued) => {
            Ok(authenticated(&state, issued, body.token_delivery.unwrap_or_default()))
        }
        PasswordOutcome::SecondFactorRequired(started) => Ok(mfa_required(started)),
        PasswordOutcome::InvalidCredentials => Err(ApiError::InvalidCredentials { in_session: false }),
        PasswordOutcome::Locked { retry_after } | PasswordOutcome::AddressLimited { retry_after } => {
            Err(ApiError::TooManyAttempts { retry_after: retry_after.max(1) as u64 })
        }
    }
}

/// Rotate the refresh token and get a new access token.
#[utoipa::path(
    post, path = "/api/v1/auth/token/refresh", tag = "sign-in",
    request_body(content = RefreshRequest, description = "Empty for the cookie; `{refresh_token, token_delivery: \"body\"}` otherwise"),
    responses(
        (status = 200, description = "A new access token and a rotated refresh token", body = SignInResponse),
        (status = 401, description = "`invalid_refresh_token`: unknown, expired, revoked or re-used (a re-use ends the whole family)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the cookie came without our `Origin`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn refresh(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: OptionalJson<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let token = match body.refresh_token {
        Some(t) => t,
        None => cookie_token(&req, &state)?.ok_or(ApiError::InvalidRefreshToken)?,
    };
    if !looks_like_token(&token, 32) {
        return Err(ApiError::InvalidRefreshToken);
    }
    let origin = extract::origin(&req, &state);
    let (keys, life, now) = (state.keys.clone(), lifetimes(&state), state.now());
    let outcome = state.db.run(move |conn| session::refresh(conn, &keys, life, &token, &origin, now)).await?;
    match outcome {
        Refreshed::Ok(issued) => Ok(authenticated(&state, issued, body.token_delivery.unwrap_or_default())),
        Refreshed::Refused => Err(ApiError::InvalidRefreshToken),
    }
}

/// End the session of a refresh token (and of the bearer token, if one is sent).
#[utoipa::path(
    post, path = "/api/v1/auth/logout", tag = "sign-in",
    request_body(content = LogoutRequest, description = "Empty for the cookie"),
    responses(
        (status = 204, description = "Signed out; the cookie is cleared"),
        (status = 403, description = "`forbidden`: the cookie came without our `Origin`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: OptionalJson<LogoutRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = match body.0.refresh_token {
        Some(t) => Some(t),
        None => cookie_token(&req, &state)?,
    };
    let bearer_family = match extract::bearer(&req) {
        Some(b) => state.keys.verify(&b, state.now()).ok().and_then(|c| c.sid.map(|sid| (sid, c.sub))),
        None => None,
    };
    let origin = extract::origin(&req, &state);
    let now = state.now();
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let mut families = Vec::new();
                if let Some(t) = token.filter(|t| looks_like_token(t, 32)) {
                    families.extend(sessions::family_of_token(conn, &token_hash(&t))?);
                }
                if let Some((sid, sub)) = bearer_family {
                    families.extend(sessions::find_family(conn, &sid)?.filter(|f| f.user_id == sub));
                }
                for family in families {
                    if sessions::revoke_family(conn, &family.id, "logout", now)? {
                        audit::record(
                            conn,
                            &origin,
                            now,
                            NewEvent {
                                tenant_id: Some(&family.tenant_id),
                                kind: "signed_out",
                                user_id: Some(&family.user_id),
                                actor_id: Some(&family.user_id),
                                details: serde_json::json!({ "session_id": family.id }),
                            },
                        )?;
                    }
                }
                Ok::<_, ApiError>(())
            })
        })
        .await?;
    let mut gone = refresh_cookie(&state, String::new(), 0);
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

/// Confirm the password again: a fresh `auth_time` for sensitive actions, and a rotated refresh token.
#[utoipa::path(
    post, path = "/api/v1/auth/reauth", tag = "sign-in",
    request_body = ReauthRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A new access token with a fresh `auth_time`", body = SignInResponse),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`invalid_credentials` or `invalid_code`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reauth(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<ReauthRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    if body.password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(ApiError::invalid("password", "at most 128 characters"));
    }
    let budget = extract::signin_budget(&req, &state);
    budget.spend_alone(&state).await?.map_err(|retry| rate_limited(&state, retry))?;
    let family_id = user.claims.sid.clone().ok_or(ApiError::Unauthenticated)?;
    let AuthUser { user, tenant, .. } = user;
    let input = Reauth {
        user,
        tenant,
        family_id,
        password: Secret::new(body.password),
        second_factor: Submission { code: body.code, backup_code: body.backup_code },
    };
    match reauth::reauthenticate(&state, input, extract::origin(&req, &state)).await? {
        ReauthOutcome::Authenticated(issued) => {
            Ok(authenticated(&state, issued, body.token_delivery.unwrap_or_default()))
        }
        ReauthOutcome::InvalidCredentials => Err(ApiError::InvalidCredentials { in_session: true }),
        ReauthOutcome::InvalidCode => Err(ApiError::InvalidCode { in_session: true }),
        ReauthOutcome::Locked { retry_after } => Err(ApiError::TooManyAttempts { retry_after: retry_after as u64 }),
    }
}

#[cfg(test)]
mod tests {
    use super::public_origin;

    #[test]
    fn the_origin_of_the_public_url_drops_any_path() {
        assert_eq!(public_origin("https://auth.example.com"), "https://auth.example.com");
        assert_eq!(public_origin("https://auth.example.com/x/y"), "https://auth.example.com");
        assert_eq!(public_origin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }
}
