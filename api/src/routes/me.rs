//! `/api/v1/me`: the signed-in user's own account.

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::Role;
use crate::error::{ApiError, Problem};
use crate::routes::extract::AuthUser;
use crate::routes::views::TenantView;

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub id: String,
    pub email: String,
    pub display_name: String,
    #[schema(value_type = Role)]
    pub role: String,
    pub tenant: TenantView,
    /// The site requires 2FA and this user has not set it up yet.
    pub mfa_setup_required: bool,
}

/// The signed-in user.
#[utoipa::path(
    get, path = "/api/v1/me", tag = "my account",
    security(("bearer" = [])),
    responses(
        (status = 200, body = MeResponse),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: a service token", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn me(user: AuthUser) -> Result<HttpResponse, ApiError> {
    let AuthUser { user, tenant, mfa_setup_required, .. } = user;
    Ok(HttpResponse::Ok().json(MeResponse {
        id: user.id,
        email: user.email,
        display_name: user.display_name,
        role: user.role,
        tenant: TenantView::from(tenant),
        mfa_setup_required,
    }))
}
