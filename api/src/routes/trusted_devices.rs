//! `/api/v1/me/trusted-devices`: the browsers that skip the second factor ("Remember this
//! device"), listed and forgotten by their user.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::signin::trusted;
use crate::clock::rfc3339;
use crate::db::audit::{self, NewEvent};
use crate::db::{trusted_devices, write_tx};
use crate::error::{ApiError, Problem};
use crate::routes::extract::{self, AuthUser};
use crate::routes::views::{device_cookie_removal, this_device};
use crate::state::AppState;

/// A browser trusted to skip the second factor at sign-in until `expires_at`. Such a sign-in
/// still needs the password (or SSO); its access token says `amr` `["pwd", "trusted_device"]`
/// (`["sso", kind, "trusted_device"]` for SSO), `trusted_device` meaning the second factor was
/// remembered, not presented, and `acr` is the site's `remembered_device_acr`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrustedDeviceView {
    pub id: String,
    /// Browser and operating system, e.g. "Chrome on Linux".
    pub label: String,
    pub created_at: String,
    /// After this the device asks for the second factor again.
    pub expires_at: String,
    /// The last sign-in that skipped the second factor on it.
    pub last_used_at: Option<String>,
    /// The browser of this request (its `cx_device` cookie).
    pub current: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrustedDeviceList {
    pub devices: Vec<TrustedDeviceView>,
}

/// The user's trusted devices (unexpired), newest first.
#[utoipa::path(
    get, path = "/api/v1/me/trusted-devices", tag = "my account", operation_id = "list_trusted_devices",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The trusted devices; `current` marks the browser of this request", body = TrustedDeviceList),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(req: HttpRequest, state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let (uid, now) = (user.user.id.clone(), state.now());
    let devices = state.db.run(move |conn| trusted_devices::list_live(conn, &uid, now).map_err(ApiError::from)).await?;
    let current = this_device(&req);
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(TrustedDeviceList {
        devices: devices
            .into_iter()
            .map(|d| TrustedDeviceView {
                current: current.as_deref() == Some(d.token_hash.as_str()),
                id: d.id,
                label: d.label,
                created_at: rfc3339(d.created_at),
                expires_at: rfc3339(d.expires_at),
                last_used_at: d.last_used_at.map(rfc3339),
            })
            .collect(),
    }))
}

/// Forget one trusted device: its next sign-in asks for the second factor again.
#[utoipa::path(
    delete, path = "/api/v1/me/trusted-devices/{id}", tag = "my account", operation_id = "forget_trusted_device",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Forgotten (when it was this browser, its `cx_device` cookie is cleared)"),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such device of this user", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn forget(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, now, origin) = (path.into_inner(), state.now(), extract::origin(&req, &state));
    let u = user.user;
    let forgotten = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let device = trusted_devices::forget_one(conn, &u.id, &id)?.ok_or(ApiError::NotFound)?;
                let details = serde_json::json!({ "reason": "forgotten_by_user", "count": 1, "device_id": device.id });
                audit::record(
                    conn,
                    &origin,
                    now,
                    NewEvent::own(&u.tenant_id, &u.id, "trusted_devices_forgotten", details),
                )?;
                Ok::<_, ApiError>(device)
            })
        })
        .await?;
    let mut resp = HttpResponse::NoContent();
    if this_device(&req).as_deref() == Some(forgotten.token_hash.as_str()) {
        resp.cookie(device_cookie_removal(&state));
    }
    Ok(resp.finish())
}

/// Forget every trusted device of the user (this browser's too: its cookie is cleared).
#[utoipa::path(
    delete, path = "/api/v1/me/trusted-devices", tag = "my account", operation_id = "forget_all_trusted_devices",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "All forgotten; the `cx_device` cookie is cleared"),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn forget_all(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let (now, origin) = (state.now(), extract::origin(&req, &state));
    let u = user.user;
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let actor = Some(u.id.as_str());
                trusted::forget(conn, &origin, &u, actor, None, "forgotten_by_user", now)?;
                Ok::<_, ApiError>(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().cookie(device_cookie_removal(&state)).finish())
}
