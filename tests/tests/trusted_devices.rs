//! Trusted devices ("Remember this device"): a browser that passed the second factor with the
//! box ticked skips it at later sign-ins of the same user and site, until it expires or is
//! forgotten. Each browser here is a client with its own cookie jar.

use cloudcx_auth_tests::hostile_idp::HostileIdp;
use cloudcx_auth_tests::mfa::{code_now, enable_totp};
use cloudcx_auth_tests::*;
use serde_json::{json, Value};

both_databases!(
    a_remembered_device_skips_the_second_factor_with_amr_trusted_device_and_the_sites_acr,
    a_remembered_device_still_needs_the_right_password,
    an_unticked_box_trusts_nothing,
    the_cookie_never_crosses_users_or_sites,
    an_expired_device_is_challenged_again,
    a_site_that_turns_remembering_off_challenges_again_and_issues_no_cookie,
    the_sites_days_set_the_cookies_max_age_and_the_expiry,
    the_cookie_is_http_only_strict_and_scoped_to_the_api,
    a_password_change_forgets_every_device_including_this_one,
    a_password_reset_forgets_every_device,
    turning_2fa_off_forgets_every_device,
    an_admin_2fa_reset_forgets_every_device,
    signing_out_other_devices_forgets_all_but_this_one,
    disabling_a_user_forgets_every_device,
    the_list_marks_the_current_device,
    forgetting_one_device_or_all_of_them,
    a_remembered_device_skips_the_second_factor_after_sso,
);

/// A browser: its own cookie jar.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn post(app: &TestApp, client: &reqwest::Client, path: &str, body: Value) -> Reply {
    Reply::from(client.post(app.url(path)).json(&body).send().await.unwrap()).await
}

async fn with_bearer(req: reqwest::RequestBuilder, token: &str) -> Reply {
    Reply::from(req.bearer_auth(token).send().await.unwrap()).await
}

/// `/auth/login` in `client` (refresh token in the body, so only `cx_device` is in the jar).
async fn login_in(app: &TestApp, client: &reqwest::Client, tenant: &str, email: &str, password: &str) -> Reply {
    let body = json!({"tenant": tenant, "email": email, "password": password, "token_delivery": "body"});
    post(app, client, "/api/v1/auth/login", body).await
}

/// The next TOTP code (the previous step's is spent).
fn next_code(app: &TestApp, secret: &[u8]) -> String {
    app.clock.advance(30);
    code_now(app, secret)
}

/// Password then code in `client`, with the box ticked or not; the verify answer.
async fn sign_in_with_code(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
    secret: &[u8],
    remember: bool,
) -> Reply {
    let r = login_in(app, client, TENANT, email, password).await;
    assert_eq!(r.body["status"], "mfa_required", "{}", r.text);
    let body = json!({"mfa_token": r.body["mfa_token"], "code": next_code(app, secret),
                      "remember_device": remember, "token_delivery": "body"});
    let v = post(app, client, "/api/v1/auth/mfa/verify", body).await;
    assert_eq!(v.status, 200, "{}", v.text);
    v
}

fn device_cookie(r: &Reply) -> Option<String> {
    r.set_cookies().into_iter().find(|c| c.starts_with("cx_device="))
}

fn amr_acr(r: &Reply) -> (Value, Value) {
    let c = claims_of(r.body["access_token"].as_str().expect("an access token"));
    (c["amr"].clone(), c["acr"].clone())
}

/// An agent with the authenticator app: (id, email, password, secret).
async fn agent(app: &TestApp, name: &str) -> (String, String, String, Vec<u8>) {
    let admin = app.admin_token().await;
    let (id, email, password) = app.create_agent(&admin, name).await;
    let (token, _) = app.sign_in(&email, &password).await;
    let (secret, _) = enable_totp(app, &token).await;
    (id, email, password, secret)
}

/// An agent, and a browser that remembers them.
async fn remembered(app: &TestApp, name: &str) -> (String, String, String, Vec<u8>, reqwest::Client) {
    let (id, email, password, secret) = agent(app, name).await;
    let client = browser();
    let v = sign_in_with_code(app, &client, &email, &password, &secret, true).await;
    assert!(device_cookie(&v).is_some(), "a device cookie: {:?}", v.set_cookies());
    (id, email, password, secret, client)
}

async fn settings(app: &TestApp, body: Value) {
    let admin = app.admin_token().await;
    let r = app.patch_auth("/api/v1/admin/settings", &admin, body).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn status_of_login(app: &TestApp, client: &reqwest::Client, email: &str, password: &str) -> String {
    let r = login_in(app, client, TENANT, email, password).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["status"].as_str().unwrap().to_string()
}

async fn devices(app: &TestApp, client: &reqwest::Client, token: &str) -> Vec<Value> {
    let r = with_bearer(client.get(app.url("/api/v1/me/trusted-devices")), token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["devices"].as_array().unwrap().clone()
}

async fn a_remembered_device_skips_the_second_factor_with_amr_trusted_device_and_the_sites_acr(b: Backend) {
    let app = spawn_app(b).await;
    let (_, email, password, _, client) = remembered(&app, "rita").await;
    let r = login_in(&app, &client, TENANT, &email, &password).await;
    assert_eq!(r.body["status"], "authenticated", "{}", r.text);
    assert_eq!(amr_acr(&r), (json!(["pwd", "trusted_device"]), json!("aal2")));
    let admin = app.admin_token().await;
    assert_eq!(app.audit(&admin, "device_trusted").await.len(), 1);

    settings(&app, json!({"remembered_device_acr": "aal1"})).await;
    let r = login_in(&app, &client, TENANT, &email, &password).await;
    assert_eq!(amr_acr(&r), (json!(["pwd", "trusted_device"]), json!("aal1")), "the site's choice");
    let token = r.body["access_token"].as_str().unwrap();
    let listed = devices(&app, &client, token).await;
    assert!(listed[0]["last_used_at"].is_string(), "{listed:?}");
}

async fn a_remembered_device_still_needs_the_right_password(b: Backend) {
    let app = spawn_app(b).await;
    let (_, email, _, _, client) = remembered(&app, "paul").await;
    login_in(&app, &client, TENANT, &email, "not-the-password-1").await.assert_problem(401, "invalid_credentials");
}

async fn an_unticked_box_trusts_nothing(b: Backend) {
    let app = spawn_app(b).await;
    let (_, email, password, secret) = agent(&app, "ursula").await;
    let client = browser();
    let v = sign_in_with_code(&app, &client, &email, &password, &secret, false).await;
    assert_eq!(device_cookie(&v), None);
    assert_eq!(status_of_login(&app, &client, &email, &password).await, "mfa_required");
}

async fn the_cookie_never_crosses_users_or_sites(b: Backend) {
    let app = spawn_app(b).await;
    let (_, _, _, _, client) = remembered(&app, "cora").await;
    // Another user of the same site, with 2FA, in the same browser.
    let (_, email, password, _) = agent(&app, "dan").await;
    assert_eq!(status_of_login(&app, &client, &email, &password).await, "mfa_required");
    // A user of another site, with 2FA, in the same browser.
    let now = app.clock_now();
    app.with_db(move |conn| {
        cloudcx_auth::bootstrap::ensure_admin(conn, "globex", "boss@globex.example", Some("globex-Boss-Pass-1"), now)
            .map(|_| ())
            .map_err(|e| diesel::result::Error::QueryBuilderError(e.into()))
    })
    .await;
    let r = app.login("globex", "boss@globex.example", "globex-Boss-Pass-1").await;
    enable_totp(&app, r.body["access_token"].as_str().unwrap()).await;
    let r = login_in(&app, &client, "globex", "boss@globex.example", "globex-Boss-Pass-1").await;
    assert_eq!(r.body["status"], "mfa_required", "{}", r.text);
}

async fn an_expired_device_is_challenged_again(b: Backend) {
    let app = spawn_app(b).await;
    let (_, email, password, _, client) = remembered(&app, "ed").await;
    app.clock.advance(30 * 86_400 - 120);
    assert_eq!(status_of_login(&app, &client, &email, &password).await, "authenticated", "still within 30 days");
    app.clock.advance(120);
    assert_eq!(status_of_login(&app, &client, &email, &password).await, "mfa_required");
}

async fn a_site_that_turns_remembering_off_challenges_again_and_issues_no_cookie(b: Backend) {
    let app = spawn_app(b).await;
    let (_, email, password, secret, client) = remembered(&app, "olga").await;
    settings(&app, json!({"remember_device": false})).await;
    let r = login_in(&app, &client, TENANT, &email, &password).await;
    assert_eq!(r.body["status"], "mfa_required", "{}", r.text);
    assert_eq!(r.body["remember_device_days"], Value::Null, "no box to offer");
    let fresh = browser();
    let v = sign_in_with_code(&app, &fresh, &email, &password, &secret, true).await;
    assert_eq!(device_cookie(&v), None, "remembering is off");
    assert_eq!(status_of_login(&app, &fresh, &email, &password).await, "mfa_required");
}

async fn the_sites_days_set_the_cookies_max_age_and_the_expiry(b: Backend) {
    let app = spawn_app(b).await;
    let (_, email, password, secret) = agent(&app, "dora").await;
    let client = browser();
    let r = login_in(&app, &client, TENANT, &email, &password).await;
    assert_eq!(r.body["remember_device_days"], 30, "the default");
    settings(&app, json!({"remember_device_days": 7})).await;
    let r = login_in(&app, &client, TENANT, &email, &password).await;
    assert_eq!(r.body["remember_device_days"], 7, "{}", r.text);
    let body = json!({"mfa_token": r.body["mfa_token"], "code": next_code(&app, &secret),
                      "remember_device": true, "token_delivery": "body"});
    let v = post(&app, &client, "/api/v1/auth/mfa/verify", body).await;
    let cookie = device_cookie(&v).expect("a device cookie");
    assert!(cookie.contains("Max-Age=604800"), "{cookie}");
    let token = v.body["access_token"].as_str().unwrap();
    let listed = devices(&app, &client, token).await;
    let created = chrono_secs(listed[0]["created_at"].as_str().unwrap());
    let expires = chrono_secs(listed[0]["expires_at"].as_str().unwrap());
    assert_eq!(expires - created, 7 * 86_400);
    app.clock.advance(7 * 86_400);
    assert_eq!(status_of_login(&app, &client, &email, &password).await, "mfa_required");
}

/// Seconds of an RFC 3339 UTC time (`YYYY-MM-DDTHH:MM:SSZ`).
fn chrono_secs(t: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(t).expect("rfc 3339").timestamp()
}

async fn the_cookie_is_http_only_strict_and_scoped_to_the_api(b: Backend) {
    let app = spawn_app(b).await;
    let (_, email, password, secret) = agent(&app, "fay").await;
    let v = sign_in_with_code(&app, &browser(), &email, &password, &secret, true).await;
    let cookie = device_cookie(&v).expect("a device cookie");
    let value = cookie.trim_start_matches("cx_device=").split(';').next().unwrap();
    assert!(value.len() >= 43, "at least 256 bits: {value}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/api/v1;", "Max-Age=2592000"] {
        assert!(format!("{cookie};").contains(flag), "{flag} in {cookie}");
    }
    // AUTH_PUBLIC_URL is http on 127.0.0.1 here: not Secure, as for cx_refresh.
    assert!(!cookie.contains("Secure"), "{cookie}");
    // Stored only as a hash.
    let v = value.to_string();
    let stored: i64 = app
        .with_db(move |conn| {
            use cloudcx_auth::db::schema::trusted_devices::dsl::*;
            use diesel::prelude::*;
            trusted_devices.filter(token_hash.eq(v)).count().get_result(conn)
        })
        .await;
    assert_eq!(stored, 0);
}

/// The access token of a sign-in with the code (this browser is not trusted or has no cookie).
async fn signed_in(app: &TestApp, client: &reqwest::Client, email: &str, password: &str, secret: &[u8]) -> String {
    let v = sign_in_with_code(app, client, email, password, secret, false).await;
    v.body["access_token"].as_str().unwrap().to_string()
}

async fn a_password_change_forgets_every_device_including_this_one(b: Backend) {
    let app = spawn_app(b).await;
    let (_, email, password, secret, client) = remembered(&app, "gus").await;
    let other = browser();
    sign_in_with_code(&app, &other, &email, &password, &secret, true).await;
    let r = login_in(&app, &client, TENANT, &email, &password).await;
    let token = r.body["access_token"].as_str().unwrap().to_string();
    let r = with_bearer(
        client
            .post(app.url("/api/v1/me/password"))
            .json(&json!({"current_password": password, "new_password": "gus-New-Pass-2024"})),
        &token,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.set_cookies().iter().any(|c| c.starts_with("cx_device=;")), "cleared: {:?}", r.set_cookies());
    assert_eq!(status_of_login(&app, &client, &email, "gus-New-Pass-2024").await, "mfa_required");
    assert_eq!(status_of_login(&app, &other, &email, "gus-New-Pass-2024").await, "mfa_required");
    let admin = app.admin_token().await;
    let forgotten = app.audit(&admin, "trusted_devices_forgotten").await;
    assert_eq!(forgotten[0]["details"]["reason"], "password_changed", "{forgotten:?}");
}

async fn a_password_reset_forgets_every_device(b: Backend) {
    let app = spawn_app(b).await;
    let (_, email, _, _, client) = remembered(&app, "hal").await;
    let r = post(&app, &client, "/api/v1/auth/password/forgot", json!({"tenant": TENANT, "email": email})).await;
    assert_eq!(r.status, 202);
    app.smtp.wait_for(&email, |m| m.data.contains("reset-password?token="), std::time::Duration::from_secs(10)).await;
    let mail = app.smtp.all_for(&email).into_iter().rfind(|m| m.data.contains("reset-password?token=")).unwrap();
    let at = mail.data.find("reset-password?token=").unwrap() + "reset-password?token=".len();
    let token: String =
        mail.data[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    let r = post(
        &app,
        &client,
        "/api/v1/auth/password/reset",
        json!({"token": token, "new_password": "hal-New-Pass-2024"}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(status_of_login(&app, &client, &email, "hal-New-Pass-2024").await, "mfa_required");
}

async fn turning_2fa_off_forgets_every_device(b: Backend) {
    let app = spawn_app(b).await;
    let (_, email, password, _, client) = remembered(&app, "ivy").await;
    let r = login_in(&app, &client, TENANT, &email, &password).await;
    let token = r.body["access_token"].as_str().unwrap().to_string();
    let r =
        with_bearer(client.post(app.url("/api/v1/me/2fa/disable")).json(&json!({"password": password})), &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.set_cookies().iter().any(|c| c.starts_with("cx_device=;")), "cleared: {:?}", r.set_cookies());
    // 2FA on again: the old device is not trusted any more.
    enable_totp(&app, &token).await;
    assert_eq!(status_of_login(&app, &client, &email, &password).await, "mfa_required");
}

async fn an_admin_2fa_reset_forgets_every_device(b: Backend) {
    let app = spawn_app(b).await;
    let (id, email, password, _, client) = remembered(&app, "jon").await;
    let admin = app.admin_token().await;
    let r =
        app.post_auth(&format!("/api/v1/admin/users/{id}/2fa/reset"), &admin, json!({"reason": "lost phone"})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let (token, _) = app.sign_in(&email, &password).await;
    enable_totp(&app, &token).await;
    assert_eq!(status_of_login(&app, &client, &email, &password).await, "mfa_required");
    let forgotten = app.audit(&admin, "trusted_devices_forgotten").await;
    assert_eq!(forgotten[0]["details"]["reason"], "mfa_admin_reset", "{forgotten:?}");
}

async fn signing_out_other_devices_forgets_all_but_this_one(b: Backend) {
    let app = spawn_app(b).await;
    let (_, email, password, secret, here) = remembered(&app, "kim").await;
    let there = browser();
    sign_in_with_code(&app, &there, &email, &password, &secret, true).await;
    let r = login_in(&app, &here, TENANT, &email, &password).await;
    let token = r.body["access_token"].as_str().unwrap().to_string();
    assert_eq!(devices(&app, &here, &token).await.len(), 2);
    let r = with_bearer(here.post(app.url("/api/v1/me/sessions/revoke-others")), &token).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(status_of_login(&app, &there, &email, &password).await, "mfa_required");
    assert_eq!(status_of_login(&app, &here, &email, &password).await, "authenticated", "this one is kept");
    let left = devices(&app, &here, &token).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["current"], true);
}

async fn disabling_a_user_forgets_every_device(b: Backend) {
    let app = spawn_app(b).await;
    let (id, email, password, _, client) = remembered(&app, "lea").await;
    let admin = app.admin_token().await;
    let r = app.patch_auth(&format!("/api/v1/admin/users/{id}"), &admin, json!({"disabled": true})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    login_in(&app, &client, TENANT, &email, &password).await.assert_problem(401, "invalid_credentials");
    let r = app.patch_auth(&format!("/api/v1/admin/users/{id}"), &admin, json!({"disabled": false})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(status_of_login(&app, &client, &email, &password).await, "mfa_required", "re-enabled, not re-trusted");
}

async fn the_list_marks_the_current_device(b: Backend) {
    let app = spawn_app(b).await;
    let (_, email, password, secret, here) = remembered(&app, "max").await;
    let there = browser();
    let token = signed_in(&app, &there, &email, &password, &secret).await;
    let listed = devices(&app, &there, &token).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["current"], false, "that browser has no cookie");
    let r = login_in(&app, &here, TENANT, &email, &password).await;
    let token = r.body["access_token"].as_str().unwrap().to_string();
    let listed = devices(&app, &here, &token).await;
    assert_eq!(listed[0]["current"], true);
    for field in ["id", "label", "created_at", "expires_at"] {
        assert!(listed[0][field].is_string(), "{field}: {listed:?}");
    }
}

async fn forgetting_one_device_or_all_of_them(b: Backend) {
    let app = spawn_app(b).await;
    let (_, email, password, secret, one) = remembered(&app, "nia").await;
    let two = browser();
    sign_in_with_code(&app, &two, &email, &password, &secret, true).await;
    let three = browser();
    sign_in_with_code(&app, &three, &email, &password, &secret, true).await;
    let r = login_in(&app, &one, TENANT, &email, &password).await;
    let token = r.body["access_token"].as_str().unwrap().to_string();
    let listed = devices(&app, &one, &token).await;
    assert_eq!(listed.len(), 3);
    let mine = listed.iter().find(|d| d["current"] == true).unwrap()["id"].as_str().unwrap().to_string();
    // Someone else's device: 404.
    let (_, other_email, other_password, other_secret) = agent(&app, "oz").await;
    let other_browser = browser();
    let other = signed_in(&app, &other_browser, &other_email, &other_password, &other_secret).await;
    let r = with_bearer(one.delete(app.url(&format!("/api/v1/me/trusted-devices/{mine}"))), &other).await;
    r.assert_problem(404, "not_found");
    // Forget one (this browser's: its cookie is cleared).
    let r = with_bearer(one.delete(app.url(&format!("/api/v1/me/trusted-devices/{mine}"))), &token).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.set_cookies().iter().any(|c| c.starts_with("cx_device=;")), "cleared: {:?}", r.set_cookies());
    assert_eq!(devices(&app, &one, &token).await.len(), 2);
    assert_eq!(status_of_login(&app, &one, &email, &password).await, "mfa_required");
    assert_eq!(status_of_login(&app, &two, &email, &password).await, "authenticated");
    // Forget all.
    let r = with_bearer(one.delete(app.url("/api/v1/me/trusted-devices")), &token).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(devices(&app, &one, &token).await.is_empty());
    assert_eq!(status_of_login(&app, &two, &email, &password).await, "mfa_required");
    assert_eq!(status_of_login(&app, &three, &email, &password).await, "mfa_required");
}

async fn a_remembered_device_skips_the_second_factor_after_sso(b: Backend) {
    let app = spawn_app_with(b, |c| c.allow_insecure_issuers = true).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "sol").await;
    let idp = HostileIdp::start("cloudcx-oidc").await;
    let r = app
        .post_auth(
            "/api/v1/admin/sso-providers",
            &admin,
            json!({"kind": "oidc", "display_name": "Okta", "client_id": "cloudcx-oidc", "client_secret": "s3cret",
                   "issuer": idp.discovery_base(), "trust_idp_mfa": false}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let pid = r.body["id"].as_str().unwrap().to_string();
    idp.set_subject("sol-at-okta");
    let (agent_token, _) = app.sign_in(&email, &password).await;
    let connected = sso_journey(&app, &browser(), &pid, "connect", Some(&agent_token)).await;
    assert_eq!(connected.body["status"], "connected", "{}", connected.text);
    let (secret, _) = enable_totp(&app, &agent_token).await;
    idp.set_clock_offset(30);

    let client = browser();
    let r = sso_journey(&app, &client, &pid, "login", None).await;
    assert_eq!(r.body["status"], "mfa_required", "{}", r.text);
    assert_eq!(r.body["remember_device_days"], 30);
    let body = json!({"mfa_token": r.body["mfa_token"], "code": next_code(&app, &secret),
                      "remember_device": true, "token_delivery": "body"});
    idp.set_clock_offset(60);
    let v = post(&app, &client, "/api/v1/auth/mfa/verify", body).await;
    assert_eq!(v.status, 200, "{}", v.text);
    assert!(device_cookie(&v).is_some());
    let r = sso_journey(&app, &client, &pid, "login", None).await;
    assert_eq!(r.body["status"], "authenticated", "{}", r.text);
    assert_eq!(amr_acr(&r), (json!(["sso", "oidc", "trusted_device"]), json!("aal2")));
    // Another browser is still asked.
    let r = sso_journey(&app, &browser(), &pid, "login", None).await;
    assert_eq!(r.body["status"], "mfa_required", "{}", r.text);
}

/// authorize → provider → callback → complete, in one browser.
async fn sso_journey(
    app: &TestApp,
    client: &reqwest::Client,
    provider: &str,
    intent: &str,
    bearer: Option<&str>,
) -> Reply {
    let mut req =
        client.post(app.url(&format!("/api/v1/auth/sso/{provider}/authorize"))).json(&json!({"intent": intent}));
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    let a = Reply::from(req.send().await.unwrap()).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let url = a.body["authorization_url"].as_str().unwrap();
    let back = cloudcx_auth_tests::oidc::login_at_provider(client, url, "x").await;
    let r = client.get(&back).send().await.unwrap();
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let result = location.split("result=").nth(1).unwrap().to_string();
    let mut req =
        client.post(app.url("/api/v1/auth/sso/complete")).json(&json!({"result": result, "token_delivery": "body"}));
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    Reply::from(req.send().await.unwrap()).await
}
