//! `/api/v1/me`: the signed-in user's own account.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::db::audit::{self, NewEvent};
use crate::db::{users, write_tx};
use crate::domain::{Locale, Role};
use crate::error::{ApiError, FieldError, Problem};
use crate::routes::extract::{self, AuthUser};
use crate::routes::views::TenantView;
use crate::state::AppState;

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
    /// The language the user chose for the web app and their mails; `null`: no choice made (the
    /// browser's language is used, else English).
    pub locale: Option<Locale>,
}

impl MeResponse {
    fn of(user: AuthUser) -> Self {
        let AuthUser { user, tenant, mfa_setup_required, .. } = user;
        Self {
            locale: user.locale.as_deref().and_then(Locale::parse),
            id: user.id,
            email: user.email,
            display_name: user.display_name,
            role: user.role,
            tenant: TenantView::from(tenant),
            mfa_setup_required,
        }
    }
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
    Ok(HttpResponse::Ok().json(MeResponse::of(user)))
}

/// A change of the user's own preferences: the fields sent change, the others stay.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MePatch {
    /// `en` or `zh-CN`; `null` clears the choice (the browser's language is used again).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Locale>)]
    pub locale: Option<Option<String>>,
}

/// A field that was sent, `null` included (`Some(None)`); an absent one stays `None`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Change one's own preferences: the language of the web app and of one's mails. A preference,
/// not a privileged change: no recent sign-in is needed.
#[utoipa::path(
    patch, path = "/api/v1/me", tag = "my account",
    security(("bearer" = [])),
    request_body = MePatch,
    responses(
        (status = 200, body = MeResponse),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: a service token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `locale` is not `en`, `zh-CN` or `null`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn patch_me(
    req: HttpRequest,
    state: web::Data<AppState>,
    mut user: AuthUser,
    body: web::Json<MePatch>,
) -> Result<HttpResponse, ApiError> {
    let Some(wanted) = body.into_inner().locale else { return Ok(HttpResponse::Ok().json(MeResponse::of(user))) };
    let locale =
        match wanted.as_deref() {
            None => None,
            Some(tag) => Some(Locale::parse(tag).ok_or_else(|| {
                ApiError::Invalid(vec![FieldError::new("locale", "must be \"en\", \"zh-CN\" or null")])
            })?),
        };
    let (now, origin) = (state.now(), extract::origin(&req, &state));
    let (id, tenant_id, before) = (user.user.id.clone(), user.user.tenant_id.clone(), user.user.locale.clone());
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                users::set_locale(conn, &id, locale.map(Locale::as_str), now)?;
                let details = serde_json::json!({ "from": before, "to": locale });
                audit::record(conn, &origin, now, NewEvent::own(&tenant_id, &id, "locale_changed", details))?;
                Ok::<_, ApiError>(())
            })
        })
        .await?;
    user.user.locale = locale.map(|l| l.as_str().to_string());
    Ok(HttpResponse::Ok().json(MeResponse::of(user)))
}
