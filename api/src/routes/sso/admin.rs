//! The admin's SSO applications: list, add, change, remove, test. Each change writes its audit
//! row in the transaction that makes it.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::oidc;
use crate::auth::signin::sso::{client_secret_aad, redirect_uri};
use crate::clock::rfc3339;
use crate::db::audit::{self, NewEvent, Origin};
use crate::db::sso::{self, Provider};
use crate::db::users::User;
use crate::db::{write_tx, AnyConnection};
use crate::domain::{DisplayName, ProviderKind};
use crate::error::{ApiError, FieldError, Problem};
use crate::routes::extract::{self, AdminUser, FreshAdmin};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderInput {
    /// On create only. Another value answers `validation_failed`.
    #[serde(default)]
    #[schema(value_type = Option<ProviderKind>)]
    pub kind: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    /// Write-only.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Discovery base; defaults per kind.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Microsoft: a tenant GUID, or `organizations` / `common` with `allowed_tenants`.
    #[serde(default)]
    pub microsoft_tenant: Option<String>,
    #[serde(default)]
    pub allowed_tenants: Option<Vec<String>>,
    #[serde(default)]
    pub trust_idp_mfa: Option<bool>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderView {
    pub id: String,
    #[schema(value_type = ProviderKind)]
    pub kind: String,
    pub display_name: String,
    pub client_id: String,
    pub issuer: String,
    pub microsoft_tenant: Option<String>,
    pub allowed_tenants: Vec<String>,
    pub trust_idp_mfa: bool,
    pub enabled: bool,
    /// Register this at the provider.
    pub redirect_uri: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderViewList {
    pub providers: Vec<ProviderView>,
}

fn provider_view(state: &AppState, p: Provider) -> ProviderView {
    ProviderView {
        allowed_tenants: p.allowed_tenants.split_whitespace().map(str::to_string).collect(),
        id: p.id,
        kind: p.kind,
        display_name: p.display_name,
        client_id: p.client_id,
        issuer: p.issuer,
        microsoft_tenant: p.microsoft_tenant,
        trust_idp_mfa: p.trust_idp_mfa,
        enabled: p.enabled,
        redirect_uri: redirect_uri(state),
        created_at: rfc3339(p.created_at),
        updated_at: rfc3339(p.updated_at),
    }
}

/// Applies `input` to `p` and checks the result; the secret is sealed here.
fn apply(state: &AppState, p: &mut Provider, input: ProviderInput, creating: bool) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if let Some(kind) = input.kind {
        if !creating && kind != p.kind {
            errors.push(FieldError::new("kind", "the kind cannot change"));
        }
        p.kind = kind;
    }
    if !["google", "microsoft", "oidc"].contains(&p.kind.as_str()) {
        errors.push(FieldError::new("kind", "google, microsoft or oidc"));
    }
    if let Some(n) = input.display_name {
        p.display_name = n.trim().to_string();
    }
    if p.display_name.is_empty() {
        p.display_name = match p.kind.as_str() {
            "google" => "Google".into(),
            "microsoft" => "Office 365".into(),
            _ => String::new(),
        };
    }
    match DisplayName::parse(&p.display_name, DisplayName::SSO_APPLICATION_MAX) {
        Ok(name) => p.display_name = name.into_string(),
        Err(m) => errors.push(FieldError::new("display_name", m)),
    }
    if let Some(c) = input.client_id {
        p.client_id = c.trim().to_string();
    }
    if p.client_id.is_empty() || p.client_id.len() > 300 {
        errors.push(FieldError::new("client_id", "required"));
    }
    match input.client_secret {
        Some(s) if !s.is_empty() && s.len() <= 500 => {
            p.client_secret_sealed = state.data_key.seal(s.as_bytes(), &client_secret_aad(&p.id))
        }
        Some(_) => errors.push(FieldError::new("client_secret", "1 to 500 characters")),
        None if creating => errors.push(FieldError::new("client_secret", "required")),
        None => {}
    }
    if let Some(t) = input.microsoft_tenant {
        p.microsoft_tenant = Some(t.trim().to_ascii_lowercase()).filter(|t| !t.is_empty());
    }
    if let Some(list) = input.allowed_tenants {
        if list.iter().any(|t| !oidc::is_guid(t)) {
            errors.push(FieldError::new("allowed_tenants", "tenant ids are GUIDs"));
        }
        p.allowed_tenants = list.iter().map(|t| t.to_ascii_lowercase()).collect::<Vec<_>>().join(" ");
    }
    let allow_insecure = state.config.allow_insecure_issuers;
    let default_issuer = match p.kind.as_str() {
        "google" => Some("https://accounts.google.com".to_string()),
        "microsoft" => p.microsoft_tenant.as_ref().map(|t| format!("https://login.microsoftonline.com/{t}/v2.0")),
        _ => None,
    };
    match input.issuer.map(|i| i.trim().trim_end_matches('/').to_string()).filter(|i| !i.is_empty()) {
        Some(i) => {
            // Google is only ever accounts.google.com, except where test issuers are allowed.
            if p.kind == "google" && !allow_insecure && i != "https://accounts.google.com" {
                errors.push(FieldError::new("issuer", "Google's issuer is https://accounts.google.com"));
            }
            p.issuer = i;
        }
        None if creating || p.issuer.is_empty() => match default_issuer {
            Some(d) => p.issuer = d,
            None => errors.push(FieldError::new("issuer", "required for this kind")),
        },
        None => {}
    }
    if p.kind == "microsoft" {
        match p.microsoft_tenant.as_deref() {
            None => errors.push(FieldError::new("microsoft_tenant", "a tenant GUID, or organizations / common")),
            Some("organizations") | Some("common") if p.allowed_tenants.is_empty() => errors.push(FieldError::new(
                "allowed_tenants",
                "a multi-tenant application needs the list of tenants it accepts",
            )),
            Some(t) if t != "organizations" && t != "common" && !oidc::is_guid(t) => {
                errors.push(FieldError::new("microsoft_tenant", "a tenant GUID, or organizations / common"))
            }
            _ => {}
        }
    }
    if !p.issuer.is_empty() {
        if let Err(m) = oidc::check_issuer(&p.issuer, allow_insecure) {
            errors.push(FieldError::new("issuer", m));
        }
    }
    if let Some(t) = input.trust_idp_mfa {
        p.trust_idp_mfa = t;
    }
    if let Some(e) = input.enabled {
        p.enabled = e;
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid(errors))
    }
}

/// The audit row of an admin's change, inside the change's transaction.
fn audit_admin(
    conn: &mut AnyConnection,
    origin: &Origin,
    now: i64,
    admin: &User,
    kind: &str,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    let event = NewEvent { tenant_id: Some(&admin.tenant_id), kind, user_id: None, actor_id: Some(&admin.id), details };
    audit::record(conn, origin, now, event).map_err(ApiError::from)
}

/// The site's SSO applications (secrets never shown).
#[utoipa::path(
    get, path = "/api/v1/admin/sso-providers", tag = "administration",
    security(("bearer" = [])),
    responses(
        (status = 200, body = ProviderViewList),
        (status = 403, description = "`forbidden`: not an admin", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_providers(state: web::Data<AppState>, admin: AdminUser) -> Result<HttpResponse, ApiError> {
    let tid = admin.0.tenant.id;
    let list = state.db.run(move |conn| sso::providers(conn, &tid, false).map_err(ApiError::from)).await?;
    Ok(HttpResponse::Ok()
        .json(ProviderViewList { providers: list.into_iter().map(|p| provider_view(&state, p)).collect() }))
}

/// Add an SSO application.
#[utoipa::path(
    post, path = "/api/v1/admin/sso-providers", tag = "administration",
    security(("bearer" = [])),
    request_body = ProviderInput,
    responses(
        (status = 201, body = ProviderView),
        (status = 403, description = "`forbidden` (not an admin) or `reauth_required` (sign-in older than 10 minutes)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_provider(
    req: HttpRequest,
    state: web::Data<AppState>,
    FreshAdmin(admin): FreshAdmin,
    body: web::Json<ProviderInput>,
) -> Result<HttpResponse, ApiError> {
    let now = state.now();
    let mut p = Provider {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: admin.0.tenant.id.clone(),
        kind: String::new(),
        display_name: String::new(),
        client_id: String::new(),
        client_secret_sealed: String::new(),
        issuer: String::new(),
        microsoft_tenant: None,
        allowed_tenants: String::new(),
        trust_idp_mfa: false,
        enabled: true,
        created_at: now,
        updated_at: now,
    };
    apply(&state, &mut p, body.into_inner(), true)?;
    let (row, origin, actor) = (p.clone(), extract::origin(&req, &state), admin.0.user);
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                sso::insert_provider(conn, &row)?;
                let details = serde_json::json!({"provider_id": row.id, "kind": row.kind});
                audit_admin(conn, &origin, now, &actor, "sso_provider_created", details)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(provider_view(&state, p)))
}

async fn own_provider(state: &AppState, admin: &AdminUser, id: String) -> Result<Provider, ApiError> {
    let tid = admin.0.tenant.id.clone();
    state
        .db
        .run(move |conn| sso::find_provider(conn, &id).map_err(ApiError::from))
        .await?
        .filter(|p| p.tenant_id == tid)
        .ok_or(ApiError::NotFound)
}

/// One SSO application.
#[utoipa::path(
    get, path = "/api/v1/admin/sso-providers/{id}", tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ProviderView),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_provider(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = own_provider(&state, &admin, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(provider_view(&state, p)))
}

/// Change an SSO application (enable, rename, new secret…).
#[utoipa::path(
    patch, path = "/api/v1/admin/sso-providers/{id}", tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = ProviderInput,
    responses(
        (status = 200, body = ProviderView),
        (status = 403, description = "`forbidden` (not an admin) or `reauth_required` (sign-in older than 10 minutes)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn patch_provider(
    req: HttpRequest,
    state: web::Data<AppState>,
    FreshAdmin(admin): FreshAdmin,
    path: web::Path<String>,
    body: web::Json<ProviderInput>,
) -> Result<HttpResponse, ApiError> {
    let mut p = own_provider(&state, &admin, path.into_inner()).await?;
    apply(&state, &mut p, body.into_inner(), false)?;
    let now = state.now();
    p.updated_at = now;
    let (row, origin, actor) = (p.clone(), extract::origin(&req, &state), admin.0.user);
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                sso::update_provider(conn, &row)?;
                let details = serde_json::json!({"provider_id": row.id});
                audit_admin(conn, &origin, now, &actor, "sso_provider_changed", details)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(provider_view(&state, p)))
}

/// Remove an SSO application (and the connections made through it).
#[utoipa::path(
    delete, path = "/api/v1/admin/sso-providers/{id}", tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`forbidden` (not an admin) or `reauth_required` (sign-in older than 10 minutes)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_provider(
    req: HttpRequest,
    state: web::Data<AppState>,
    FreshAdmin(admin): FreshAdmin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = own_provider(&state, &admin, path.into_inner()).await?;
    let (now, origin, actor) = (state.now(), extract::origin(&req, &state), admin.0.user);
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                // Removed meanwhile by another request: that one recorded it.
                if !sso::delete_provider(conn, &p.tenant_id, &p.id)? {
                    return Err(ApiError::NotFound);
                }
                audit_admin(
                    conn,
                    &origin,
                    now,
                    &actor,
                    "sso_provider_deleted",
                    serde_json::json!({"provider_id": p.id}),
                )
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderTest {
    pub ok: bool,
    /// What is wrong, in plain words.
    pub problems: Vec<String>,
}

/// Fetch the application's discovery document and keys, and say what is wrong.
#[utoipa::path(
    post, path = "/api/v1/admin/sso-providers/{id}/test", tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ProviderTest),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
// No fresh sign-in here, unlike the routes that change an application: this one changes nothing
// of the site. It reads what the configured issuer publishes (at most renewing the in-process
// discovery cache with it, as the cache's expiry would) and answers; it writes no row.
pub async fn test_provider(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = own_provider(&state, &admin, path.into_inner()).await?;
    let mut problems = Vec::new();
    match state.oidc.discover(&p.issuer, true).await {
        // Plain words only: an address the issuer resolved to, or an error chain, stays in the log.
        Err(e) => problems.push(format!("Could not read the provider's settings: {}.", e.detail())),
        Ok(d) => {
            if d.keys.keys().is_empty() {
                problems.push("The provider publishes no signing keys.".into());
            }
            if d.doc.issuer.contains("{tenantid}") && p.allowed_tenants.is_empty() {
                problems.push("This is a multi-tenant application: list the tenant ids it may accept.".into());
            }
        }
    }
    if state.data_key.open(&p.client_secret_sealed, &client_secret_aad(&p.id)).is_err() {
        problems.push("The client secret cannot be read with this AUTH_DATA_KEY: enter it again.".into());
    }
    if !p.enabled {
        problems.push("The application is disabled: agents do not see it.".into());
    }
    Ok(HttpResponse::Ok().json(ProviderTest { ok: problems.is_empty(), problems }))
}
