//! The second step of sign-in (`/auth/mfa/*`) and the e-mailed code for re-authentication.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::mfa::{self as mfa_auth, Factor, Submission, EMAIL_CODE_SECS, MFA_TOKEN_SECS, RESEND_COOLDOWN_SECS};
use crate::auth::secrets;
use crate::auth::session::{self, Authentication};
use crate::auth::tokens::{random_token, token_hash};
use crate::db::audit::{self, NewEvent, Origin};
use crate::db::mfa::{self, Challenge};
use crate::db::tenants::Tenant;
use crate::db::users::{self, User};
use crate::db::{throttle, write_tx, AnyConnection};
use crate::error::{ApiError, Problem};
use crate::mail::OutgoingMail;
use crate::notices::{self, Notice};
use crate::routes::auth::{authenticated, lifetimes, SignInResponse, TokenDelivery};
use crate::routes::extract::{self, AuthUser};
use crate::state::AppState;

/// Bytes of randomness in an `mfa_token` (128 bits).
const MFA_TOKEN_BYTES: usize = 16;

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
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendRequest {
    pub mfa_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CodeSent {
    /// Seconds the e-mailed code stays valid.
    pub expires_in: i64,
}

/// The sign-in mail with a one-time code.
pub fn code_mail(to: &str, code: &str, purpose: &str) -> OutgoingMail {
    OutgoingMail {
        to: to.to_string(),
        subject: format!("Your CloudCX {purpose} code"),
        text: format!(
            "Your CloudCX {purpose} code is {code}\n\nIt expires in 10 minutes. If you did not ask for it, someone may know your password: change it."
        ),
    }
}

/// Hands a code to the mail server, or answers 503 `email_delivery_failed`.
pub async fn send_code(state: &AppState, mail: OutgoingMail) -> Result<(), ApiError> {
    state.mailer.send(&mail).await.map_err(|e| {
        tracing::warn!(error = %e, "a one-time code could not be handed to the mail server");
        ApiError::EmailDeliveryFailed
    })
}

/// Password accepted, second factor next: a new challenge (and, for e-mail, the code sent first).
#[expect(clippy::too_many_arguments, reason = "the whole context of a sign-in's second step")]
pub async fn start_challenge(
    state: &AppState,
    user: &User,
    tenant: &Tenant,
    method: &str,
    account_key: Option<String>,
    first_factor: &str,
    link_token_hash: Option<String>,
    origin: Origin,
) -> Result<(String, String), ApiError> {
    let now = state.now();
    let token = random_token(MFA_TOKEN_BYTES);
    let th = token_hash(&token);
    let mut challenge = Challenge {
        token_hash: th.clone(),
        user_id: user.id.clone(),
        purpose: "signin".into(),
        method: method.into(),
        code_hash: None,
        code_expires_at: None,
        last_sent_at: None,
        expires_at: now + MFA_TOKEN_SECS,
        consumed_at: None,
        created_at: now,
        first_factor: first_factor.to_string(),
        link_token_hash,
    };
    if method == "email" {
        let code = secrets::new_email_code();
        send_code(state, code_mail(&user.email, &code, "sign-in")).await?;
        challenge.code_hash = Some(mfa_auth::otp_hash(&state.data_key, &th, &code));
        challenge.code_expires_at = Some(now + EMAIL_CODE_SECS);
        challenge.last_sent_at = Some(now);
    }
    let (user_id, tenant_id) = (user.id.clone(), tenant.id.clone());
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                if let Some(key) = &account_key {
                    throttle::reset(conn, key)?;
                }
                mfa::put_challenge(conn, &challenge)?;
                audit::record(
                    conn,
                    &origin,
                    now,
                    NewEvent {
                        tenant_id: Some(&tenant_id),
                        kind: "sign_in_mfa_required",
                        user_id: Some(&user_id),
                        actor_id: Some(&user_id),
                        details: serde_json::json!({ "method": challenge.method }),
                    },
                )?;
                Ok::<_, ApiError>(())
            })
        })
        .await?;
    Ok((token, method.to_string()))
}

/// 200 `mfa_required`.
pub fn mfa_required(token: String, method: String) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(SignInResponse::MfaRequired { mfa_token: token, method, expires_in: MFA_TOKEN_SECS })
}

/// The outcome of checking a second factor, with failures already counted and audited.
pub enum SecondFactor {
    Passed(Factor),
    Wrong,
    Locked(i64),
}

/// Checks and spends a second factor of `user` inside the caller's transaction: the guess budget
/// first, then the code; a wrong one is counted (and the user warned when it locks).
#[expect(clippy::too_many_arguments, reason = "one transaction step with its whole context")]
pub fn check_second_factor(
    conn: &mut AnyConnection,
    state: &AppState,
    user: &User,
    method: &mfa::UserMfa,
    challenge: Option<&Challenge>,
    submission: &Submission,
    origin: &Origin,
    now: i64,
) -> Result<SecondFactor, ApiError> {
    if let Some(retry) = mfa::mfa_locked_for(conn, &user.id, now)? {
        return Ok(SecondFactor::Locked(retry));
    }
    match mfa_auth::verify(conn, &state.data_key, method, challenge, submission, now)? {
        Some(factor) => {
            mfa::reset_mfa_failures(conn, &user.id)?;
            if factor == Factor::BackupCode {
                let remaining = mfa_auth::remaining_backup_codes(conn, &user.id)?;
                audit::record(
                    conn,
                    origin,
                    now,
                    NewEvent {
                        tenant_id: Some(&user.tenant_id),
                        kind: "backup_code_used",
                        user_id: Some(&user.id),
                        actor_id: Some(&user.id),
                        details: serde_json::json!({ "remaining": remaining }),
                    },
                )?;
                if remaining == 2 {
                    notices::queue(conn, &state.data_key, &user.email, Notice::BackupCodesRunningLow, now)?;
                }
            }
            Ok(SecondFactor::Passed(factor))
        }
        None => {
            let (failures, lock) = mfa::record_mfa_failure(conn, &user.id, now)?;
            audit::record(
                conn,
                origin,
                now,
                NewEvent {
                    tenant_id: Some(&user.tenant_id),
                    kind: "mfa_failed",
                    user_id: Some(&user.id),
                    actor_id: Some(&user.id),
                    details: serde_json::json!({ "consecutive_failures": failures, "lock_seconds": lock }),
                },
            )?;
            if failures == mfa::MFA_LOCK_AFTER || failures == mfa::MFA_HARD_LOCK {
                notices::queue(conn, &state.data_key, &user.email, Notice::SecondFactorGuessed, now)?;
            }
            Ok(SecondFactor::Wrong)
        }
    }
}

fn submission(code: Option<String>, backup_code: Option<String>) -> Result<Submission, ApiError> {
    match (&code, &backup_code) {
        (Some(_), Some(_)) => Err(ApiError::invalid("code", "send either code or backup_code, not both")),
        (None, None) => Err(ApiError::invalid("code", "code or backup_code is required")),
        _ => Ok(Submission { code, backup_code }),
    }
}

enum Verified {
    Ok(session::Issued),
    BadToken,
    Wrong,
    Locked(i64),
}

/// Complete a sign-in with the second factor.
#[utoipa::path(
    post, path = "/api/v1/auth/mfa/verify", tag = "sign-in",
    request_body = VerifyRequest,
    responses(
        (status = 200, description = "Signed in with `acr: aal2`", body = SignInResponse),
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
    let origin = extract::origin(&req, &state);
    let th = token_hash(&body.mfa_token);
    let now = state.now();
    let st = state.get_ref().clone();
    let outcome = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let challenge = mfa::find_challenge(conn, &th)?
                    .filter(|c| c.purpose == "signin" && c.consumed_at.is_none() && c.expires_at > now);
                let Some(challenge) = challenge else { return Ok(Verified::BadToken) };
                let user = users::find(conn, &challenge.user_id)?.filter(|u| !u.disabled);
                let (Some(user), Some(method)) = (user, mfa::find(conn, &challenge.user_id)?) else {
                    return Ok(Verified::BadToken);
                };
                match check_second_factor(conn, &st, &user, &method, Some(&challenge), &submission, &origin, now)? {
                    SecondFactor::Locked(retry) => Ok(Verified::Locked(retry)),
                    SecondFactor::Wrong => Ok(Verified::Wrong),
                    SecondFactor::Passed(factor) => {
                        if !mfa::consume_challenge(conn, &th, now)? {
                            return Err(ApiError::InvalidMfaToken);
                        }
                        let how = Authentication { amr: factor.amr(&challenge.first_factor), acr: "aal2" };
                        if let Some(link) = &challenge.link_token_hash {
                            crate::auth::signin::sso::redeem_link(conn, &st, &user, link, &origin, now)?;
                        }
                        let details = serde_json::json!({ "method": factor.as_str() });
                        let issued = session::sign_in(
                            conn,
                            &st.data_key,
                            &st.keys,
                            lifetimes(&st),
                            &user,
                            &how,
                            &origin,
                            now,
                            details,
                        )?;
                        Ok::<_, ApiError>(Verified::Ok(issued))
                    }
                }
            })
        })
        .await?;
    match outcome {
        Verified::Ok(issued) => {
            state.metrics.signin("success");
            Ok(authenticated(&state, issued, body.token_delivery.unwrap_or_default()))
        }
        Verified::BadToken => Err(ApiError::InvalidMfaToken),
        Verified::Wrong => Err(ApiError::InvalidCode { in_session: false }),
        Verified::Locked(retry) => Err(ApiError::TooManyAttempts { retry_after: retry as u64 }),
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
    body: web::Json<ResendRequest>,
) -> Result<HttpResponse, ApiError> {
    extract::limit_signin(&req, &state).await?;
    let th = token_hash(&body.mfa_token);
    let now = state.now();
    let t = th.clone();
    let found = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let Some(c) = mfa::find_challenge(conn, &t)?.filter(|c| {
                c.purpose == "signin" && c.method == "email" && c.consumed_at.is_none() && c.expires_at > now
            }) else {
                return Ok(None);
            };
            Ok(users::find(conn, &c.user_id)?.map(|u| (c, u)))
        })
        .await?;
    let (challenge, user) = found.ok_or(ApiError::InvalidMfaToken)?;
    resend_code(&state, challenge, &user, "sign-in").await
}

/// Cool-down, a new code by mail, then the stored hash replaced (the old code void).
async fn resend_code(
    state: &AppState,
    challenge: Challenge,
    user: &User,
    purpose: &str,
) -> Result<HttpResponse, ApiError> {
    let now = state.now();
    if let Some(sent) = challenge.last_sent_at {
        let wait = sent + RESEND_COOLDOWN_SECS - now;
        if wait > 0 {
            return Err(ApiError::TooManyAttempts { retry_after: wait as u64 });
        }
    }
    let code = secrets::new_email_code();
    send_code(state, code_mail(&user.email, &code, purpose)).await?;
    let hash = mfa_auth::otp_hash(&state.data_key, &challenge.token_hash, &code);
    let replaced = state
        .db
        .run(move |conn| {
            mfa::replace_challenge_code(
                conn,
                &challenge.token_hash,
                challenge.last_sent_at,
                &hash,
                now + EMAIL_CODE_SECS,
                now,
            )
            .map_err(ApiError::from)
        })
        .await?;
    if !replaced {
        return Err(ApiError::TooManyAttempts { retry_after: RESEND_COOLDOWN_SECS as u64 });
    }
    Ok(HttpResponse::Accepted().json(CodeSent { expires_in: EMAIL_CODE_SECS }))
}

/// The challenge key of a session's re-authentication code.
pub fn reauth_challenge_hash(family_id: &str) -> String {
    token_hash(&format!("reauth\n{family_id}"))
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
) -> Result<HttpResponse, ApiError> {
    extract::limit_signin(&req, &state).await?;
    let family_id = user.claims.sid.clone().ok_or(ApiError::Unauthenticated)?;
    let th = reauth_challenge_hash(&family_id);
    let (uid, t, now) = (user.user.id.clone(), th.clone(), state.now());
    let (method, existing) = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let existing = mfa::find_challenge(conn, &t)?.filter(|c| c.consumed_at.is_none() && c.expires_at > now);
            Ok((mfa::find(conn, &uid)?, existing))
        })
        .await?;
    if method.map(|m| m.method) != Some("email".into()) {
        return Err(ApiError::MfaNotEnabled);
    }
    if let Some(existing) = existing {
        return resend_code(&state, existing, &user.user, "confirmation").await;
    }
    let code = secrets::new_email_code();
    send_code(&state, code_mail(&user.user.email, &code, "confirmation")).await?;
    let challenge = Challenge {
        token_hash: th.clone(),
        user_id: user.user.id.clone(),
        purpose: "reauth".into(),
        method: "email".into(),
        code_hash: Some(mfa_auth::otp_hash(&state.data_key, &th, &code)),
        code_expires_at: Some(now + EMAIL_CODE_SECS),
        last_sent_at: Some(now),
        expires_at: now + EMAIL_CODE_SECS,
        consumed_at: None,
        created_at: now,
        first_factor: "pwd".into(),
        link_token_hash: None,
    };
    state.db.run(move |conn| mfa::put_challenge(conn, &challenge).map_err(ApiError::from)).await?;
    Ok(HttpResponse::Accepted().json(CodeSent { expires_in: EMAIL_CODE_SECS }))
}
