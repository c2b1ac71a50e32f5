//! Routes for other CloudCX services (service bearer tokens), and the admin's service clients.

use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::jwt::Claims;
use crate::auth::tokens::{random_token, token_hash};
use crate::clock::rfc3339;
use crate::db::audit::{self, NewEvent};
use crate::db::service_clients::{self, ServiceClient};
use crate::db::{mfa, tenants, users, write_tx};
use crate::domain::{ProviderKind, Role, KNOWN_SCOPES};
use crate::error::{ApiError, FieldError, Problem};
use crate::routes::extract::{self, bearer, AdminUser, FreshAdmin};
use crate::routes::views::{TenantView, TwoFactorSummary};
use crate::state::AppState;

/// A caller with a live service token (never a user token).
pub struct ServiceCaller {
    pub claims: Claims,
    pub client: ServiceClient,
}

impl ServiceCaller {
    pub fn require_scope(&self, scope: &str) -> Result<(), ApiError> {
        let scopes = self.claims.scope.as_deref().unwrap_or("");
        if scopes.split_whitespace().any(|s| s == scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("this needs the scope {scope}")))
        }
    }
}

impl FromRequest for ServiceCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("state missing")))?;
            let token = token.ok_or(ApiError::Unauthenticated)?;
            let claims = state.keys.verify(&token, state.now()).map_err(|_| ApiError::Unauthenticated)?;
            let Some(client_id) = claims.client_id.clone().filter(|_| claims.role.is_none()) else {
                return Err(ApiError::Forbidden("a user token cannot use service routes".into()));
            };
            let client = crate::revocation::check::client(&state.db, &client_id)
                .await?
                .filter(|c| c.tenant_id == claims.tid)
                .ok_or(ApiError::Unauthenticated)?;
            let client = Arc::unwrap_or_clone(client);
            Ok(ServiceCaller { claims, client })
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserForServices {
    pub id: String,
    pub email: String,
    pub display_name: String,
    #[schema(value_type = Role)]
    pub role: String,
    pub tenant: TenantView,
    pub two_factor: TwoFactorSummary,
    /// Kinds of the connected SSO accounts.
    #[schema(value_type = Vec<ProviderKind>)]
    pub sso: Vec<String>,
}

/// A user of the caller's site with their security status (scope `users:read`).
#[utoipa::path(
    get, path = "/api/v1/users/{id}", tag = "services",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, body = UserForServices),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: a user token, or no `users:read`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found` (also a user of another site)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn user(
    state: web::Data<AppState>,
    caller: ServiceCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_scope("users:read")?;
    let (id, tid) = (path.into_inner(), caller.client.tenant_id.clone());
    let (user, tenant, method, sso) = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let user = users::find_in_tenant(conn, &tid, &id)?.ok_or(ApiError::NotFound)?;
            let tenant = tenants::find(conn, &tid)?.ok_or(ApiError::NotFound)?;
            let method = mfa::find(conn, &user.id)?.map(|m| m.method);
            let sso = crate::db::sso_kinds_of(conn, &user.id)?;
            Ok((user, tenant, method, sso))
        })
        .await?;
    Ok(HttpResponse::Ok().json(UserForServices {
        id: user.id,
        email: user.email,
        display_name: user.display_name,
        role: user.role,
        tenant: TenantView::from(tenant),
        two_factor: TwoFactorSummary::of(method),
        sso,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateServiceClient {
    pub name: String,
    /// Any of `users:read`, `tokens:introspect`.
    pub scopes: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceClientView {
    pub client_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: String,
}

impl From<ServiceClient> for ServiceClientView {
    fn from(c: ServiceClient) -> Self {
        Self {
            scopes: c.scope_list().iter().map(|s| s.to_string()).collect(),
            client_id: c.client_id,
            name: c.name,
            created_at: rfc3339(c.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceClientCreated {
    pub client_id: String,
    /// Shown once; only its hash is kept.
    pub client_secret: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceClientList {
    pub clients: Vec<ServiceClientView>,
}

/// The site's service clients.
#[utoipa::path(
    get, path = "/api/v1/admin/service-clients", tag = "administration",
    security(("bearer" = [])),
    responses(
        (status = 200, body = ServiceClientList),
        (status = 403, description = "`forbidden`: not an admin", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_clients(state: web::Data<AppState>, admin: AdminUser) -> Result<HttpResponse, ApiError> {
    let tid = admin.0.tenant.id;
    let clients = state.db.run(move |conn| service_clients::list(conn, &tid).map_err(ApiError::from)).await?;
    Ok(HttpResponse::Ok().json(ServiceClientList { clients: clients.into_iter().map(Into::into).collect() }))
}

/// Register a service client; the secret is in this answer only.
#[utoipa::path(
    post, path = "/api/v1/admin/service-clients", tag = "administration",
    security(("bearer" = [])),
    request_body = CreateServiceClient,
    responses(
        (status = 201, body = ServiceClientCreated),
        (status = 403, description = "`forbidden` (not an admin) or `reauth_required` (sign-in older than 10 minutes)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_client(
    req: HttpRequest,
    state: web::Data<AppState>,
    FreshAdmin(admin): FreshAdmin,
    body: web::Json<CreateServiceClient>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut errors = Vec::new();
    let name = body.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError::new("name", "1 to 100 characters"));
    }
    let mut scopes: Vec<String> = Vec::new();
    for s in &body.scopes {
        if !KNOWN_SCOPES.contains(&s.as_str()) {
            errors.push(FieldError::new("scopes", format!("unknown scope {s:?}; known: {}", KNOWN_SCOPES.join(", "))));
        } else if !scopes.contains(s) {
            scopes.push(s.clone());
        }
    }
    if body.scopes.is_empty() {
        errors.push(FieldError::new("scopes", "at least one scope"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let secret = random_token(32);
    let now = state.now();
    let actor = admin.0.user;
    let client = ServiceClient {
        client_id: format!("svc_{}", random_token(12)),
        tenant_id: actor.tenant_id.clone(),
        name,
        secret_hash: token_hash(&secret),
        scopes: scopes.join(" "),
        created_at: now,
        created_by: Some(actor.id.clone()),
    };
    let (row, origin) = (client.clone(), extract::origin(&req, &state));
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                service_clients::insert(conn, &row)?;
                audit::record(
                    conn,
                    &origin,
                    now,
                    NewEvent {
                        tenant_id: Some(&row.tenant_id),
                        kind: "service_client_created",
                        user_id: None,
                        actor_id: Some(&actor.id),
                        details: serde_json::json!({ "client_id": row.client_id, "name": row.name, "scopes": row.scopes }),
                    },
                )?;
                Ok::<_, ApiError>(())
            })
        })
        .await?;
    Ok(HttpResponse::Created().insert_header((actix_web::http::header::CACHE_CONTROL, "no-store")).json(
        ServiceClientCreated {
            client_id: client.client_id,
            client_secret: secret,
            name: client.name,
            scopes,
            created_at: rfc3339(now),
        },
    ))
}

/// Delete a service client; its tokens stop working at once.
#[utoipa::path(
    delete, path = "/api/v1/admin/service-clients/{client_id}", tag = "administration",
    security(("bearer" = [])),
    params(("client_id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`forbidden` (not an admin) or `reauth_required` (sign-in older than 10 minutes)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_client(
    req: HttpRequest,
    state: web::Data<AppState>,
    FreshAdmin(admin): FreshAdmin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (client_id, now, origin, actor) = (path.into_inner(), state.now(), extract::origin(&req, &state), admin.0.user);
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                if !service_clients::delete(conn, &actor.tenant_id, &client_id, now)? {
                    return Err(ApiError::NotFound);
                }
                audit::record(
                    conn,
                    &origin,
                    now,
                    NewEvent {
                        tenant_id: Some(&actor.tenant_id),
                        kind: "service_client_deleted",
                        user_id: None,
                        actor_id: Some(&actor.id),
                        details: serde_json::json!({ "client_id": client_id }),
                    },
                )?;
                Ok(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
