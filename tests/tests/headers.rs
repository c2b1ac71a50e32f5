//! The headers browsers act on (issue 17, §5): the web app's Content-Security-Policy and frame
//! protection, `nosniff`, `Referrer-Policy`, `Cross-Origin-Opener-Policy` everywhere, HSTS and
//! `Secure` cookies decided on the parsed `AUTH_PUBLIC_URL`, and `Cache-Control: no-store` on
//! every answer under the private prefixes — error answers included.
//!
//! Headers do not depend on the database: these run on SQLite only.

use cloudcx_auth::config::Config;
use cloudcx_auth_tests::*;
use serde_json::json;

async fn sqlite_app() -> TestApp {
    spawn_app(Backend::Sqlite).await
}

/// A built web app in a temp dir: `index.html` and one asset.
struct WebDir(std::path::PathBuf);

impl WebDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("cloudcx-web-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("assets")).expect("web dir");
        std::fs::write(
            dir.join("index.html"),
            "<!doctype html><title>CloudCX</title><script type=\"module\" src=\"/assets/app.js\"></script><div id=\"root\"></div>",
        )
        .expect("index");
        std::fs::write(dir.join("assets/app.js"), "console.log('app');").expect("asset");
        Self(dir)
    }
}

impl Drop for WebDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn get_raw(app: &TestApp, path: &str) -> Reply {
    Reply::from(app.client.get(app.url(path)).send().await.expect("request")).await
}

fn cookie_named<'a>(cookies: &'a [String], name: &str) -> &'a str {
    cookies.iter().find(|c| c.starts_with(&format!("{name}="))).map(String::as_str).unwrap_or_default()
}

/// The public URL exactly as start-up reads `AUTH_PUBLIC_URL` (parsed, normalised).
fn public_url_from_env(value: &str) -> Option<String> {
    Config::from_lookup(|name| (name == "AUTH_PUBLIC_URL").then(|| value.to_string()))
        .unwrap_or_else(|e| panic!("AUTH_PUBLIC_URL={value} is refused: {e}"))
        .public_url
}

fn assert_no_store(r: &Reply, what: &str) {
    assert_eq!(r.header("cache-control"), Some("no-store"), "{what} ({}): {}", r.status, r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_answers_under_me_are_not_cached() {
    let app = sqlite_app().await;
    let token = app.admin_token().await;
    for path in ["/api/v1/me", "/api/v1/me/2fa", "/api/v1/me/sessions", "/api/v1/admin/users", "/api/v1/admin/settings"]
    {
        let r = app.get_auth(path, &token).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_no_store(&r, path);
    }
    let r = app.login(TENANT, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(r.status, 200);
    assert_no_store(&r, "a sign-in with its tokens");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_answers_under_the_private_prefixes_are_not_cached_either() {
    let app = sqlite_app().await;
    let r = app.get("/api/v1/me").await;
    r.assert_problem(401, "unauthenticated");
    assert_no_store(&r, "401 at /me");
    let r = app.get("/api/v1/admin/users").await;
    r.assert_problem(401, "unauthenticated");
    assert_no_store(&r, "401 at /admin");
    let r = app.login(TENANT, ADMIN_EMAIL, "wrong-password-1").await;
    r.assert_problem(401, "invalid_credentials");
    assert_no_store(&r, "a wrong password");
    let r = app.post("/api/v1/auth/login", json!({"tenant": TENANT})).await;
    r.assert_problem(422, "validation_failed");
    assert_no_store(&r, "an incomplete sign-in");
    let r = Reply::from(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .expect("request"),
    )
    .await;
    r.assert_problem(400, "validation_failed");
    assert_no_store(&r, "malformed JSON");
    let r = Reply::from(app.client.delete(app.url("/api/v1/auth/login")).send().await.expect("request")).await;
    r.assert_problem(405, "method_not_allowed");
    assert_no_store(&r, "405");
    let r = app.get("/api/v1/admin/nothing-here").await;
    r.assert_problem(404, "not_found");
    assert_no_store(&r, "404 under /admin");
    // Refused by a middleware before any handler: the answer is built on the error path.
    let r = app.get("/api/v1/admin/users/%00").await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_no_store(&r, "a NUL refused up front");
    let r = Reply::from(
        app.client
            .post(app.url("/oauth/token"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token"),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_no_store(&r, "/oauth/token without a client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_says_nosniff_no_referrer_and_same_origin_opener() {
    let web = WebDir::new();
    let dir = web.0.clone();
    let app = spawn_app_with(Backend::Sqlite, move |c| c.web_dir = dir).await;
    for path in
        ["/healthz", "/api/v1/me", "/.well-known/jwks.json", "/api-docs/openapi.json", "/docs/", "/", "/assets/app.js"]
    {
        let r = get_raw(&app, path).await;
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{path}");
        assert_eq!(r.header("cross-origin-opener-policy"), Some("same-origin"), "{path}");
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{path}");
        assert!(r.header("content-security-policy").is_some_and(|c| c.contains("frame-ancestors 'none'")), "{path}");
    }
    // Not a private answer: the JWKS keeps its own cache rule.
    assert_eq!(get_raw(&app, "/.well-known/jwks.json").await.header("cache-control"), Some("public, max-age=300"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_app_forbids_framing_and_inline_script() {
    let web = WebDir::new();
    let dir = web.0.clone();
    let app = spawn_app_with(Backend::Sqlite, move |c| c.web_dir = dir).await;
    for path in ["/", "/login", "/security/two-factor", "/assets/app.js"] {
        let r = get_raw(&app, path).await;
        assert_eq!(r.status, 200, "{path}");
        let csp = r.header("content-security-policy").unwrap_or_else(|| panic!("{path}: no CSP"));
        let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
        for wanted in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "object-src 'none'",
        ] {
            assert!(directives.contains(&wanted), "{path}: {wanted} missing in {csp}");
        }
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{path}: {csp}");
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{path}");
    }
    // The page itself is still the app's: its own cache rule, not the API's no-store.
    assert_eq!(get_raw(&app, "/login").await.header("cache-control"), Some("no-cache"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_page_has_its_own_policy_and_no_inline_script() {
    let app = sqlite_app().await;
    let r = get_raw(&app, "/docs/").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let csp = r.header("content-security-policy").expect("CSP on /docs/");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    // Scripts from files only, so `script-src 'self'` lets Swagger UI run.
    let tags: Vec<&str> = r.text.split("<script").skip(1).map(|t| t.split('>').next().unwrap_or_default()).collect();
    assert!(!tags.is_empty() && tags.iter().all(|t| t.contains("src=")), "an inline script in {}", r.text);
    let initializer = get_raw(&app, "/docs/swagger-initializer.js").await;
    assert_eq!(initializer.status, 200);
    assert!(initializer.text.contains("/api-docs/openapi.json"), "{}", initializer.text);
    let app_csp = get_raw(&app, "/login").await;
    assert_ne!(app_csp.header("content-security-policy"), Some(csp), "the app's policy is stricter");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_is_sent_only_when_the_public_url_is_https() {
    let plain = sqlite_app().await;
    for path in ["/healthz", "/api/v1/me", "/"] {
        assert_eq!(get_raw(&plain, path).await.header("strict-transport-security"), None, "{path}");
    }
    let public_url = public_url_from_env("https://auth.example.com");
    let secure = spawn_app_with(Backend::Sqlite, move |c| c.public_url = public_url).await;
    for path in ["/healthz", "/api/v1/me", "/", "/docs/"] {
        assert_eq!(
            get_raw(&secure, path).await.header("strict-transport-security"),
            Some("max-age=31536000"),
            "{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_secure_when_the_public_url_scheme_is_https_whatever_its_case() {
    let public_url = public_url_from_env("HTTPS://Auth.Example.COM/");
    assert_eq!(public_url.as_deref(), Some("https://auth.example.com"), "read in its normal form");
    let app = spawn_app_with(Backend::Sqlite, move |c| c.public_url = public_url).await;
    let r = app
        .post("/api/v1/auth/login", json!({"tenant": TENANT, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let cookie = cookie_named(&r.set_cookies(), "cx_refresh").to_string();
    assert!(cookie.contains("; Secure") || cookie.ends_with("Secure"), "{cookie}");
    assert_eq!(r.header("strict-transport-security"), Some("max-age=31536000"));
    // The issuer is the normal form too: what verifiers compare `iss` with.
    assert_eq!(claims_of(r.body["access_token"].as_str().expect("token"))["iss"], "https://auth.example.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_http_public_url_on_a_name_that_merely_starts_like_localhost_gets_secure_cookies() {
    // The prefix match took these for development on the loopback and sent the refresh token
    // without `Secure` to a public name.
    for url in ["http://localhost.example.com", "http://127.0.0.1.example.com"] {
        let public_url = public_url_from_env(url);
        let app = spawn_app_with(Backend::Sqlite, move |c| c.public_url = public_url).await;
        let r = app
            .post("/api/v1/auth/login", json!({"tenant": TENANT, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let cookie = cookie_named(&r.set_cookies(), "cx_refresh").to_string();
        assert!(cookie.contains("Secure"), "{url}: {cookie}");
        assert_eq!(r.header("strict-transport-security"), None, "{url}: plain http gets no HSTS");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_public_url_written_in_capitals_is_still_development() {
    // Set as written (not normalised first): the decision itself must read the scheme and host.
    let app = spawn_app_with(Backend::Sqlite, |c| c.public_url = Some("HTTP://LOCALHOST:8080".into())).await;
    let r = app
        .post("/api/v1/auth/login", json!({"tenant": TENANT, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let cookie = cookie_named(&r.set_cookies(), "cx_refresh").to_string();
    assert!(!cookie.is_empty() && !cookie.contains("Secure"), "plain http on the loopback: {cookie}");
}
