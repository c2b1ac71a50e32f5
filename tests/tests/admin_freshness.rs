//! Every state-changing admin route needs a sign-in within the last 10 minutes, as `/me`'s
//! sensitive actions do: a stolen admin token or refresh cookie is not a lasting takeover of the
//! site. Each test is the attack on one route: the admin's sign-in is older than 10 minutes
//! (their access token still valid), the route answers 403 `reauth_required` and nothing
//! changed; after `POST /auth/reauth` with the password the same request succeeds.

use cloudcx_auth::db::schema::password_resets;
use cloudcx_auth::db::tenants;
use cloudcx_auth_tests::*;
use diesel::prelude::*;
use reqwest::Method;
use serde_json::{json, Value};

both_databases!(
    creating_a_user_needs_a_fresh_admin_sign_in,
    renaming_a_user_needs_a_fresh_admin_sign_in,
    changing_a_users_role_needs_a_fresh_admin_sign_in,
    disabling_a_user_needs_a_fresh_admin_sign_in,
    deleting_a_user_needs_a_fresh_admin_sign_in,
    unlocking_a_user_needs_a_fresh_admin_sign_in,
    sending_a_password_reset_link_needs_a_fresh_admin_sign_in,
    resetting_a_users_2fa_needs_a_fresh_admin_sign_in,
    changing_the_site_settings_needs_a_fresh_admin_sign_in,
    adding_an_sso_application_needs_a_fresh_admin_sign_in,
    changing_an_sso_application_needs_a_fresh_admin_sign_in,
    deleting_an_sso_application_needs_a_fresh_admin_sign_in,
    registering_a_service_client_needs_a_fresh_admin_sign_in,
    deleting_a_service_client_needs_a_fresh_admin_sign_in,
    a_non_admin_is_answered_forbidden_before_any_freshness_check,
    reading_and_testing_need_no_fresh_sign_in,
    every_state_changing_admin_route_in_the_route_table_needs_a_fresh_sign_in,
);

/// A moment past the 10-minute window, well inside the access token's 15 minutes.
const PAST_FRESH_WINDOW: i64 = 10 * 60 + 1;

/// One admin write, as sent.
struct Write {
    method: Method,
    path: String,
    body: Value,
    /// What a freshly signed-in admin gets.
    ok: u16,
}

impl Write {
    fn new(method: Method, path: impl Into<String>, body: Value, ok: u16) -> Self {
        Self { method, path: path.into(), body, ok }
    }

    async fn send(&self, app: &TestApp, token: &str) -> Reply {
        let req = app.client.request(self.method.clone(), app.url(&self.path)).bearer_auth(token);
        let req = if self.body.is_null() { req } else { req.json(&self.body) };
        Reply::from(req.send().await.expect("request")).await
    }
}

/// The attack and the way out, for one route. `admin` was signed in, then the clock moved past
/// the window: `write` is refused with 403 `reauth_required` and `observe` (the state the write
/// would change) reads the same before and after; then the admin confirms the password at
/// `/auth/reauth`, the same write succeeds, and `observe` shows the change.
async fn stale_then_reauth(app: &TestApp, admin: &str, write: Write, observe: impl AsyncFn(&TestApp, &str) -> Value) {
    let before = observe(app, admin).await;
    write.send(app, admin).await.assert_problem(403, "reauth_required");
    assert_eq!(observe(app, admin).await, before, "{} {} changed state for a stale admin", write.method, write.path);

    let r = app
        .post_auth("/api/v1/auth/reauth", admin, json!({"password": ADMIN_PASSWORD, "token_delivery": "body"}))
        .await;
    assert_eq!(r.status, 200, "reauth: {}", r.text);
    let fresh = r.body["access_token"].as_str().expect("access token").to_string();
    let r = write.send(app, &fresh).await;
    assert_eq!(r.status.as_u16(), write.ok, "{} {} after reauth: {}", write.method, write.path, r.text);
    assert_ne!(observe(app, &fresh).await, before, "{} {} after reauth changed nothing", write.method, write.path);
}

/// An app whose admin signed in more than 10 minutes ago: (app, admin token).
async fn stale_admin(b: Backend) -> (TestApp, String) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    (app, admin)
}

fn age(app: &TestApp) {
    app.clock.advance(PAST_FRESH_WINDOW);
}

/// The site's users as the admin list shows them (names, roles, disabled, locked, 2FA).
async fn users(app: &TestApp, token: &str) -> Value {
    let r = app.get_auth("/api/v1/admin/users", token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["users"].clone()
}

async fn sso_providers(app: &TestApp, token: &str) -> Value {
    let r = app.get_auth("/api/v1/admin/sso-providers", token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["providers"].clone()
}

async fn service_clients(app: &TestApp, token: &str) -> Value {
    let r = app.get_auth("/api/v1/admin/service-clients", token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["clients"].clone()
}

async fn add_google(app: &TestApp, admin: &str) -> String {
    let body = json!({"kind": "google", "client_id": "cid-1", "client_secret": "secret-1", "enabled": true});
    let r = app.post_auth("/api/v1/admin/sso-providers", admin, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_str().expect("id").to_string()
}

async fn add_service_client(app: &TestApp, admin: &str) -> String {
    let r = app
        .post_auth("/api/v1/admin/service-clients", admin, json!({"name": "billing", "scopes": ["users:read"]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["client_id"].as_str().expect("client id").to_string()
}

async fn creating_a_user_needs_a_fresh_admin_sign_in(b: Backend) {
    let (app, admin) = stale_admin(b).await;
    age(&app);
    // The attack of the report: a second admin with a password the attacker chose.
    let body = json!({"email": "mallory@acme.example", "display_name": "M", "password": "mallory-Chosen-Pass-1", "role": "admin"});
    stale_then_reauth(&app, &admin, Write::new(Method::POST, "/api/v1/admin/users", body, 201), users).await;
}

async fn renaming_a_user_needs_a_fresh_admin_sign_in(b: Backend) {
    let (app, admin) = stale_admin(b).await;
    let (id, _, _) = app.create_agent(&admin, "rita").await;
    age(&app);
    let write = Write::new(Method::PATCH, format!("/api/v1/admin/users/{id}"), json!({"display_name": "Renamed"}), 200);
    stale_then_reauth(&app, &admin, write, users).await;
}

async fn changing_a_users_role_needs_a_fresh_admin_sign_in(b: Backend) {
    let (app, admin) = stale_admin(b).await;
    let (id, _, _) = app.create_agent(&admin, "rolf").await;
    age(&app);
    let write = Write::new(Method::PATCH, format!("/api/v1/admin/users/{id}"), json!({"role": "admin"}), 200);
    stale_then_reauth(&app, &admin, write, users).await;
}

async fn disabling_a_user_needs_a_fresh_admin_sign_in(b: Backend) {
    let (app, admin) = stale_admin(b).await;
    let (id, email, password) = app.create_agent(&admin, "dina").await;
    let (agent, _) = app.sign_in(&email, &password).await;
    age(&app);
    let write = Write::new(Method::PATCH, format!("/api/v1/admin/users/{id}"), json!({"disabled": true}), 200);
    // The agent's session is part of what must not change.
    let observe = async |app: &TestApp, token: &str| {
        json!([users(app, token).await, app.get_auth("/api/v1/me", &agent).await.status.as_u16()])
    };
    stale_then_reauth(&app, &admin, write, observe).await;
}

async fn deleting_a_user_needs_a_fresh_admin_sign_in(b: Backend) {
    let (app, admin) = stale_admin(b).await;
    let (id, _, _) = app.create_agent(&admin, "dora").await;
    age(&app);
    stale_then_reauth(
        &app,
        &admin,
        Write::new(Method::DELETE, format!("/api/v1/admin/users/{id}"), Value::Null, 204),
        users,
    )
    .await;
}

async fn unlocking_a_user_needs_a_fresh_admin_sign_in(b: Backend) {
    let (app, admin) = stale_admin(b).await;
    let (id, email, password) = app.create_agent(&admin, "ulla").await;
    age(&app);
    // Locked now, after the clock moved: the lock (30 s) is still on when the admin acts.
    for _ in 0..10 {
        app.login(TENANT, &email, "wrong-password-1").await;
    }
    app.login(TENANT, &email, &password).await.assert_problem(429, "too_many_attempts");
    let write = Write::new(Method::POST, format!("/api/v1/admin/users/{id}/unlock"), Value::Null, 204);
    stale_then_reauth(&app, &admin, write, users).await;
}

async fn sending_a_password_reset_link_needs_a_fresh_admin_sign_in(b: Backend) {
    let (app, admin) = stale_admin(b).await;
    let (id, _, _) = app.create_agent(&admin, "sami").await;
    age(&app);
    // The links issued for the user and the audit rows that record them.
    let observe = async |app: &TestApp, token: &str| {
        let user = id.clone();
        let links = app
            .with_db(move |c| {
                password_resets::table.filter(password_resets::user_id.eq(user)).count().get_result::<i64>(c)
            })
            .await;
        json!([links, app.audit(token, "password_reset_sent").await.len()])
    };
    let write = Write::new(Method::POST, format!("/api/v1/admin/users/{id}/password-reset"), Value::Null, 202);
    stale_then_reauth(&app, &admin, write, observe).await;
}

async fn resetting_a_users_2fa_needs_a_fresh_admin_sign_in(b: Backend) {
    let (app, admin) = stale_admin(b).await;
    let (email, password, _, _) = mfa::agent_with_totp(&app, "tess").await;
    let id = users(&app, &admin)
        .await
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["email"] == email.as_str())
        .expect("tess")["id"]
        .as_str()
        .expect("id")
        .to_string();
    age(&app);
    // The user's 2FA, and that a sign-in still asks for the second factor.
    let observe = async |app: &TestApp, token: &str| {
        json!([users(app, token).await, app.login(TENANT, &email, &password).await.body["status"]])
    };
    let body = json!({"reason": "lost phone", "ticket": "T-1"});
    let write = Write::new(Method::POST, format!("/api/v1/admin/users/{id}/2fa/reset"), body, 204);
    stale_then_reauth(&app, &admin, write, observe).await;
}

async fn changing_the_site_settings_needs_a_fresh_admin_sign_in(b: Backend) {
    let (app, admin) = stale_admin(b).await;
    age(&app);
    // Read from the database: once the site requires 2FA, this admin (without it) is sent to set
    // it up by every admin route, the settings page included.
    let observe = async |app: &TestApp, _: &str| {
        let tenant = app.with_db(|c| tenants::find_by_slug(c, TENANT)).await.expect("site");
        json!(tenant.require_2fa)
    };
    let write = Write::new(Method::PATCH, "/api/v1/admin/settings", json!({"require_2fa": true}), 200);
    stale_then_reauth(&app, &admin, write, observe).await;
}

async fn adding_an_sso_application_needs_a_fresh_admin_sign_in(b: Backend) {
    let (app, admin) = stale_admin(b).await;
    age(&app);
    let body = json!({"kind": "google", "client_id": "attacker-client", "client_secret": "s", "enabled": true});
    stale_then_reauth(&app, &admin, Write::new(Method::POST, "/api/v1/admin/sso-providers", body, 201), sso_providers)
        .await;
}

async fn changing_an_sso_application_needs_a_fresh_admin_sign_in(b: Backend) {
    let (app, admin) = stale_admin(b).await;
    let id = add_google(&app, &admin).await;
    age(&app);
    let body = json!({"client_id": "attacker-client", "client_secret": "attacker-secret", "trust_idp_mfa": true});
    let write = Write::new(Method::PATCH, format!("/api/v1/admin/sso-providers/{id}"), body, 200);
    // The secret is write-only: the audit row of a change is what shows a new one.
    let observe = async |app: &TestApp, token: &str| {
        json!([sso_providers(app, token).await, app.audit(token, "sso_provider_changed").await.len()])
    };
    stale_then_reauth(&app, &admin, write, observe).await;
}

async fn deleting_an_sso_application_needs_a_fresh_admin_sign_in(b: Backend) {
    let (app, admin) = stale_admin(b).await;
    let id = add_google(&app, &admin).await;
    age(&app);
    let write = Write::new(Method::DELETE, format!("/api/v1/admin/sso-providers/{id}"), Value::Null, 204);
    stale_then_reauth(&app, &admin, write, sso_providers).await;
}

async fn registering_a_service_client_needs_a_fresh_admin_sign_in(b: Backend) {
    let (app, admin) = stale_admin(b).await;
    age(&app);
    let body = json!({"name": "exfiltrator", "scopes": ["users:read", "tokens:introspect"]});
    stale_then_reauth(
        &app,
        &admin,
        Write::new(Method::POST, "/api/v1/admin/service-clients", body, 201),
        service_clients,
    )
    .await;
}

async fn deleting_a_service_client_needs_a_fresh_admin_sign_in(b: Backend) {
    let (app, admin) = stale_admin(b).await;
    let client_id = add_service_client(&app, &admin).await;
    age(&app);
    let write = Write::new(Method::DELETE, format!("/api/v1/admin/service-clients/{client_id}"), Value::Null, 204);
    stale_then_reauth(&app, &admin, write, service_clients).await;
}

/// The order of the checks: no token → 401; a token of someone who is not an admin → 403
/// `forbidden` however old its sign-in (the agent could not act even after `/auth/reauth`);
/// only an admin hears `reauth_required`.
async fn a_non_admin_is_answered_forbidden_before_any_freshness_check(b: Backend) {
    let (app, admin) = stale_admin(b).await;
    let (_, email, password) = app.create_agent(&admin, "olga").await;
    let (agent, _) = app.sign_in(&email, &password).await;
    age(&app);
    let write = Write::new(Method::PATCH, "/api/v1/admin/settings", json!({"require_2fa": true}), 200);
    let anonymous =
        Reply::from(app.client.patch(app.url(&write.path)).json(&write.body).send().await.expect("request")).await;
    anonymous.assert_problem(401, "unauthenticated");
    write.send(&app, &agent).await.assert_problem(403, "forbidden");
    write.send(&app, &admin).await.assert_problem(403, "reauth_required");
}

/// Reads change nothing, and neither does an SSO application's `/test` (it fetches what the
/// provider publishes and says what is wrong): a sign-in older than 10 minutes may do them.
async fn reading_and_testing_need_no_fresh_sign_in(b: Backend) {
    // An issuer where nothing listens: `/test` answers at once with what is wrong.
    let app = spawn_app_with(b, |c| c.allow_insecure_issuers = true).await;
    let admin = app.admin_token().await;
    let body = json!({"kind": "oidc", "display_name": "Okta", "client_id": "c", "client_secret": "s", "issuer": "http://127.0.0.1:9", "enabled": true});
    let r = app.post_auth("/api/v1/admin/sso-providers", &admin, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().expect("id").to_string();
    age(&app);
    for path in [
        "/api/v1/admin/users".to_string(),
        "/api/v1/admin/settings".to_string(),
        "/api/v1/admin/sso-providers".to_string(),
        format!("/api/v1/admin/sso-providers/{id}"),
        "/api/v1/admin/service-clients".to_string(),
        "/api/v1/admin/audit-events".to_string(),
    ] {
        let r = app.get_auth(&path, &admin).await;
        assert_eq!(r.status, 200, "GET {path}: {}", r.text);
    }
    let r = app.post_auth(&format!("/api/v1/admin/sso-providers/{id}/test"), &admin, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["ok"], false, "{}", r.text);
}

/// The admin writes that deliberately need no fresh sign-in: `/test` reads the provider's
/// discovery document and changes nothing of the site.
const WRITES_WITHOUT_FRESHNESS: &[(&str, &str)] = &[("POST", "/api/v1/admin/sso-providers/{id}/test")];

/// A well-formed body for each admin write (actix may answer a malformed one 422 before the
/// sign-in's age is looked at); a route added later without a line here fails the test below
/// until it gets one.
fn well_formed_body(method: &str, path: &str) -> Value {
    let provider = json!({"kind": "google", "client_id": "cid", "client_secret": "secret", "enabled": true});
    match (method, path) {
        ("POST", "/api/v1/admin/users") => {
            json!({"email": "new@acme.example", "display_name": "New", "password": "new-Secret-Pass-42", "role": "agent"})
        }
        ("PATCH", "/api/v1/admin/users/{id}") => json!({"role": "admin"}),
        ("POST", "/api/v1/admin/users/{id}/2fa/reset") => json!({"reason": "lost the phone"}),
        ("PATCH", "/api/v1/admin/settings") => json!({"require_2fa": true}),
        ("POST", "/api/v1/admin/service-clients") => json!({"name": "billing", "scopes": ["users:read"]}),
        ("POST", "/api/v1/admin/sso-providers") | ("PATCH", "/api/v1/admin/sso-providers/{id}") => provider,
        _ => json!({}),
    }
}

/// A route added later is covered without a test of its own: every non-GET admin route of the
/// route table (what actix serves) refuses a stale admin with `reauth_required`.
async fn every_state_changing_admin_route_in_the_route_table_needs_a_fresh_sign_in(b: Backend) {
    let (app, admin) = stale_admin(b).await;
    age(&app);
    let writes: Vec<_> = cloudcx_auth::routes::API_ROUTES
        .iter()
        .filter(|(m, p)| p.starts_with("/api/v1/admin") && *m != "GET" && !WRITES_WITHOUT_FRESHNESS.contains(&(*m, *p)))
        .collect();
    assert!(writes.len() >= 12, "the route table lists only {} admin writes", writes.len());
    for (method, path) in writes {
        let concrete =
            path.replace("{id}", "00000000-0000-0000-0000-000000000000").replace("{client_id}", "no-such-client");
        let verb = Method::from_bytes(method.as_bytes()).expect("method");
        let r = Write::new(verb, concrete, well_formed_body(method, path), 0).send(&app, &admin).await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.text);
        assert_eq!(r.body["code"], "reauth_required", "{method} {path}: {}", r.text);
    }
}
