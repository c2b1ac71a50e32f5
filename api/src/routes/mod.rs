//! HTTP only: the whole route table, and what answers when no route does.

pub mod admin;
pub mod auth;
pub mod extract;
pub mod lifecycle;
pub mod me;
pub mod mfa;
pub mod oauth;
pub mod ops;
pub mod passkeys;
pub mod services;
pub mod sso;
pub mod trusted_devices;
pub mod two_factor;
pub mod views;
pub mod wellknown;

use std::path::{Component, Path, PathBuf};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{HttpServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, FromRequest, Handler, HttpRequest, HttpResponse, Responder};

use crate::error::ApiError;
use crate::state::AppState;

/// Paths whose every error is problem+json.
pub fn is_problem_path(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/.well-known/") || path == "/healthz" || path == "/readyz"
}

/// A resource that answers other methods with 405 `method_not_allowed` and its `Allow` header.
pub struct Res {
    inner: actix_web::Resource,
    methods: Vec<&'static str>,
}

pub fn resource(path: &str) -> Res {
    Res { inner: web::resource(path), methods: Vec::new() }
}

macro_rules! method {
    ($name:ident, $route:ident, $label:literal) => {
        pub fn $name<F, Args>(mut self, handler: F) -> Self
        where
            F: Handler<Args>,
            Args: FromRequest + 'static,
            F::Output: Responder + 'static,
        {
            self.inner = self.inner.route(web::$route().to(handler));
            self.methods.push($label);
            self
        }
    };
}

impl Res {
    method!(get, get, "GET");
    method!(post, post, "POST");
    method!(patch, patch, "PATCH");
    method!(delete, delete, "DELETE");
}

/// A NUL (`%00`) in the path or the query of an API request: no id, slug or filter holds one,
/// and PostgreSQL text cannot store it (SQLite can), so it is refused up front the same way on
/// both databases — 400 `validation_failed`, never a query that fails with a 500. Not the SSO
/// callback: it answers every outcome, a malformed one too, with its redirect.
async fn refuse_nul(
    req: ServiceRequest,
    next: actix_web::middleware::Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let uri = req.uri();
    let has_nul = |s: &str| s.contains("%00");
    let checked = is_problem_path(uri.path()) && uri.path() != "/api/v1/auth/sso/callback";
    if checked && (has_nul(uri.path()) || uri.query().is_some_and(has_nul)) {
        return Err(ApiError::BadRequest("the path and the query must not contain NUL (%00)".into()).into());
    }
    next.call(req).await
}

impl HttpServiceFactory for Res {
    fn register(self, config: &mut actix_web::dev::AppService) {
        let allow = self.methods.join(", ");
        self.inner
            .default_service(web::to(move |req: HttpRequest| {
                let allow = allow.clone();
                async move {
                    // `/oauth/*` answers its errors as RFC 6749 JSON, like its unknown paths.
                    if req.path().starts_with("/oauth/") {
                        return Ok(HttpResponse::MethodNotAllowed().insert_header((header::ALLOW, allow)).json(
                            serde_json::json!({"error": "invalid_request", "error_description": "method not allowed"}),
                        ));
                    }
                    Err::<HttpResponse, _>(ApiError::MethodNotAllowed { allow })
                }
            }))
            .wrap(actix_web::middleware::from_fn(refuse_nul))
            .register(config)
    }
}

/// The HTTP method label of a `Res` builder method (`get` → `"GET"`).
macro_rules! method_label {
    (get) => {
        "GET"
    };
    (post) => {
        "POST"
    };
    (patch) => {
        "PATCH"
    };
    (delete) => {
        "DELETE"
    };
}

/// Builds, from one list of `path => method handler, …;`, both [`API_ROUTES`] and the function
/// that registers those routes, so the published list and what actix serves cannot drift.
macro_rules! route_table {
    ($($path:literal => $($method:ident $handler:path),+;)*) => {
        /// Every API route as (method, path), in registration order: exactly what
        /// [`configure`] registers besides the operational `/docs` redirect. A test holds it
        /// equal to the OpenAPI document's operations.
        pub const API_ROUTES: &[(&str, &str)] = &[$($((method_label!($method), $path),)+)*];

        fn register_api_routes(cfg: &mut web::ServiceConfig) {
            $(cfg.service(resource($path)$(.$method($handler))+);)*
        }
    };
}

// The whole route table: method, path, handler. Order matters where a literal segment and a
// `{parameter}` compete (`/me/sessions/revoke-others` before `/me/sessions/{id}`): actix tries
// resources in this order, and every `{parameter}` pattern it passes costs a regex match (twice:
// the metrics' route label walks the table too), so the hottest routes come first.
route_table! {
    // The hottest paths: other services' introspection and tokens, every page's `/me`
    // (docs/PERFORMANCE.md, issue 19). Literal paths, competing with no pattern.
    "/oauth/introspect" => post oauth::introspect;
    "/oauth/token" => post oauth::token;
    "/api/v1/me" => get me::me, patch me::patch_me;

    // Sign-in.
    "/api/v1/auth/login" => post auth::login;
    "/api/v1/auth/token/refresh" => post auth::refresh;
    "/api/v1/auth/logout" => post auth::logout;
    "/api/v1/auth/reauth" => post auth::reauth;
    "/api/v1/auth/reauth/email-code" => post mfa::reauth_email_code;
    "/api/v1/auth/reauth/passkey/options" => post passkeys::reauth_options;
    "/api/v1/auth/reauth/passkey" => post passkeys::reauth;
    "/api/v1/auth/passkey/options" => post passkeys::sign_in_options;
    "/api/v1/auth/passkey/login" => post passkeys::login;
    "/api/v1/auth/mfa/verify" => post mfa::verify;
    "/api/v1/auth/mfa/resend" => post mfa::resend;
    "/api/v1/auth/password/forgot" => post lifecycle::forgot;
    "/api/v1/auth/password/reset" => post lifecycle::reset;
    "/api/v1/auth/sso/providers" => get sso::providers;
    "/api/v1/auth/sso/callback" => get sso::callback;
    "/api/v1/auth/sso/complete" => post sso::complete;
    "/api/v1/auth/sso/{provider_id}/authorize" => post sso::authorize;

    // My account.
    "/api/v1/me/sso" => get sso::my_sso;
    "/api/v1/me/password" => post lifecycle::change_password;
    "/api/v1/me/sessions" => get lifecycle::list_sessions;
    "/api/v1/me/sessions/revoke-others" => post lifecycle::revoke_others;
    "/api/v1/me/sessions/{id}" => delete lifecycle::delete_session;
    "/api/v1/me/sso/connections/{id}" => delete sso::disconnect;
    "/api/v1/me/trusted-devices" => get trusted_devices::list, delete trusted_devices::forget_all;
    "/api/v1/me/trusted-devices/{id}" => delete trusted_devices::forget;
    "/api/v1/me/2fa" => get two_factor::status;
    "/api/v1/me/2fa/email/setup" => post two_factor::email_setup;
    "/api/v1/me/2fa/totp/setup" => post two_factor::totp_setup;
    "/api/v1/me/2fa/{method}/confirm" => post two_factor::confirm;
    "/api/v1/me/2fa/disable" => post two_factor::disable;
    "/api/v1/me/2fa/backup-codes" => get two_factor::view_backup_codes;
    "/api/v1/me/2fa/backup-codes/download" => post two_factor::download_backup_codes;
    "/api/v1/me/2fa/backup-codes/regenerate" => post two_factor::regenerate_backup_codes;
    "/api/v1/me/passkeys/options" => post passkeys::registration_options;
    "/api/v1/me/passkeys" => get passkeys::list, post passkeys::add;
    "/api/v1/me/passkeys/{id}" => patch passkeys::rename, delete passkeys::remove;

    // Administration.
    "/api/v1/admin/users" => get admin::list_users, post admin::create_user;
    "/api/v1/admin/users/{id}" => patch lifecycle::update_user, delete lifecycle::delete_user;
    "/api/v1/admin/users/{id}/unlock" => post lifecycle::unlock;
    "/api/v1/admin/users/{id}/password-reset" => post lifecycle::send_reset_link;
    "/api/v1/admin/users/{id}/2fa/reset" => post admin::reset_two_factor;
    "/api/v1/admin/settings" => get admin::get_settings, patch admin::patch_settings;
    "/api/v1/admin/service-clients" => get services::list_clients, post services::create_client;
    "/api/v1/admin/service-clients/{client_id}" => delete services::delete_client;
    "/api/v1/admin/sso-providers" => get sso::list_providers, post sso::create_provider;
    "/api/v1/admin/sso-providers/{id}" =>
        get sso::get_provider, patch sso::patch_provider, delete sso::delete_provider;
    "/api/v1/admin/sso-providers/{id}/test" => post sso::test_provider;
    "/api/v1/admin/audit-events" => get admin::audit_events;

    // Other CloudCX services.
    "/api/v1/users/{id}" => get services::user;
    "/.well-known/jwks.json" => get wellknown::jwks;
    "/.well-known/openid-configuration" => get wellknown::openid_configuration;

    // Operations: documented in the OpenAPI document like the rest.
    "/healthz" => get ops::healthz;
    "/readyz" => get ops::readyz;
    "/metrics" => get ops::metrics;
}

/// Registers the whole route table. Deliberately outside it, and outside the OpenAPI
/// document (as `openapi.yaml` has always had them): the `/docs` → `/docs/` redirect here,
/// the Swagger UI and `/api-docs/openapi.json` (added at start-up) and the SPA fallback.
pub fn configure(cfg: &mut web::ServiceConfig) {
    register_api_routes(cfg);
    cfg.service(
        web::resource("/docs")
            .get(|| async { HttpResponse::PermanentRedirect().insert_header((header::LOCATION, "/docs/")).finish() }),
    );
}

/// No route matched: problem+json under the API, RFC 6749 JSON under `/oauth/`, and otherwise
/// the SPA (a file of the build, or `index.html` for client-side routes).
pub async fn fallback(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let path = req.path();
    if is_problem_path(path) {
        return Err(ApiError::NotFound);
    }
    if path.starts_with("/oauth/") {
        return Ok(HttpResponse::NotFound()
            .json(serde_json::json!({"error": "invalid_request", "error_description": "unknown endpoint"})));
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Err(ApiError::NotFound);
    }
    let dir = &state.config.web_dir;
    if let Some(file) = safe_join(dir, path).filter(|p| p.is_file()) {
        let named = actix_files::NamedFile::open_async(&file).await.map_err(ApiError::internal)?;
        let mut resp = named.into_response(&req);
        if path.starts_with("/assets/") {
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, header::HeaderValue::from_static("public, max-age=31536000, immutable"));
        }
        return Ok(resp);
    }
    let index = dir.join("index.html");
    match tokio::fs::read(&index).await {
        Ok(html) => Ok(HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .body(html)),
        Err(_) => Ok(HttpResponse::NotFound().content_type("text/html; charset=utf-8").body(
            "<!doctype html><title>CloudCX Auth</title><p>The web app is not built. Run <code>make run</code>, \
             or see <a href=\"/docs/\">the API documentation</a>.</p>",
        )),
    }
}

/// `dir` + the request path, refusing anything that climbs out of `dir`.
fn safe_join(dir: &Path, path: &str) -> Option<PathBuf> {
    let rel = Path::new(path.trim_start_matches('/'));
    if rel.as_os_str().is_empty() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    Some(dir.join(rel))
}

/// Last line of defence: any error answer under the API that is not already problem+json
/// (an extractor or framework error) is rewritten into one, keeping its status.
pub fn problem_guard(res: ServiceResponse<impl MessageBody + 'static>) -> ServiceResponse<BoxBody> {
    let status = res.status();
    let path = res.request().path().to_string();
    let already = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/problem+json"));
    if !status.is_client_error() && !status.is_server_error() || already || !is_problem_path(&path) {
        return res.map_into_boxed_body();
    }
    let error = match status {
        StatusCode::NOT_FOUND => ApiError::NotFound,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNAUTHORIZED => ApiError::Unauthenticated,
        StatusCode::FORBIDDEN => ApiError::Forbidden("forbidden".into()),
        StatusCode::SERVICE_UNAVAILABLE => ApiError::ServiceUnavailable,
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed { allow: String::new() },
        s if s.is_client_error() => ApiError::BadRequest(s.canonical_reason().unwrap_or("bad request").to_string()),
        _ => ApiError::internal(anyhow::anyhow!("unexpected {status} from the framework")),
    };
    let (req, _) = res.into_parts();
    let mut resp = actix_web::ResponseError::error_response(&error);
    *resp.status_mut() = if status.is_client_error() && matches!(error, ApiError::BadRequest(_)) {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    ServiceResponse::new(req, resp)
}

/// The route pattern for metrics (never the raw path, which may carry ids).
pub fn route_label(req: &ServiceRequest) -> String {
    req.match_pattern().unwrap_or_else(|| "unmatched".into())
}

#[cfg(test)]
mod tests {
    /// The route modules that must not reach into one another: what they share lives in
    /// `views` (answer shapes), `extract` (extractors) or outside `routes/` altogether.
    const MODULES: [(&str, &str); 15] = [
        ("sso", include_str!("sso/mod.rs")),
        ("sso", include_str!("sso/signin.rs")),
        ("sso", include_str!("sso/connections.rs")),
        ("sso", include_str!("sso/admin.rs")),
        ("auth", include_str!("auth.rs")),
        ("mfa", include_str!("mfa.rs")),
        ("admin", include_str!("admin.rs")),
        ("lifecycle", include_str!("lifecycle.rs")),
        ("services", include_str!("services.rs")),
        ("me", include_str!("me.rs")),
        ("two_factor", include_str!("two_factor.rs")),
        ("oauth", include_str!("oauth.rs")),
        ("ops", include_str!("ops.rs")),
        ("wellknown", include_str!("wellknown.rs")),
        ("passkeys", include_str!("passkeys.rs")),
    ];

    #[test]
    fn no_route_module_calls_another_route_module() {
        for (name, source) in MODULES {
            for (other, _) in MODULES.iter().filter(|(other, _)| *other != name) {
                for pattern in [format!("routes::{other}::"), format!("routes::{other};"), format!("super::{other}")] {
                    assert!(!source.contains(&pattern), "routes/{name}.rs uses `{pattern}`");
                }
            }
            assert!(!source.contains("routes::{"), "routes/{name}.rs imports several route modules at once");
        }
    }

    #[test]
    fn the_route_table_names_each_operation_once() {
        let mut seen = std::collections::HashSet::new();
        for route in super::API_ROUTES {
            assert!(seen.insert(route), "{route:?} is in the route table twice");
        }
    }
}
