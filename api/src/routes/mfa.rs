//! The second step of sign-in (`/auth/mfa/*`) and the e-mailed code for re-authentication.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::mfa::Submission;
use crate::auth::signin::challenge::{self, ReauthCode, Resent, Verified};
use crate::error::{ApiError, Problem};
use crate::routes::extract::{self, AuthUser, BrowserLocale};
use crate::routes::views::{authenticated, code_sent, device_cookie, CodeSent, SignInResponse, TokenDelivery};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    pub mfa_token: String,
    /// Six digits from the authenticator app or the e-mail.
    #[serde(default)]
    pub code: Option<String>,
    /// One of the backup codes, `xxxxx-xxxxx`.
    #[serde(default)]
    pub backup_code: Option<String>,
    #[serde(default)]
    pub token_delivery: Option<TokenDelivery>,
    /// Trust this browser (cookie `cx_device`) for the site's `remember_device_days`, so that
    /// later sign-ins of this user from it skip the second factor; ignored when the site does not
    /// allow remembering devices.
    #[serde(default)]
    pub remember_device: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendRequest {
    pub mfa_token: String,
}

fn submission(code: Option<String>, backup_code: Option<String>) -> Result<Submission, ApiError> {
    match (&code, &backup_code) {
        (Some(_), Some(_)) => Err(ApiError::invalid("code", "send either code or backup_code, not both")),
        (None, None) => Err(ApiError::invalid("code", "code or backup_code is required")),
        _ => Ok(Submission { code, backup_code }),
    }
}

/// Complete a sign-in with the second factor.
#[utoipa::path(
    post, path = "/api/v1/auth/mfa/verify", tag = "sign-in",
    request_body = VerifyRequest,
    responses(
        (status = 200, description = "Signed in with `acr: aal2`; with `remember_device: true` (and the site allowing it) the `cx_device` cookie (`HttpOnly`, `SameSite=Strict`, `Path=/api/v1`, `Max-Age` = the site's days) trusts this browser", body = SignInResponse),
        (status = 401, description = "`invalid_code` (wrong, expired or used code) or `invalid_mfa_token`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`: the account's guess budget is spent", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<VerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let submission = submission(body.code, body.backup_code)?;
    extract::limit_signin(&req, &state).await?;
    let remember = body.remember_device.unwrap_or(false);
    match challenge::verify(&state, &body.mfa_token, submission, remember, extract::origin(&req, &state)).await? {
        Verified::Authenticated(issued, remembered) => {
            let mut resp = authenticated(&state, issued, body.token_delivery.unwrap_or_default());
            if let Some(r) = remembered {
                resp.add_cookie(&device_cookie(&state, r.token, r.max_age)).map_err(ApiError::internal)?;
            }
            Ok(resp)
        }
        Verified::BadToken => Err(ApiError::InvalidMfaToken),
        Verified::Wrong => Err(ApiError::InvalidCode { in_session: false }),
        Verified::Locked(retry) => Err(ApiError::TooManyAttempts { retry_after: retry as u64 }),
    }
}

/// A resend's outcome as HTTP.
fn resent(outcome: Resent) -> Result<HttpResponse, ApiError> {
    match outcome {
        Resent::Sent(expires_in) => Ok(code_sent(expires_in)),
        Resent::BadToken => Err(ApiError::InvalidMfaToken),
        Resent::CoolingDown(wait) => Err(ApiError::TooManyAttempts { retry_after: wait.max(1) as u64 }),
    }
}

/// Sends a new e-mailed code for a sign-in; the previous one stops working.
#[utoipa::path(
    post, path = "/api/v1/auth/mfa/resend", tag = "sign-in",
    request_body = ResendRequest,
    responses(
        (status = 202, description = "A new code was handed to the mail server", body = CodeSent),
        (status = 401, description = "`invalid_mfa_token`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`: within 60 s of the last code", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`email_delivery_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn resend(
    req: HttpRequest,
    state: web::Data<AppState>,
    BrowserLocale(browser): BrowserLocale,
    body: web::Json<ResendRequest>,
) -> Result<HttpResponse, ApiError> {
    extract::limit_signin(&req, &state).await?;
    resent(challenge::resend(&state, &body.mfa_token, browser).await?)
}

/// Mails a code for `/auth/reauth` (users whose method is e-mail).
#[utoipa::path(
    post, path = "/api/v1/auth/reauth/email-code", tag = "sign-in",
    security(("bearer" = [])),
    responses(
        (status = 202, description = "A code was handed to the mail server", body = CodeSent),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`mfa_not_enabled`: the user's method is not e-mail", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`email_delivery_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reauth_email_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
    BrowserLocale(browser): BrowserLocale,
) -> Result<HttpResponse, ApiError> {
    extract::limit_signin(&req, &state).await?;
    let family_id = user.claims.sid.clone().ok_or(ApiError::Unauthenticated)?;
    match challenge::reauth_email_code(&state, &user.user, &family_id, browser).await? {
        ReauthCode::Sent(outcome) => resent(outcome),
        ReauthCode::NotEmailMethod => Err(ApiError::MfaNotEnabled),
    }
}
