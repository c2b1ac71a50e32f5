//! The sign-in page's SSO: the "Sign in with …" buttons, then authorize → provider → callback
//! → complete. Each handler extracts, makes one call into `auth::signin::sso`, and maps the
//! outcome to HTTP.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::signin::sso::{self as flow, CallbackOutcome, Completed};
use crate::db::sso::{self, Provider};
use crate::db::tenants;
use crate::domain::ProviderKind;
use crate::error::{ApiError, Problem};
use crate::routes::extract;
use crate::routes::views::{refresh_cookie, TokenDelivery, DEVICE_COOKIE};
use crate::state::AppState;

use super::connections::{connection_view, ConnectionView};
use super::{signed_in, sso_cookie, sso_cookie_value};

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderSummary {
    pub id: String,
    #[schema(value_type = ProviderKind)]
    pub kind: String,
    pub display_name: String,
}

impl From<&Provider> for ProviderSummary {
    fn from(p: &Provider) -> Self {
        Self { id: p.id.clone(), kind: p.kind.clone(), display_name: p.display_name.clone() }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderList {
    pub providers: Vec<ProviderSummary>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProvidersQuery {
    /// The site's slug.
    pub tenant: String,
}

/// The site's enabled SSO applications, for the "Sign in with …" buttons. An unknown site gets none.
#[utoipa::path(
    get, path = "/api/v1/auth/sso/providers", tag = "single sign-on",
    params(ProvidersQuery),
    responses(
        (status = 200, body = ProviderList),
        (status = 400, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn providers(
    state: web::Data<AppState>,
    query: web::Query<ProvidersQuery>,
) -> Result<HttpResponse, ApiError> {
    let slug = query.tenant.trim().to_ascii_lowercase();
    let list = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            Ok(match tenants::find_by_slug(conn, &slug)? {
                Some(t) => sso::providers(conn, &t.id, true)?,
                None => Vec::new(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(ProviderList { providers: list.iter().map(Into::into).collect() }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Login,
    Connect,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeRequest {
    pub intent: Intent,
    /// A path on this origin to return to afterwards.
    #[serde(default)]
    pub return_to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizeResponse {
    pub authorization_url: String,
}

/// Start an SSO attempt: the provider's URL, and the `cx_sso` cookie binding it to this browser.
#[utoipa::path(
    post, path = "/api/v1/auth/sso/{provider_id}/authorize", tag = "single sign-on",
    params(("provider_id" = String, Path)),
    request_body = AuthorizeRequest,
    responses(
        (status = 200, body = AuthorizeResponse),
        (status = 400, description = "`sso_failed` (`provider_error`): the provider cannot be reached", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated` (connect needs a bearer token)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`reauth_required` (connect)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`sso_not_configured` or `sso_already_connected`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (e.g. a `return_to` off our origin)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn authorize(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<AuthorizeRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let (intent, caller) = match body.intent {
        Intent::Login => (flow::Intent::Login, Err(ApiError::Unauthenticated)),
        Intent::Connect => (flow::Intent::Connect, signed_in(&req, &state).await),
    };
    let started = flow::start(&state, &path.into_inner(), intent, caller, body.return_to).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(sso_cookie(&state, started.sso_cookie, flow::ATTEMPT_SECS))
        .json(AuthorizeResponse { authorization_url: started.authorization_url }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
}

/// The provider's redirect. Always answers 302 to `{AUTH_PUBLIC_URL}/sso/complete?result=…`; no
/// token ever travels in a URL.
#[utoipa::path(
    get, path = "/api/v1/auth/sso/callback", tag = "single sign-on",
    params(CallbackQuery),
    responses((status = 302, description = "To the app's `/sso/complete?result=…`"))
)]
pub async fn callback(req: HttpRequest, state: web::Data<AppState>, query: web::Query<CallbackQuery>) -> HttpResponse {
    let q = query.into_inner();
    let reply = flow::ProviderReply { code: q.code, state: q.state, iss: q.iss, error: q.error };
    let origin = extract::origin(&req, &state);
    let location = match flow::callback(&state, sso_cookie_value(&req).as_deref(), reply, &origin).await {
        CallbackOutcome::Stored { result } => format!("{}/sso/complete?result={result}", state.public_url),
        CallbackOutcome::Unavailable => format!("{}/sso/complete?result=unavailable", state.public_url),
    };
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    pub result: String,
    #[serde(default)]
    pub token_delivery: Option<TokenDelivery>,
}

/// What `/sso/complete` answers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CompleteResponse {
    Authenticated {
        access_token: String,
        token_type: String,
        expires_in: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        refresh_token: Option<String>,
        return_to: Option<String>,
    },
    MfaRequired {
        mfa_token: String,
        method: String,
        expires_in: i64,
        /// For how many days `/auth/mfa/verify` with `remember_device: true` trusts this browser;
        /// null when the site does not allow remembering devices.
        #[schema(required = true)]
        remember_device_days: Option<i32>,
        return_to: Option<String>,
    },
    /// No CloudCX account is connected to this external account: sign in with the password and
    /// this `link_token` to connect it.
    NotConnected {
        link_token: String,
        provider: ProviderSummary,
        email: Option<String>,
        return_to: Option<String>,
    },
    Connected {
        connection: ConnectionView,
        return_to: Option<String>,
    },
}

/// Redeem the callback's `result`.
#[utoipa::path(
    post, path = "/api/v1/auth/sso/complete", tag = "single sign-on",
    request_body = CompleteRequest,
    responses(
        (status = 200, description = "A user with 2FA whose browser sends the `cx_device` cookie of a live trusted device of that user and site skips the second factor: `amr` `[\"sso\", kind, \"trusted_device\"]`, `acr` the site's `remembered_device_acr`", body = CompleteResponse),
        (status = 400, description = "`sso_failed` with `reason`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated` (connect) or `invalid_credentials` (a disabled user)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`sso_already_connected`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn complete(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<CompleteRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    // Looked at only if the result turns out to be a connect's.
    let caller = signed_in(&req, &state).await;
    let origin = extract::origin(&req, &state);
    let device = req.cookie(DEVICE_COOKIE).map(|c| c.value().to_string());
    let done =
        flow::complete(&state, sso_cookie_value(&req).as_deref(), &body.result, caller, device.as_deref(), origin)
            .await?;
    let return_to = done.return_to;
    let mut resp = HttpResponse::Ok();
    resp.insert_header((header::CACHE_CONTROL, "no-store"));
    let answer = match done.completed {
        Completed::Authenticated(issued) => {
            state.metrics.signin("success");
            let refresh_token = match body.token_delivery.unwrap_or_default() {
                TokenDelivery::Body => Some(issued.refresh_token),
                TokenDelivery::Cookie => {
                    resp.cookie(refresh_cookie(&state, issued.refresh_token, issued.refresh_max_age));
                    None
                }
            };
            CompleteResponse::Authenticated {
                access_token: issued.access_token,
                token_type: "Bearer".into(),
                expires_in: issued.expires_in,
                refresh_token,
                return_to,
            }
        }
        Completed::MfaRequired { mfa_token, method, remember_device_days } => {
            state.metrics.signin("mfa_required");
            let expires_in = crate::auth::mfa::MFA_TOKEN_SECS;
            CompleteResponse::MfaRequired { mfa_token, method, expires_in, remember_device_days, return_to }
        }
        Completed::NotConnected { link_token, provider, email } => {
            CompleteResponse::NotConnected { link_token, provider: (&provider).into(), email, return_to }
        }
        Completed::Connected { connection, kind } => {
            CompleteResponse::Connected { connection: connection_view(connection, kind), return_to }
        }
    };
    Ok(resp.json(answer))
}
