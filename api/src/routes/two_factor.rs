//! `/api/v1/me/2fa`: set up one method (e-mail or authenticator app), backup codes, turn off.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::mfa::{self as mfa_auth, EMAIL_CODE_SECS, TOTP_SETUP_SECS};
use crate::auth::signin::challenge::{code_mail, send_code};
use crate::auth::signin::password::{self, Confirmation};
use crate::auth::signin::trusted;
use crate::auth::{secrets, totp};
use crate::clock::rfc3339;
use crate::db::attempts::{Reservation, Settled, SECOND_FACTOR};
use crate::db::audit::{self, NewEvent, Origin};
use crate::db::mfa::{self, Setup, UserMfa};
use crate::db::{write_tx, AnyConnection};
use crate::domain::{Secret, TwoFactorMethod, MAX_PASSWORD_CHARS};
use crate::error::{ApiError, Problem};
use crate::mail::letters::CodePurpose;
use crate::notices::{self, Letter, Notice, Recipient};
use crate::routes::extract::{self, AuthUser};
use crate::routes::views::device_cookie_removal;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct BackupCodesSummary {
    pub total: usize,
    pub remaining: usize,
    /// Null until the codes are downloaded: the app keeps asking until then.
    pub downloaded_at: Option<String>,
    pub generated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TwoFactorStatus {
    pub enabled: bool,
    /// Null while 2FA is off.
    #[schema(value_type = Option<TwoFactorMethod>)]
    pub method: Option<String>,
    pub enabled_at: Option<String>,
    pub backup_codes: Option<BackupCodesSummary>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailSetupStarted {
    /// Seconds the e-mailed code stays valid.
    pub expires_in: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotpSetupStarted {
    /// Base32, to type into the app when the QR code cannot be scanned.
    pub secret: String,
    pub otpauth_uri: String,
    /// The `otpauth_uri` as a QR code.
    pub qr_svg: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    /// Six digits.
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TwoFactorEnabled {
    pub enabled: bool,
    #[schema(value_type = TwoFactorMethod)]
    pub method: String,
    /// Ten backup codes, shown once here (View/Download later need a fresh sign-in).
    pub backup_codes: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableRequest {
    #[schema(format = Password)]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TwoFactorDisabled {
    pub enabled: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BackupCodeView {
    pub code: String,
    pub used: bool,
    pub used_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BackupCodesView {
    pub codes: Vec<BackupCodeView>,
    pub generated_at: String,
    pub downloaded_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewBackupCodes {
    pub backup_codes: Vec<String>,
}

fn event<'a>(user: &'a AuthUser, kind: &'a str, details: serde_json::Value) -> NewEvent<'a> {
    NewEvent {
        tenant_id: Some(&user.user.tenant_id),
        kind,
        user_id: Some(&user.user.id),
        actor_id: Some(&user.user.id),
        details,
    }
}

/// The user's 2FA status.
#[utoipa::path(
    get, path = "/api/v1/me/2fa", tag = "two-factor",
    security(("bearer" = [])),
    responses(
        (status = 200, body = TwoFactorStatus),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn status(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let uid = user.user.id.clone();
    let (method, set, remaining, total) = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let codes = mfa::backup_codes(conn, &uid)?;
            let remaining = codes.iter().filter(|c| c.used_at.is_none()).count();
            Ok((mfa::find(conn, &uid)?, mfa::backup_set(conn, &uid)?, remaining, codes.len()))
        })
        .await?;
    Ok(HttpResponse::Ok().json(TwoFactorStatus {
        enabled: method.is_some(),
        enabled_at: method.as_ref().map(|m| rfc3339(m.enabled_at)),
        method: method.map(|m| m.method),
        backup_codes: set.map(|s| BackupCodesSummary {
            total,
            remaining,
            downloaded_at: s.downloaded_at.map(rfc3339),
            generated_at: rfc3339(s.generated_at),
        }),
    }))
}

/// Replaces any pending setup of the user with `setup`, audited in the same transaction.
async fn store_setup(
    req: &HttpRequest,
    state: &AppState,
    user: AuthUser,
    setup: Setup,
    now: i64,
) -> Result<(), ApiError> {
    let origin = extract::origin(req, state);
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                mfa::put_setup(conn, &setup)?;
                let details = serde_json::json!({ "method": setup.method });
                audit::record(conn, &origin, now, event(&user, "mfa_setup_started", details))?;
                Ok::<_, ApiError>(())
            })
        })
        .await
}

async fn ensure_not_enabled(state: &AppState, user_id: &str) -> Result<(), ApiError> {
    let uid = user_id.to_string();
    match state.db.run(move |conn| mfa::find(conn, &uid).map_err(ApiError::from)).await? {
        Some(_) => Err(ApiError::MfaAlreadyEnabled),
        None => Ok(()),
    }
}

/// Start setting up e-mail codes: a code goes to the user's address.
#[utoipa::path(
    post, path = "/api/v1/me/2fa/email/setup", tag = "two-factor",
    security(("bearer" = [])),
    responses(
        (status = 202, body = EmailSetupStarted),
        (status = 403, description = "`reauth_required`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`mfa_already_enabled`: only one method at a time", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`email_delivery_failed`: nothing changed", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn email_setup(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    user.require_fresh(state.now())?;
    ensure_not_enabled(&state, &user.user.id).await?;
    let code = secrets::new_email_code();
    let to = Recipient::user(&user.user, extract::browser_locale(&req));
    send_code(&state, code_mail(&to, &code, CodePurpose::Verification)).await?;
    let now = state.now();
    let setup = Setup {
        user_id: user.user.id.clone(),
        method: "email".into(),
        totp_secret: None,
        code_hash: Some(mfa_auth::otp_hash(&state.data_key, &format!("setup\n{}", user.user.id), &code)),
        expires_at: now + EMAIL_CODE_SECS,
        created_at: now,
    };
    store_setup(&req, &state, user, setup, now).await?;
    Ok(HttpResponse::Accepted().json(EmailSetupStarted { expires_in: EMAIL_CODE_SECS }))
}

/// Start setting up an authenticator app: the secret, its `otpauth://` URI and a QR code.
#[utoipa::path(
    post, path = "/api/v1/me/2fa/totp/setup", tag = "two-factor",
    security(("bearer" = [])),
    responses(
        (status = 200, body = TotpSetupStarted),
        (status = 403, description = "`reauth_required`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`mfa_already_enabled`: only one method at a time", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn totp_setup(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let now = state.now();
    user.require_fresh(now)?;
    ensure_not_enabled(&state, &user.user.id).await?;
    let secret = totp::generate_secret();
    let encoded = totp::encode_secret(&secret);
    let uri = totp::otpauth_uri(&user.user.email, &encoded);
    let qr_svg = totp::qr_svg(&uri).map_err(ApiError::internal)?;
    let setup = Setup {
        user_id: user.user.id.clone(),
        method: "totp".into(),
        totp_secret: Some(state.data_key.seal(&secret, &mfa_auth::totp_aad(&user.user.id))),
        code_hash: None,
        expires_at: now + TOTP_SETUP_SECS,
        created_at: now,
    };
    store_setup(&req, &state, user, setup, now).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(TotpSetupStarted {
        secret: encoded,
        otpauth_uri: uri,
        qr_svg,
    }))
}

enum Confirmed {
    Enabled(Vec<String>),
    Wrong,
    Locked(i64),
    AlreadyEnabled,
}

/// Confirm the pending method with a code: 2FA is on, and here are the backup codes.
#[utoipa::path(
    post, path = "/api/v1/me/2fa/{method}/confirm", tag = "two-factor",
    security(("bearer" = [])),
    params(("method" = TwoFactorMethod, Path, description = "Another value answers `not_found`")),
    request_body = ConfirmRequest,
    responses(
        (status = 200, body = TwoFactorEnabled),
        (status = 403, description = "`invalid_code`: wrong or expired, or no setup pending", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such method", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`mfa_already_enabled`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: web::Json<ConfirmRequest>,
) -> Result<HttpResponse, ApiError> {
    let method = path.into_inner();
    if method != "email" && method != "totp" {
        return Err(ApiError::NotFound);
    }
    let code = body.into_inner().code;
    let (now, origin, st) = (state.now(), extract::origin(&req, &state), state.get_ref().clone());
    let m = method.clone();
    let outcome = state
        .db
        .run(move |conn| write_tx(conn, |conn| confirm_in_tx(conn, &st, &user, &m, &code, &origin, now)))
        .await?;
    state.outbox_wake.notify_one();
    match outcome {
        Confirmed::Enabled(backup_codes) => Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(TwoFactorEnabled { enabled: true, method, backup_codes })),
        Confirmed::Wrong => Err(ApiError::InvalidCode { in_session: true }),
        Confirmed::Locked(retry) => Err(ApiError::TooManyAttempts { retry_after: retry as u64 }),
        Confirmed::AlreadyEnabled => Err(ApiError::MfaAlreadyEnabled),
    }
}

fn confirm_in_tx(
    conn: &mut AnyConnection,
    state: &AppState,
    user: &AuthUser,
    method: &str,
    code: &str,
    origin: &Origin,
    now: i64,
) -> Result<Confirmed, ApiError> {
    let uid = &user.user.id;
    if mfa::find(conn, uid)?.is_some() {
        return Ok(Confirmed::AlreadyEnabled);
    }
    // The guess is reserved in the user's second-factor budget before the code is compared.
    match SECOND_FACTOR.reserve(conn, uid, now)? {
        Reservation::Reserved => {}
        Reservation::Refused { retry_after } => return Ok(Confirmed::Locked(retry_after)),
        Reservation::Busy => return Ok(Confirmed::Locked(1)),
    }
    let setup = mfa::find_setup(conn, uid)?.filter(|s| s.method == method && s.expires_at > now);
    let matched_step = match (&setup, secrets::is_six_digits(code)) {
        (Some(s), true) if method == "totp" => {
            let sealed = s.totp_secret.as_deref().unwrap_or_default();
            let secret = state.data_key.open(sealed, &mfa_auth::totp_aad(uid)).map_err(ApiError::internal)?;
            totp::matching_step(&secret, code, now).map(Some)
        }
        (Some(s), true) => {
            let expected = mfa_auth::otp_hash(&state.data_key, &format!("setup\n{uid}"), code);
            s.code_hash.as_deref().is_some_and(|h| secrets::ct_eq(h, &expected)).then_some(None)
        }
        _ => None,
    };
    let (Some(setup), Some(step)) = (setup, matched_step) else {
        let Settled { count, lock_secs } = SECOND_FACTOR.settle_failure(conn, uid, now)?;
        audit::record(
            conn,
            origin,
            now,
            event(
                user,
                "mfa_failed",
                serde_json::json!({"during": "setup", "consecutive_failures": count, "lock_seconds": lock_secs}),
            ),
        )?;
        return Ok(Confirmed::Wrong);
    };
    // The code that confirmed the setup is spent too: its step is the last one used.
    let row = UserMfa {
        user_id: uid.clone(),
        method: method.to_string(),
        totp_secret: setup.totp_secret.clone(),
        last_totp_step: step.unwrap_or(0),
        enabled_at: now,
    };
    if !mfa::enable(conn, &row, now)? {
        return Ok(Confirmed::AlreadyEnabled);
    }
    mfa::delete_setup(conn, uid)?;
    SECOND_FACTOR.give_back(conn, uid)?;
    let codes = mfa_auth::new_backup_codes(conn, &state.data_key, uid, now)?;
    audit::record(conn, origin, now, event(user, "mfa_enabled", serde_json::json!({"method": method})))?;
    let to = Recipient::user(&user.user, origin.browser_locale);
    notices::queue(conn, &state.data_key, &to, &Letter::Notice(Notice::TwoFactorEnabled), now)?;
    Ok(Confirmed::Enabled(codes))
}

/// Turn 2FA off after confirming the password ("Turn off" → "Confirm").
#[utoipa::path(
    post, path = "/api/v1/me/2fa/disable", tag = "two-factor",
    security(("bearer" = [])),
    request_body = DisableRequest,
    responses(
        (status = 200, body = TwoFactorDisabled),
        (status = 403, description = "`invalid_credentials` or `reauth_required`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`mfa_not_enabled` or `mfa_required_by_site`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`: the account's password lock is in force", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn disable(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<DisableRequest>,
) -> Result<HttpResponse, ApiError> {
    let now = state.now();
    user.require_fresh(now)?;
    let password = body.into_inner().password;
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(ApiError::InvalidCredentials { in_session: true });
    }
    if user.tenant.require_2fa {
        return Err(ApiError::MfaRequiredBySite);
    }
    let origin = extract::origin(&req, &state);
    match password::confirm(&state, &user.tenant.slug, &user.user, Secret::new(password), "2fa_disable", origin).await?
    {
        Confirmation::Right => {}
        Confirmation::Wrong => return Err(ApiError::InvalidCredentials { in_session: true }),
        Confirmation::Locked { retry_after } => {
            return Err(ApiError::TooManyAttempts { retry_after: retry_after as u64 })
        }
    }
    let (origin, key) = (extract::origin(&req, &state), state.data_key.clone());
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                if !mfa::remove_all(conn, &user.user.id, now)? {
                    return Err(ApiError::MfaNotEnabled);
                }
                let u = &user.user;
                trusted::forget(conn, &origin, u, Some(&u.id), None, "mfa_disabled", now)?;
                audit::record(conn, &origin, now, event(&user, "mfa_disabled", serde_json::json!({})))?;
                let to = Recipient::user(u, origin.browser_locale);
                notices::queue(conn, &key, &to, &Letter::Notice(Notice::TwoFactorDisabled), now)?;
                Ok(())
            })
        })
        .await?;
    state.outbox_wake.notify_one();
    // No second factor, nothing to remember: the trusted devices were forgotten, this cookie goes too.
    Ok(HttpResponse::Ok().cookie(device_cookie_removal(&state)).json(TwoFactorDisabled { enabled: false }))
}

/// View the backup codes with their use.
#[utoipa::path(
    get, path = "/api/v1/me/2fa/backup-codes", tag = "two-factor",
    security(("bearer" = [])),
    responses(
        (status = 200, body = BackupCodesView),
        (status = 403, description = "`reauth_required`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`mfa_not_enabled`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn view_backup_codes(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    user.require_fresh(state.now())?;
    let (uid, key) = (user.user.id.clone(), state.data_key.clone());
    let found = state.db.run(move |conn| mfa_auth::read_backup_codes(conn, &key, &uid)).await?;
    let (set, codes) = found.ok_or(ApiError::MfaNotEnabled)?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(BackupCodesView {
        codes: codes
            .into_iter()
            .map(|(code, used_at)| BackupCodeView { code, used: used_at.is_some(), used_at: used_at.map(rfc3339) })
            .collect(),
        generated_at: rfc3339(set.generated_at),
        downloaded_at: set.downloaded_at.map(rfc3339),
    }))
}

/// Download the backup codes as `cloudcx-backup-codes.txt`; the app stops asking afterwards.
#[utoipa::path(
    post, path = "/api/v1/me/2fa/backup-codes/download", tag = "two-factor",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The codes as a text file", content_type = "text/plain", body = String),
        (status = 403, description = "`reauth_required`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`mfa_not_enabled`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn download_backup_codes(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let now = state.now();
    user.require_fresh(now)?;
    let (key, origin) = (state.data_key.clone(), extract::origin(&req, &state));
    let email = user.user.email.clone();
    let codes = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let (_, codes) =
                    mfa_auth::read_backup_codes(conn, &key, &user.user.id)?.ok_or(ApiError::MfaNotEnabled)?;
                mfa::mark_downloaded(conn, &user.user.id, now)?;
                audit::record(conn, &origin, now, event(&user, "backup_codes_downloaded", serde_json::json!({})))?;
                Ok::<_, ApiError>(codes)
            })
        })
        .await?;
    let mut text = format!(
        "CloudCX backup codes for {email}\nGenerated {}\n\nEach code works once. Keep them somewhere safe.\n\n",
        rfc3339(now)
    );
    for (code, used_at) in codes {
        text.push_str(&code);
        if used_at.is_some() {
            text.push_str("  (used)");
        }
        text.push('\n');
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"cloudcx-backup-codes.txt\""))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(text))
}

/// Generate a new set of backup codes; the old set stops working at once.
#[utoipa::path(
    post, path = "/api/v1/me/2fa/backup-codes/regenerate", tag = "two-factor",
    security(("bearer" = [])),
    responses(
        (status = 200, body = NewBackupCodes),
        (status = 403, description = "`reauth_required`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`mfa_not_enabled`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn regenerate_backup_codes(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let now = state.now();
    user.require_fresh(now)?;
    let (key, origin) = (state.data_key.clone(), extract::origin(&req, &state));
    let codes = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                if mfa::find(conn, &user.user.id)?.is_none() {
                    return Err(ApiError::MfaNotEnabled);
                }
                let codes = mfa_auth::new_backup_codes(conn, &key, &user.user.id, now)?;
                audit::record(conn, &origin, now, event(&user, "backup_codes_regenerated", serde_json::json!({})))?;
                let to = Recipient::user(&user.user, origin.browser_locale);
                notices::queue(conn, &key, &to, &Letter::Notice(Notice::BackupCodesRegenerated), now)?;
                Ok(codes)
            })
        })
        .await?;
    state.outbox_wake.notify_one();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(NewBackupCodes { backup_codes: codes }))
}
