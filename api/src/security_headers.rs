//! The headers browsers act on, stamped on every answer (API, web app, Swagger UI, errors).
//!
//! On the hot path (`GET /me` is benchmarked): the values are `static`s built at compile time,
//! a path is classified with a few prefix comparisons, and stamping only inserts clones of
//! static `HeaderValue`s — no allocation of ours per request.

use actix_web::http::header::{
    HeaderMap, HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CROSS_ORIGIN_OPENER_POLICY, REFERRER_POLICY,
    STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};

use crate::config::Transport;

/// The web app: its own scripts and styles only (Vite emits no inline script or style); `data:`
/// images for the QR code of the authenticator set-up (and the empty favicon); no framing.
static APP_CSP: HeaderValue = HeaderValue::from_static(
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
);

/// The vendored Swagger UI: its scripts are files (no inline script), but React sets `style`
/// attributes in its markup and its stylesheet draws icons from `data:` URLs.
static DOCS_CSP: HeaderValue = HeaderValue::from_static(
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
     connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
);

/// JSON and text answers load nothing: should one ever be rendered as a document, it runs nothing.
static API_CSP: HeaderValue =
    HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");

static NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");
static NO_REFERRER: HeaderValue = HeaderValue::from_static("no-referrer");
static SAME_ORIGIN: HeaderValue = HeaderValue::from_static("same-origin");
static DENY: HeaderValue = HeaderValue::from_static("DENY");
static NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
static ONE_YEAR: HeaderValue = HeaderValue::from_static("max-age=31536000");

/// Answers that carry tokens, personal data or account state: never kept by a browser or proxy
/// cache, error answers included.
const NO_STORE_PREFIXES: [&str; 5] = ["/api/v1/me", "/api/v1/admin", "/api/v1/auth", "/api/v1/users", "/oauth"];

/// What a path is, for these headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// The SPA: `index.html` and its assets (every path nothing else claims).
    App,
    /// The Swagger UI at `/docs`.
    Docs,
    /// An API or operational answer; `no_store` under [`NO_STORE_PREFIXES`].
    Api { no_store: bool },
}

impl Class {
    /// Classifies a request path (before the request is handed on, so that an error answer built
    /// without it is classified too).
    pub fn of(path: &str) -> Self {
        if under(path, "/docs") {
            return Self::Docs;
        }
        if NO_STORE_PREFIXES.iter().any(|p| under(path, p)) {
            return Self::Api { no_store: true };
        }
        let api = path.starts_with("/api/")
            || path.starts_with("/api-docs/")
            || path.starts_with("/.well-known/")
            || matches!(path, "/healthz" | "/readyz" | "/metrics");
        if api {
            Self::Api { no_store: false }
        } else {
            Self::App
        }
    }
}

/// `path` is `prefix` or below it (`/api/v1/me`, `/api/v1/me/2fa`; not `/api/v1/meet`).
fn under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The headers for one deployment: HSTS only when the public URL is `https`.
#[derive(Debug, Clone, Copy)]
pub struct SecurityHeaders {
    hsts: bool,
}

impl SecurityHeaders {
    pub fn new(transport: Transport) -> Self {
        Self { hsts: transport.https }
    }

    /// Sets the headers of an answer to a path of `class`, replacing any the handler set (a
    /// `Cache-Control` under the no-store prefixes included).
    pub fn stamp(self, class: Class, headers: &mut HeaderMap) {
        headers.insert(X_CONTENT_TYPE_OPTIONS, NOSNIFF.clone());
        headers.insert(REFERRER_POLICY, NO_REFERRER.clone());
        headers.insert(CROSS_ORIGIN_OPENER_POLICY, SAME_ORIGIN.clone());
        headers.insert(X_FRAME_OPTIONS, DENY.clone());
        if self.hsts {
            headers.insert(STRICT_TRANSPORT_SECURITY, ONE_YEAR.clone());
        }
        let csp = match class {
            Class::App => &APP_CSP,
            Class::Docs => &DOCS_CSP,
            Class::Api { no_store } => {
                if no_store {
                    headers.insert(CACHE_CONTROL, NO_STORE.clone());
                }
                &API_CSP
            }
        };
        headers.insert(CONTENT_SECURITY_POLICY, csp.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_classified_on_whole_segments() {
        assert_eq!(Class::of("/"), Class::App);
        assert_eq!(Class::of("/login"), Class::App);
        assert_eq!(Class::of("/assets/index-abc.js"), Class::App);
        assert_eq!(Class::of("/docs"), Class::Docs);
        assert_eq!(Class::of("/docs/swagger-ui.css"), Class::Docs);
        assert_eq!(Class::of("/docsx"), Class::App);
        for p in [
            "/api/v1/me",
            "/api/v1/me/2fa",
            "/api/v1/admin/users",
            "/api/v1/auth/login",
            "/oauth/token",
            "/api/v1/users/x",
        ] {
            assert_eq!(Class::of(p), Class::Api { no_store: true }, "{p}");
        }
        for p in ["/api/v1/meet", "/healthz", "/.well-known/jwks.json", "/api-docs/openapi.json"] {
            assert_eq!(Class::of(p), Class::Api { no_store: false }, "{p}");
        }
    }

    #[test]
    fn hsts_follows_the_transport() {
        let mut headers = HeaderMap::new();
        SecurityHeaders::new(Transport { https: false, cookies_secure: true }).stamp(Class::App, &mut headers);
        assert!(!headers.contains_key(STRICT_TRANSPORT_SECURITY));
        SecurityHeaders::new(Transport { https: true, cookies_secure: true }).stamp(Class::App, &mut headers);
        assert_eq!(headers.get(STRICT_TRANSPORT_SECURITY), Some(&ONE_YEAR));
    }
}
