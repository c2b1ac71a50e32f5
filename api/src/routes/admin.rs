//! `/api/v1/admin`: site administration (role `admin`, own site only).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::accounts;
use crate::clock::rfc3339;
use crate::db::audit::{self, Filter, NewEvent};
use crate::db::users::User;
use crate::db::{mfa, tenants, users, write_tx};
use crate::domain::{DisplayName, Email, NewPassword, Role, Secret};
use crate::error::{ApiError, FieldError, Problem};
use crate::notices;
use crate::routes::extract::{self, AdminUser, FreshAdmin};
use crate::routes::views::UserView;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<UserView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    pub email: String,
    pub display_name: String,
    #[schema(format = Password)]
    pub password: String,
    pub role: Role,
}

/// The site's users.
#[utoipa::path(
    get, path = "/api/v1/admin/users", tag = "administration",
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserList),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: not an admin", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_users(state: web::Data<AppState>, admin: AdminUser) -> Result<HttpResponse, ApiError> {
    let (tenant, now) = (admin.0.tenant, state.now());
    let users = state
        .db
        .run(move |conn| accounts::statuses_in_tenant(conn, &tenant, now).map_err(ApiError::from))
        .await?
        .into_iter()
        .map(UserView::from)
        .collect();
    Ok(HttpResponse::Ok().json(UserList { users }))
}

/// Add a user to the site.
#[utoipa::path(
    post, path = "/api/v1/admin/users", tag = "administration",
    security(("bearer" = [])),
    request_body = CreateUserRequest,
    responses(
        (status = 201, body = UserView),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (not an admin) or `reauth_required` (sign-in older than 10 minutes)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (also an e-mail already in use) or `weak_password`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    FreshAdmin(admin): FreshAdmin,
    body: web::Json<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut errors = Vec::new();
    let email = Email::parse(&body.email).map_err(|m| errors.push(FieldError::new("email", m))).ok();
    let display_name = DisplayName::parse(&body.display_name, DisplayName::USER_MAX)
        .map_err(|m| errors.push(FieldError::new("display_name", m)))
        .ok();
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let email = email.ok_or_else(|| ApiError::invalid("email", "required"))?;
    let display_name = display_name.ok_or_else(|| ApiError::invalid("display_name", "required"))?.into_string();
    let password = NewPassword::parse(&body.password).map_err(|r| ApiError::WeakPassword(r.to_string()))?;
    let hash = state.hasher.hash(Secret::new(password.expose().to_string())).await.map_err(ApiError::internal)?;
    let now = state.now();
    let actor = admin.0.user;
    let user = User {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: actor.tenant_id.clone(),
        email: email.as_str().to_string(),
        display_name,
        password_hash: hash,
        role: body.role.as_str().to_string(),
        disabled: false,
        created_at: now,
        last_sign_in_at: None,
        locale: None,
    };
    let origin = extract::origin(&req, &state);
    let created = user.clone();
    let inserted = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                if !users::insert(conn, &created)? {
                    return Ok(false);
                }
                audit::record(
                    conn,
                    &origin,
                    now,
                    NewEvent {
                        tenant_id: Some(&created.tenant_id),
                        kind: "user_created",
                        user_id: Some(&created.id),
                        actor_id: Some(&actor.id),
                        details: serde_json::json!({ "role": created.role }),
                    },
                )?;
                Ok::<_, ApiError>(true)
            })
        })
        .await?;
    if !inserted {
        return Err(ApiError::invalid("email", "a user with this e-mail already exists on the site"));
    }
    Ok(HttpResponse::Created().json(UserView::from_parts(user, false, None)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub user_id: Option<String>,
    pub kind: Option<String>,
    /// RFC 3339; events at or after.
    pub since: Option<String>,
    /// RFC 3339; events before.
    pub until: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
    /// An event id: the page continues after it.
    pub before: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    pub id: String,
    pub at: String,
    pub kind: String,
    pub user_id: Option<String>,
    pub actor_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventList {
    pub events: Vec<AuditEventView>,
    /// Pass as `before` for the next page; null on the last one.
    pub next_before: Option<String>,
}

fn parse_time(field: &str, value: Option<String>) -> Result<Option<i64>, ApiError> {
    value
        .map(|v| {
            chrono::DateTime::parse_from_rfc3339(&v)
                .map(|t| t.timestamp())
                .map_err(|_| ApiError::invalid(field, "an RFC 3339 time such as 2026-01-31T12:00:00Z"))
        })
        .transpose()
}

/// The site's audit log, newest first.
#[utoipa::path(
    get, path = "/api/v1/admin/audit-events", tag = "administration",
    security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, body = AuditEventList),
        (status = 400, description = "`validation_failed`: bad query", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn audit_events(
    state: web::Data<AppState>,
    admin: AdminUser,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid("limit", "from 1 to 200"));
    }
    let filter = Filter {
        user_id: q.user_id,
        kind: q.kind,
        since: parse_time("since", q.since)?,
        until: parse_time("until", q.until)?,
        before: q.before,
        limit,
    };
    let tenant_id = admin.0.tenant.id;
    let rows = state.db.run(move |conn| audit::list(conn, &tenant_id, &filter).map_err(ApiError::from)).await?;
    let next_before = (rows.len() as i64 == limit).then(|| rows.last().map(|e| e.id.clone())).flatten();
    let events = rows
        .into_iter()
        .map(|e| AuditEventView {
            id: e.id,
            at: rfc3339(e.at),
            kind: e.kind,
            user_id: e.user_id,
            actor_id: e.actor_id,
            ip: e.ip,
            user_agent: e.user_agent,
            details: serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null),
        })
        .collect();
    Ok(HttpResponse::Ok().json(AuditEventList { events, next_before }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetTwoFactorRequest {
    /// Why: kept in the audit log.
    pub reason: String,
    /// The support ticket, if any.
    #[serde(default)]
    pub ticket: Option<String>,
}

/// Recover an account whose owner lost both device and backup codes: removes the method, the
/// codes and the user's passkeys, signs the user out everywhere, audits who and why, and e-mails the user.
#[utoipa::path(
    post, path = "/api/v1/admin/users/{id}/2fa/reset", tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    request_body = ResetTwoFactorRequest,
    responses(
        (status = 204, description = "Reset"),
        (status = 403, description = "`forbidden` (not an admin) or `reauth_required` (sign-in older than 10 minutes)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found` (also a user of another site)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`mfa_not_enabled`: the user has neither a method nor a passkey", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a reason is required", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reset_two_factor(
    req: HttpRequest,
    state: web::Data<AppState>,
    FreshAdmin(admin): FreshAdmin,
    path: web::Path<String>,
    body: web::Json<ResetTwoFactorRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let reason = body.reason.trim().to_string();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::invalid("reason", "1 to 500 characters"));
    }
    let ticket = body.ticket.map(|t| t.trim().chars().take(100).collect::<String>()).filter(|t| !t.is_empty());
    let (id, now, origin, key) =
        (path.into_inner(), state.now(), extract::origin(&req, &state), state.data_key.clone());
    let actor = admin.0.user;
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let user = users::find_in_tenant(conn, &actor.tenant_id, &id)?.ok_or(ApiError::NotFound)?;
                // Recovery takes every factor beyond the password: the method, its codes and the
                // passkeys (which count as 2FA).
                let had_method = mfa::remove_all(conn, &user.id, now)?;
                let passkeys_removed = crate::db::passkeys::delete_all_of(conn, &user.id, now)?;
                if !had_method && passkeys_removed == 0 {
                    return Err(ApiError::MfaNotEnabled);
                }
                mfa::reset_mfa_failures(conn, &user.id)?;
                let ended = crate::grants::end_grants(conn, &user.id, None, "mfa_admin_reset", now)?;
                let actor_id = Some(actor.id.as_str());
                crate::auth::signin::trusted::forget(conn, &origin, &user, actor_id, None, "mfa_admin_reset", now)?;
                audit::record(
                    conn,
                    &origin,
                    now,
                    NewEvent {
                        tenant_id: Some(&user.tenant_id),
                        kind: "mfa_admin_reset",
                        user_id: Some(&user.id),
                        actor_id: Some(&actor.id),
                        details: serde_json::json!({
                            "reason": reason,
                            "ticket": ticket,
                            "passkeys_removed": passkeys_removed,
                            "sessions_ended": ended.sessions,
                            "reset_links_voided": ended.links,
                        }),
                    },
                )?;
                // In the user's own language, or English: the admin's browser says nothing of it.
                let to = notices::Recipient::user(&user, None);
                notices::queue(conn, &key, &to, &notices::Letter::Notice(notices::Notice::TwoFactorResetByAdmin), now)?;
                Ok(())
            })
        })
        .await?;
    state.outbox_wake.notify_one();
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SiteSettings {
    /// Every user of the site must set up 2FA; until then only `/me`, `/me/2fa/*` and `/auth/*` answer.
    /// A passkey counts as 2FA.
    pub require_2fa: bool,
    /// Users may add passkeys and sign in with them (default on).
    pub passkeys_enabled: bool,
    /// The second-factor step offers "Remember this device" (default on).
    pub remember_device: bool,
    /// Days a remembered device skips the second factor, 1–90 (default 30).
    #[schema(minimum = 1, maximum = 90)]
    pub remember_device_days: i32,
    /// The `acr` of a sign-in whose second factor was remembered (default `aal2`).
    pub remembered_device_acr: RememberedAcr,
}

/// The assurance level a remembered device's sign-in is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RememberedAcr {
    Aal1,
    Aal2,
}

impl RememberedAcr {
    fn as_str(self) -> &'static str {
        match self {
            Self::Aal1 => "aal1",
            Self::Aal2 => "aal2",
        }
    }
}

/// A change of the site's policy: the fields sent change, the others stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteSettingsPatch {
    pub require_2fa: Option<bool>,
    pub passkeys_enabled: Option<bool>,
    pub remember_device: Option<bool>,
    #[schema(minimum = 1, maximum = 90)]
    pub remember_device_days: Option<i32>,
    pub remembered_device_acr: Option<RememberedAcr>,
}

impl SiteSettings {
    fn of(require_2fa: bool, p: &tenants::SitePolicy) -> Self {
        Self {
            require_2fa,
            passkeys_enabled: p.passkeys_enabled,
            remember_device: p.remember_device,
            remember_device_days: p.remember_device_days,
            remembered_device_acr: if p.remembered_device_acr == "aal1" {
                RememberedAcr::Aal1
            } else {
                RememberedAcr::Aal2
            },
        }
    }
}

/// The site's security policy.
#[utoipa::path(
    get, path = "/api/v1/admin/settings", tag = "administration",
    security(("bearer" = [])),
    responses(
        (status = 200, body = SiteSettings),
        (status = 403, description = "`forbidden`: not an admin", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_settings(state: web::Data<AppState>, admin: AdminUser) -> Result<HttpResponse, ApiError> {
    let tenant = admin.0.tenant;
    let policy = state.db.run(move |conn| tenants::policy(conn, &tenant.id).map_err(ApiError::from)).await?;
    let policy = policy.ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(SiteSettings::of(tenant.require_2fa, &policy)))
}

/// Change the site's security policy: only the fields sent change.
#[utoipa::path(
    patch, path = "/api/v1/admin/settings", tag = "administration",
    security(("bearer" = [])),
    request_body = SiteSettingsPatch,
    responses(
        (status = 200, body = SiteSettings),
        (status = 403, description = "`forbidden` (not an admin) or `reauth_required` (sign-in older than 10 minutes)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `remember_device_days` outside 1–90", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn patch_settings(
    req: HttpRequest,
    state: web::Data<AppState>,
    FreshAdmin(admin): FreshAdmin,
    body: web::Json<SiteSettingsPatch>,
) -> Result<HttpResponse, ApiError> {
    let patch = body.into_inner();
    if let Some(days) = patch.remember_device_days {
        if !(1..=90).contains(&days) {
            return Err(ApiError::Invalid(vec![FieldError::new("remember_device_days", "must be between 1 and 90")]));
        }
    }
    let (now, origin, actor) = (state.now(), extract::origin(&req, &state), admin.0.user);
    let settings = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let tenant = tenants::find(conn, &actor.tenant_id)?.ok_or(ApiError::NotFound)?;
                let mut policy = tenants::policy(conn, &actor.tenant_id)?.ok_or(ApiError::NotFound)?;
                let require_2fa = patch.require_2fa.unwrap_or(tenant.require_2fa);
                if require_2fa != tenant.require_2fa {
                    tenants::set_require_2fa(conn, &actor.tenant_id, require_2fa, now)?;
                }
                policy.passkeys_enabled = patch.passkeys_enabled.unwrap_or(policy.passkeys_enabled);
                policy.remember_device = patch.remember_device.unwrap_or(policy.remember_device);
                policy.remember_device_days = patch.remember_device_days.unwrap_or(policy.remember_device_days);
                if let Some(acr) = patch.remembered_device_acr {
                    policy.remembered_device_acr = acr.as_str().to_string();
                }
                tenants::set_policy(conn, &actor.tenant_id, &policy)?;
                let settings = SiteSettings::of(require_2fa, &policy);
                audit::record(
                    conn,
                    &origin,
                    now,
                    NewEvent {
                        tenant_id: Some(&actor.tenant_id),
                        kind: "site_settings_changed",
                        user_id: None,
                        actor_id: Some(&actor.id),
                        details: serde_json::to_value(&settings).unwrap_or_default(),
                    },
                )?;
                Ok::<_, ApiError>(settings)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(settings))
}
