//! An account's life around 2FA: passwords (change, forgot, reset), sessions and devices, and the
//! admin's user actions (edit, disable, unlock, reset link, delete).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts;
use crate::auth::session::account_key;
use crate::auth::signin::password::{self, Confirmation};
use crate::auth::signin::trusted;
use crate::auth::tokens::{random_token, token_hash};
use crate::clock::rfc3339;
use crate::db::audit::{self, NewEvent};
use crate::db::password_resets::{self, PasswordReset};
use crate::db::users::User;
use crate::db::{mfa, sessions, throttle, users, write_tx, AnyConnection};
use crate::domain::{
    device_name, DisplayName, Email, Locale, NewPassword, Role, Secret, TenantSlug, MAX_PASSWORD_CHARS,
};
use crate::error::{ApiError, Problem};
use crate::grants;
use crate::notices::{self, Letter, Recipient};
use crate::routes::extract::{self, AdminUser, AuthUser, FreshAdmin};
use crate::routes::views::{device_cookie_removal, this_device, UserView};
use crate::state::AppState;

/// A reset link is valid this long.
pub const RESET_LINK_SECS: i64 = 30 * 60;
/// Reset links per (site, e-mail) an hour, and forgot-password requests per address a minute.
const RESETS_PER_ACCOUNT_PER_HOUR: u32 = 3;
const FORGOT_PER_IP_PER_MIN: u32 = 10;

fn event<'a>(
    tenant_id: &'a str,
    kind: &'a str,
    user_id: Option<&'a str>,
    actor_id: Option<&'a str>,
    details: serde_json::Value,
) -> NewEvent<'a> {
    NewEvent { tenant_id: Some(tenant_id), kind, user_id, actor_id, details }
}

fn weak(password: &str) -> Result<NewPassword, ApiError> {
    NewPassword::parse(password).map_err(|r| ApiError::WeakPassword(r.to_string()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    #[schema(format = Password)]
    pub current_password: String,
    #[schema(format = Password)]
    pub new_password: String,
}

/// Change the password (the current one is required); the user's other sessions end.
#[utoipa::path(
    post, path = "/api/v1/me/password", tag = "my account",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed; every trusted device is forgotten, this browser's too (its `cx_device` cookie is cleared)"),
        (status = 403, description = "`invalid_credentials` or `reauth_required`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`weak_password`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`: the account's password lock is in force", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn change_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let now = state.now();
    user.require_fresh(now)?;
    let body = body.into_inner();
    let new = weak(&body.new_password)?;
    if body.current_password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(ApiError::InvalidCredentials { in_session: true });
    }
    let origin = extract::origin(&req, &state);
    let current = Secret::new(body.current_password);
    match password::confirm(&state, &user.tenant.slug, &user.user, current, "password_change", origin).await? {
        Confirmation::Right => {}
        Confirmation::Wrong => return Err(ApiError::InvalidCredentials { in_session: true }),
        Confirmation::Locked { retry_after } => {
            return Err(ApiError::TooManyAttempts { retry_after: retry_after as u64 })
        }
    }
    let hash = state.hasher.hash(Secret::new(new.expose().to_string())).await.map_err(ApiError::internal)?;
    let (origin, key, keep) = (extract::origin(&req, &state), state.data_key.clone(), user.claims.sid.clone());
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let u = &user.user;
                users::set_password_hash(conn, &u.id, &hash, now)?;
                let ended = grants::end_grants(conn, &u.id, keep.as_deref(), "password_changed", now)?;
                // Every trusted device, this browser's too: the trust was given with the old
                // password, and the next sign-in asks for the second factor again.
                trusted::forget(conn, &origin, u, Some(&u.id), None, "password_changed", now)?;
                audit::record(
                    conn,
                    &origin,
                    now,
                    event(
                        &u.tenant_id,
                        "password_changed",
                        Some(&u.id),
                        Some(&u.id),
                        serde_json::json!({"sessions_ended": ended.sessions, "reset_links_voided": ended.links}),
                    ),
                )?;
                notices::queue(conn, &key, &Recipient::user(u, origin.browser_locale), &Letter::PasswordChanged, now)?;
                Ok::<_, ApiError>(())
            })
        })
        .await?;
    state.outbox_wake.notify_one();
    // This browser's trusted device was forgotten with the others: its cookie goes too.
    Ok(HttpResponse::NoContent().cookie(device_cookie_removal(&state)).finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotRequest {
    pub tenant: String,
    pub email: String,
}

/// Queues a reset link for the user (in the caller's transaction), in their language, else
/// `browser`'s (the language of the request that asked for it, when it was theirs).
fn queue_reset_link(
    conn: &mut AnyConnection,
    state: &AppState,
    user: &User,
    browser: Option<Locale>,
    now: i64,
) -> Result<(), ApiError> {
    let token = random_token(32);
    password_resets::insert(
        conn,
        &PasswordReset {
            token_hash: token_hash(&token),
            user_id: user.id.clone(),
            created_at: now,
            expires_at: now + RESET_LINK_SECS,
            used_at: None,
        },
    )?;
    let link = format!("{}/reset-password?token={token}", state.public_url);
    notices::queue(conn, &state.data_key, &Recipient::user(user, browser), &Letter::ResetLink { link: &link }, now)?;
    Ok(())
}

/// Forgot password: always 202 at once, real account or not; a single-use link valid 30 minutes
/// goes out through the outbox (not when throttled).
#[utoipa::path(
    post, path = "/api/v1/auth/password/forgot", tag = "sign-in",
    request_body = ForgotRequest,
    responses(
        (status = 202, description = "Accepted, whatever the account"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn forgot(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<ForgotRequest>,
) -> Result<HttpResponse, ApiError> {
    let slug = TenantSlug::parse(&body.tenant).map_err(|m| ApiError::invalid("tenant", m))?;
    let email = Email::parse(&body.email).map_err(|m| ApiError::invalid("email", m))?;
    let origin = extract::origin(&req, &state);
    let ip = origin.ip.clone().unwrap_or_else(|| "unknown".into());
    // The work happens after the answer, so a real account and an unknown one look the same.
    let st = state.get_ref().clone();
    tokio::spawn(async move {
        let now = st.now();
        let s2 = st.clone();
        let result = st
            .db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    if throttle::hit(conn, &format!("forgot-ip\n{ip}"), FORGOT_PER_IP_PER_MIN, 60, now)?.is_err() {
                        return Ok(false);
                    }
                    let key = format!("forgot-account\n{}", account_key(slug.as_str(), email.as_str()));
                    if throttle::hit(conn, &key, RESETS_PER_ACCOUNT_PER_HOUR, 3600, now)?.is_err() {
                        return Ok(false);
                    }
                    let Some((tenant, user)) = crate::auth::session::find_account(conn, slug.as_str(), email.as_str())?
                    else {
                        return Ok(false);
                    };
                    if user.disabled {
                        return Ok(false);
                    }
                    queue_reset_link(conn, &s2, &user, origin.browser_locale, now)?;
                    audit::record(
                        conn,
                        &origin,
                        now,
                        event(&tenant.id, "password_reset_requested", Some(&user.id), None, serde_json::json!({})),
                    )?;
                    Ok::<_, ApiError>(true)
                })
            })
            .await;
        match result {
            Ok(true) => st.outbox_wake.notify_one(),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "forgot-password request failed"),
        }
    });
    Ok(HttpResponse::Accepted().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    pub token: String,
    #[schema(format = Password)]
    pub new_password: String,
}

/// Set a new password with a reset link. Signs nobody in, ends every session; 2FA stays.
///
/// Voids the user's other links, and removes the SSO connections made since the previous
/// password was set (the mail names them and lists the others).
#[utoipa::path(
    post, path = "/api/v1/auth/password/reset", tag = "sign-in",
    request_body = ResetRequest,
    responses(
        (status = 204, description = "Changed; sign in with the new password (and the second factor)"),
        (status = 401, description = "`invalid_code`: unknown, expired or used link (also a link of a disabled user)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`weak_password`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<ResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let new = weak(&body.new_password)?;
    let (hash_token, now) = (token_hash(&body.token), state.now());
    let t = hash_token.clone();
    state
        .db
        .run(move |conn| grants::usable_reset_link(conn, &t, now).map_err(ApiError::from))
        .await?
        .ok_or(ApiError::InvalidCode { in_session: false })?;
    let hash = state.hasher.hash(Secret::new(new.expose().to_string())).await.map_err(ApiError::internal)?;
    let (origin, key) = (extract::origin(&req, &state), state.data_key.clone());
    state.db.run(move |conn| grants::reset_password(conn, &key, &origin, &hash_token, &hash, now)).await?;
    state.outbox_wake.notify_one();
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: String,
    pub created_at: String,
    pub last_used_at: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// "Chrome on Windows", from the user agent.
    pub device: String,
    /// The session of this request.
    pub current: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    pub sessions: Vec<SessionView>,
}

/// The user's sessions (one per sign-in), newest first.
#[utoipa::path(
    get, path = "/api/v1/me/sessions", tag = "my account",
    security(("bearer" = [])),
    responses(
        (status = 200, body = SessionList),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_sessions(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let (uid, now, idle) = (user.user.id.clone(), state.now(), state.session_idle_secs());
    let families =
        state.db.run(move |conn| sessions::live_families(conn, &uid, now, idle).map_err(ApiError::from)).await?;
    let current = user.claims.sid.clone();
    Ok(HttpResponse::Ok().json(SessionList {
        sessions: families
            .into_iter()
            .map(|f| SessionView {
                current: current.as_deref() == Some(f.id.as_str()),
                device: device_name(f.user_agent.as_deref().unwrap_or("")),
                id: f.id,
                created_at: rfc3339(f.created_at),
                last_used_at: rfc3339(f.last_used_at),
                ip: f.ip,
                user_agent: f.user_agent,
            })
            .collect(),
    }))
}

/// Sign out one session.
#[utoipa::path(
    delete, path = "/api/v1/me/sessions/{id}", tag = "my account",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Signed out"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_session(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, now, origin) = (path.into_inner(), state.now(), extract::origin(&req, &state));
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let family = sessions::find_family(conn, &id)?
                    .filter(|f| f.user_id == user.user.id && f.revoked_at.is_none())
                    .ok_or(ApiError::NotFound)?;
                sessions::revoke_family(conn, &family.id, "signed_out_by_user", now)?;
                let u = &user.user;
                audit::record(
                    conn,
                    &origin,
                    now,
                    event(
                        &u.tenant_id,
                        "session_revoked",
                        Some(&u.id),
                        Some(&u.id),
                        serde_json::json!({"session_id": family.id}),
                    ),
                )?;
                Ok::<_, ApiError>(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// "Sign out other devices": every session but this one ends.
#[utoipa::path(
    post, path = "/api/v1/me/sessions/revoke-others", tag = "my account",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The other sessions ended"),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke_others(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let (now, origin, keep) = (state.now(), extract::origin(&req, &state), user.claims.sid.clone());
    // This browser's trusted device stays trusted, like its session.
    let this_device = this_device(&req);
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let u = &user.user;
                let ended = sessions::revoke_user_families(conn, &u.id, keep.as_deref(), "signed_out_others", now)?;
                trusted::forget(conn, &origin, u, Some(&u.id), this_device.as_deref(), "signed_out_others", now)?;
                audit::record(
                    conn,
                    &origin,
                    now,
                    event(
                        &u.tenant_id,
                        "other_sessions_revoked",
                        Some(&u.id),
                        Some(&u.id),
                        serde_json::json!({"sessions_ended": ended}),
                    ),
                )?;
                Ok::<_, ApiError>(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub disabled: Option<bool>,
}

async fn target(state: &AppState, admin: &AdminUser, id: String) -> Result<User, ApiError> {
    let tid = admin.0.user.tenant_id.clone();
    state
        .db
        .run(move |conn| users::find_in_tenant(conn, &tid, &id).map_err(ApiError::from))
        .await?
        .ok_or(ApiError::NotFound)
}

/// Edit a user: name, role, disabled (disabling ends every session and revokes its access tokens).
///
/// Changing the role ends the sessions too, and both void the user's reset links.
#[utoipa::path(
    patch, path = "/api/v1/admin/users/{id}", tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, body = UserView),
        (status = 403, description = "`forbidden` (not an admin) or `reauth_required` (sign-in older than 10 minutes)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`self_action_forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    FreshAdmin(admin): FreshAdmin,
    path: web::Path<String>,
    body: web::Json<UpdateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let name = body
        .display_name
        .map(|n| DisplayName::parse(&n, DisplayName::USER_MAX).map(DisplayName::into_string))
        .transpose()
        .map_err(|m| ApiError::invalid("display_name", m))?;
    let edit = grants::UserEdit {
        display_name: name,
        role: body.role.map(|r| r.as_str().to_string()),
        disabled: body.disabled,
    };
    let (id, now, origin, actor) =
        (path.into_inner(), state.now(), extract::origin(&req, &state), admin.0.user.clone());
    let uid = id.clone();
    state.db.run(move |conn| grants::update_user(conn, &origin, &actor, &uid, &edit, now)).await?;
    let (tenant, now) = (admin.0.tenant, state.now());
    let status = state
        .db
        .run(move |conn| accounts::status_in_tenant(conn, &tenant, &id, now).map_err(ApiError::from))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(UserView::from(status)))
}

/// Lift a password or second-factor lock.
#[utoipa::path(
    post, path = "/api/v1/admin/users/{id}/unlock", tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Unlocked"),
        (status = 403, description = "`forbidden` (not an admin) or `reauth_required` (sign-in older than 10 minutes)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unlock(
    req: HttpRequest,
    state: web::Data<AppState>,
    FreshAdmin(admin): FreshAdmin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = target(&state, &admin, path.into_inner()).await?;
    let (now, origin, actor, slug) =
        (state.now(), extract::origin(&req, &state), admin.0.user.clone(), admin.0.tenant.slug.clone());
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let password = throttle::unlock(conn, &account_key(&slug, &user.email))?;
                mfa::reset_mfa_failures(conn, &user.id)?;
                audit::record(
                    conn,
                    &origin,
                    now,
                    event(
                        &user.tenant_id,
                        "user_unlocked",
                        Some(&user.id),
                        Some(&actor.id),
                        serde_json::json!({"password_lock": password}),
                    ),
                )?;
                Ok::<_, ApiError>(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Mail the user a password reset link.
#[utoipa::path(
    post, path = "/api/v1/admin/users/{id}/password-reset", tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 202, description = "The link is on its way"),
        (status = 403, description = "`forbidden` (not an admin) or `reauth_required` (sign-in older than 10 minutes)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn send_reset_link(
    req: HttpRequest,
    state: web::Data<AppState>,
    FreshAdmin(admin): FreshAdmin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = target(&state, &admin, path.into_inner()).await?;
    let (now, origin, actor, st) =
        (state.now(), extract::origin(&req, &state), admin.0.user.clone(), state.get_ref().clone());
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                // The admin's browser says nothing of the user's language.
                queue_reset_link(conn, &st, &user, None, now)?;
                audit::record(
                    conn,
                    &origin,
                    now,
                    event(
                        &user.tenant_id,
                        "password_reset_sent",
                        Some(&user.id),
                        Some(&actor.id),
                        serde_json::json!({}),
                    ),
                )?;
                Ok::<_, ApiError>(())
            })
        })
        .await?;
    state.outbox_wake.notify_one();
    Ok(HttpResponse::Accepted().finish())
}

/// Delete a user; their audit history stays.
#[utoipa::path(
    delete, path = "/api/v1/admin/users/{id}", tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`forbidden` (not an admin) or `reauth_required` (sign-in older than 10 minutes)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`self_action_forbidden`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    FreshAdmin(admin): FreshAdmin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, now, origin, actor) =
        (path.into_inner(), state.now(), extract::origin(&req, &state), admin.0.user.clone());
    state.db.run(move |conn| grants::delete_user(conn, &origin, &actor, &id, now)).await?;
    Ok(HttpResponse::NoContent().finish())
}
