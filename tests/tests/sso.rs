//! Single sign-on, end to end through real redirects: a real OpenID Provider (oidc-provider) for
//! the Google-shaped journeys, and a provider of our own for the Microsoft shape and the hostile
//! ID tokens of OpenID Connect Core 3.1.3.7.

use cloudcx_auth_tests::hostile_idp::{HostileIdp, Mode, DEFAULT_TENANT};
use cloudcx_auth_tests::oidc::{login_at_provider, OidcProvider};
use cloudcx_auth_tests::*;
use serde_json::{json, Value};

both_databases!(
    without_any_application_the_lists_are_empty,
    an_admin_sets_up_applications_and_the_secret_is_write_only,
    issuers_must_be_https_and_public_outside_tests,
    connect_from_the_profile_then_sign_in_with_google,
    a_user_with_2fa_is_asked_for_the_second_factor_after_sso,
    a_trusted_provider_mfa_replaces_ours_only_when_its_amr_says_so,
    an_unconnected_account_connects_by_signing_in_with_the_password,
    the_link_token_belongs_to_its_browser_and_is_single_use,
    an_external_account_linked_to_another_user_is_refused,
    a_callback_in_another_browser_fails,
    replayed_or_missing_state_is_refused,
    malformed_state_result_and_link_token_values_are_refused,
    attempts_expire_after_ten_minutes_and_results_after_two,
    return_to_is_only_a_path_on_our_origin,
    hostile_id_tokens_are_refused,
    microsoft_tenants_must_be_guids_on_the_allow_list,
    a_response_naming_another_issuer_is_refused,
    unknown_keys_are_refetched_once,
    an_unverified_or_matching_email_never_links_an_account,
    disconnect_needs_a_recent_sign_in_and_notifies,
    connect_needs_a_signed_in_user_with_a_recent_sign_in,
    each_sso_application_change_has_its_audit_row,
    a_failed_sso_application_write_leaves_neither_change_nor_audit_row,
    every_list_of_applications_is_ordered_by_name_then_id,
);

async fn sso_app(b: Backend) -> TestApp {
    spawn_app_with(b, |c| c.allow_insecure_issuers = true).await
}

fn callback_of(app: &TestApp) -> String {
    app.url("/api/v1/auth/sso/callback")
}

async fn add_provider(app: &TestApp, admin: &str, body: Value) -> String {
    let r = app.post_auth("/api/v1/admin/sso-providers", admin, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_str().unwrap().to_string()
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn authorize(
    app: &TestApp,
    client: &reqwest::Client,
    provider: &str,
    body: Value,
    bearer: Option<&str>,
) -> Reply {
    let mut req = client.post(app.url(&format!("/api/v1/auth/sso/{provider}/authorize"))).json(&body);
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    Reply::from(req.send().await.unwrap()).await
}

/// Follows the provider's callback in `client` and returns the `result` of the redirect.
async fn callback(app: &TestApp, client: &reqwest::Client, url: &str) -> String {
    let r = client.get(url).send().await.unwrap();
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let prefix = app.url("/sso/complete?result=");
    assert!(location.starts_with(&prefix), "{location}");
    assert!(!location.contains("token"), "no token in a URL");
    location[prefix.len()..].to_string()
}

async fn complete(app: &TestApp, client: &reqwest::Client, result: &str, bearer: Option<&str>) -> Reply {
    let mut req =
        client.post(app.url("/api/v1/auth/sso/complete")).json(&json!({"result": result, "token_delivery": "body"}));
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    Reply::from(req.send().await.unwrap()).await
}

/// authorize → provider → callback → complete, in one browser.
async fn journey(
    app: &TestApp,
    client: &reqwest::Client,
    provider: &str,
    intent: &str,
    bearer: Option<&str>,
    login: &str,
) -> Reply {
    let a = authorize(app, client, provider, json!({"intent": intent}), bearer).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let url = a.body["authorization_url"].as_str().unwrap();
    let back = login_at_provider(client, url, login).await;
    let result = callback(app, client, &back).await;
    complete(app, client, &result, bearer).await
}

/// A Google-shaped application on a real oidc-provider.
async fn google(app: &TestApp, admin: &str) -> (OidcProvider, String) {
    let idp = OidcProvider::start(&[("cloudcx-google", "google-secret", &callback_of(app))]).await;
    let id = add_provider(
        app,
        admin,
        json!({"kind": "google", "client_id": "cloudcx-google", "client_secret": "google-secret", "issuer": idp.issuer}),
    )
    .await;
    (idp, id)
}

async fn hostile(app: &TestApp, admin: &str, trust_idp_mfa: bool) -> (HostileIdp, String) {
    let idp = HostileIdp::start("cloudcx-oidc").await;
    let id = add_provider(
        app,
        admin,
        json!({"kind": "oidc", "display_name": "Okta", "client_id": "cloudcx-oidc", "client_secret": "s3cret",
               "issuer": idp.discovery_base(), "trust_idp_mfa": trust_idp_mfa}),
    )
    .await;
    (idp, id)
}

async fn without_any_application_the_lists_are_empty(b: Backend) {
    let app = sso_app(b).await;
    let admin = app.admin_token().await;
    let mine = app.get_auth("/api/v1/me/sso", &admin).await;
    assert_eq!(mine.status, 200);
    assert_eq!(mine.body, json!({"providers": [], "connections": []}));
    assert_eq!(app.get("/api/v1/auth/sso/providers?tenant=acme").await.body, json!({"providers": []}));
    assert_eq!(app.get("/api/v1/auth/sso/providers?tenant=no-such-site").await.body, json!({"providers": []}));
    app.get("/api/v1/auth/sso/providers").await.assert_problem(400, "validation_failed");
    let r = authorize(&app, &app.client, &uuid::Uuid::new_v4().to_string(), json!({"intent": "login"}), None).await;
    r.assert_problem(409, "sso_not_configured");
}

async fn an_admin_sets_up_applications_and_the_secret_is_write_only(b: Backend) {
    let app = sso_app(b).await;
    let admin = app.admin_token().await;
    let (idp, id) = google(&app, &admin).await;
    let one = app.get_auth(&format!("/api/v1/admin/sso-providers/{id}"), &admin).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["kind"], "google");
    assert_eq!(one.body["display_name"], "Google");
    assert_eq!(one.body["issuer"], idp.issuer);
    assert_eq!(one.body["enabled"], true);
    assert_eq!(one.body["redirect_uri"], callback_of(&app));
    assert!(one.body.get("client_secret").is_none() && !one.text.contains("google-secret"));
    let test = app.post_auth(&format!("/api/v1/admin/sso-providers/{id}/test"), &admin, json!({})).await;
    assert_eq!(test.body, json!({"ok": true, "problems": []}), "{}", test.text);
    let buttons = app.get("/api/v1/auth/sso/providers?tenant=acme").await;
    assert_eq!(buttons.body["providers"], json!([{"id": id, "kind": "google", "display_name": "Google"}]));

    let off = Reply::from(
        app.client
            .patch(app.url(&format!("/api/v1/admin/sso-providers/{id}")))
            .bearer_auth(&admin)
            .json(&json!({"enabled": false}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(app.get("/api/v1/auth/sso/providers?tenant=acme").await.body["providers"], json!([]));
    authorize(&app, &app.client, &id, json!({"intent": "login"}), None).await.assert_problem(409, "sso_not_configured");

    let dead = add_provider(
        &app,
        &admin,
        json!({"kind": "oidc", "display_name": "Dead", "client_id": "x", "client_secret": "y", "issuer": "http://127.0.0.1:9"}),
    )
    .await;
    let test = app.post_auth(&format!("/api/v1/admin/sso-providers/{dead}/test"), &admin, json!({})).await;
    assert_eq!(test.body["ok"], false);
    assert!(test.body["problems"][0].as_str().unwrap().contains("Could not read"));
    let ms = app
        .post_auth(
            "/api/v1/admin/sso-providers",
            &admin,
            json!({"kind": "microsoft", "client_id": "x", "client_secret": "y", "microsoft_tenant": "common"}),
        )
        .await;
    ms.assert_problem(422, "validation_failed");
    assert_eq!(ms.body["errors"][0]["field"], "allowed_tenants");
    let del = Reply::from(
        app.client
            .delete(app.url(&format!("/api/v1/admin/sso-providers/{dead}")))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(del.status, 204);
    assert_eq!(
        app.get_auth("/api/v1/admin/sso-providers", &admin).await.body["providers"].as_array().unwrap().len(),
        1
    );
    let (_, e, p) = app.create_agent(&admin, "ada").await;
    let (agent, _) = app.sign_in(&e, &p).await;
    app.get_auth("/api/v1/admin/sso-providers", &agent).await.assert_problem(403, "forbidden");
}

async fn issuers_must_be_https_and_public_outside_tests(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    for issuer in ["http://idp.example.com", "https://127.0.0.1:8443", "https://10.0.0.5", "https://localhost"] {
        let r = app
            .post_auth(
                "/api/v1/admin/sso-providers",
                &admin,
                json!({"kind": "oidc", "display_name": "X", "client_id": "x", "client_secret": "y", "issuer": issuer}),
            )
            .await;
        r.assert_problem(422, "validation_failed");
    }
    let g = app
        .post_auth(
            "/api/v1/admin/sso-providers",
            &admin,
            json!({"kind": "google", "client_id": "x", "client_secret": "y", "issuer": "https://evil.example.com"}),
        )
        .await;
    g.assert_problem(422, "validation_failed");
    let ok = app
        .post_auth(
            "/api/v1/admin/sso-providers",
            &admin,
            json!({"kind": "google", "client_id": "x", "client_secret": "y"}),
        )
        .await;
    assert_eq!(ok.status, 201);
    assert_eq!(ok.body["issuer"], "https://accounts.google.com");
    let ms = app
        .post_auth(
            "/api/v1/admin/sso-providers",
            &admin,
            json!({"kind": "microsoft", "client_id": "x", "client_secret": "y", "microsoft_tenant": DEFAULT_TENANT}),
        )
        .await;
    assert_eq!(ms.body["issuer"], format!("https://login.microsoftonline.com/{DEFAULT_TENANT}/v2.0"));
    assert_eq!(ms.body["display_name"], "Office 365");
}

async fn connect_from_the_profile_then_sign_in_with_google(b: Backend) {
    let app = sso_app(b).await;
    let admin = app.admin_token().await;
    let (uid, email, password) = app.create_agent(&admin, "gus").await;
    let (_idp, pid) = google(&app, &admin).await;
    let (agent, _) = app.sign_in(&email, &password).await;
    let client = browser();
    let a =
        authorize(&app, &client, &pid, json!({"intent": "connect", "return_to": "/settings/security"}), Some(&agent))
            .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let cookie = a.set_cookies().into_iter().find(|c| c.starts_with("cx_sso=")).expect("cx_sso");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/api/v1/auth", "Max-Age=600"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    let url = a.body["authorization_url"].as_str().unwrap();
    assert!(url.contains("code_challenge_method=S256") && url.contains("nonce=") && url.contains("state="));
    let back = login_at_provider(&client, url, "gus.google@example.com").await;
    let result = callback(&app, &client, &back).await;
    let done = complete(&app, &client, &result, Some(&agent)).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["status"], "connected");
    assert_eq!(done.body["return_to"], "/settings/security");
    assert_eq!(done.body["connection"]["kind"], "google");
    assert_eq!(done.body["connection"]["email"], "gus.google@example.com");
    let mine = app.get_auth("/api/v1/me/sso", &agent).await;
    assert_eq!(mine.body["connections"].as_array().unwrap().len(), 1);
    assert_eq!(mine.body["providers"][0]["kind"], "google");
    app.smtp.wait_for(&email, |m| m.data.contains("connected"), std::time::Duration::from_secs(10)).await;

    // Sign in with Google, in the same browser (the provider remembers the session).
    let signed = journey(&app, &client, &pid, "login", None, "gus.google@example.com").await;
    assert_eq!(signed.status, 200, "{}", signed.text);
    assert_eq!(signed.body["status"], "authenticated");
    let c = claims_of(signed.body["access_token"].as_str().unwrap());
    assert_eq!(c["sub"], uid.as_str());
    assert_eq!(c["amr"], json!(["sso", "google"]));
    assert_eq!(c["acr"], "aal1");
    assert!(!app.audit(&admin, "sso_connected").await.is_empty());
    // Other services see the connection.
    let svc =
        app.post_auth("/api/v1/admin/service-clients", &admin, json!({"name": "x", "scopes": ["users:read"]})).await;
    let basic = base64_basic(svc.body["client_id"].as_str().unwrap(), svc.body["client_secret"].as_str().unwrap());
    let tok = Reply::from(
        app.client
            .post(app.url("/oauth/token"))
            .header("authorization", basic)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let u = app.get_auth(&format!("/api/v1/users/{uid}"), tok.body["access_token"].as_str().unwrap()).await;
    assert_eq!(u.body["sso"], json!(["google"]));
}

fn base64_basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
}

/// Connects `login` at `provider` to the agent signed in with `agent`.
async fn connect_account(app: &TestApp, provider: &str, agent: &str, login: &str) {
    let client = browser();
    let done = journey(app, &client, provider, "connect", Some(agent), login).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["status"], "connected");
}

async fn a_user_with_2fa_is_asked_for_the_second_factor_after_sso(b: Backend) {
    let app = sso_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "hana").await;
    let (idp, pid) = hostile(&app, &admin, false).await;
    idp.set_subject("hana-at-okta");
    let (agent, _) = app.sign_in(&email, &password).await;
    connect_account(&app, &pid, &agent, "x").await;
    let setup = app.post_auth("/api/v1/me/2fa/totp/setup", &agent, json!({})).await;
    let secret = cloudcx_auth::auth::totp::decode_secret(setup.body["secret"].as_str().unwrap()).unwrap();
    let code = |app: &TestApp| {
        cloudcx_auth::auth::totp::code_at_step(&secret, cloudcx_auth::auth::totp::step_of(app.clock_now()))
    };
    assert_eq!(app.post_auth("/api/v1/me/2fa/totp/confirm", &agent, json!({"code": code(&app)})).await.status, 200);
    app.clock.advance(30);
    idp.set_clock_offset(30);
    idp.set_amr(Some(vec!["pwd".into(), "mfa".into()]));
    let client = browser();
    let r = journey(&app, &client, &pid, "login", None, "x").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "mfa_required", "the provider is not trusted for MFA");
    let v = app
        .post(
            "/api/v1/auth/mfa/verify",
            json!({"mfa_token": r.body["mfa_token"], "code": code(&app), "token_delivery": "body"}),
        )
        .await;
    assert_eq!(v.status, 200, "{}", v.text);
    assert_eq!(claims_of(v.body["access_token"].as_str().unwrap())["amr"], json!(["sso", "oidc", "otp", "mfa"]));
}

async fn a_trusted_provider_mfa_replaces_ours_only_when_its_amr_says_so(b: Backend) {
    let app = sso_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "ivo").await;
    let (idp, pid) = hostile(&app, &admin, true).await;
    idp.set_subject("ivo-at-okta");
    let (agent, _) = app.sign_in(&email, &password).await;
    connect_account(&app, &pid, &agent, "x").await;
    let setup = app.post_auth("/api/v1/me/2fa/totp/setup", &agent, json!({})).await;
    let secret = cloudcx_auth::auth::totp::decode_secret(setup.body["secret"].as_str().unwrap()).unwrap();
    let code = cloudcx_auth::auth::totp::code_at_step(&secret, cloudcx_auth::auth::totp::step_of(app.clock_now()));
    assert_eq!(app.post_auth("/api/v1/me/2fa/totp/confirm", &agent, json!({"code": code})).await.status, 200);

    idp.set_amr(Some(vec!["pwd".into()]));
    let r = journey(&app, &browser(), &pid, "login", None, "x").await;
    assert_eq!(r.body["status"], "mfa_required", "{}", r.text);
    idp.set_amr(Some(vec!["pwd".into(), "mfa".into()]));
    let r = journey(&app, &browser(), &pid, "login", None, "x").await;
    assert_eq!(r.body["status"], "authenticated", "{}", r.text);
    let c = claims_of(r.body["access_token"].as_str().unwrap());
    assert_eq!(c["amr"], json!(["sso", "oidc", "mfa"]));
    assert_eq!(c["acr"], "aal2");
}

async fn an_unconnected_account_connects_by_signing_in_with_the_password(b: Backend) {
    let app = sso_app(b).await;
    let admin = app.admin_token().await;
    let (uid, email, password) = app.create_agent(&admin, "jo").await;
    let (_idp, pid) = google(&app, &admin).await;
    let client = browser();
    let r = journey(&app, &client, &pid, "login", None, "jo.personal@example.com").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "not_connected");
    assert_eq!(r.body["email"], "jo.personal@example.com");
    assert_eq!(r.body["provider"]["kind"], "google");
    let link = r.body["link_token"].as_str().unwrap().to_string();
    // A wrong password connects nothing.
    let bad = Reply::from(
        client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"tenant": TENANT, "email": email, "password": "wrong-password-1", "link_token": link}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    bad.assert_problem(401, "invalid_credentials");
    let ok = Reply::from(
        client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"tenant": TENANT, "email": email, "password": password, "link_token": link, "token_delivery": "body"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let token = ok.body["access_token"].as_str().unwrap();
    let mine = app.get_auth("/api/v1/me/sso", token).await;
    assert_eq!(mine.body["connections"][0]["email"], "jo.personal@example.com");
    // From now on the Google account signs in directly.
    let r = journey(&app, &client, &pid, "login", None, "jo.personal@example.com").await;
    assert_eq!(r.body["status"], "authenticated", "{}", r.text);
    assert_eq!(claims_of(r.body["access_token"].as_str().unwrap())["sub"], uid.as_str());
}

async fn the_link_token_belongs_to_its_browser_and_is_single_use(b: Backend) {
    let app = sso_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "kai").await;
    let (idp, pid) = hostile(&app, &admin, false).await;
    idp.set_subject("kai-ext");
    let client = browser();
    let r = journey(&app, &client, &pid, "login", None, "x").await;
    let link = r.body["link_token"].as_str().unwrap().to_string();
    let body =
        json!({"tenant": TENANT, "email": email, "password": password, "link_token": link, "token_delivery": "body"});
    // Another browser (no cx_sso cookie of that attempt).
    let other = Reply::from(browser().post(app.url("/api/v1/auth/login")).json(&body).send().await.unwrap()).await;
    other.assert_problem(400, "sso_failed");
    assert_eq!(other.body["reason"], "state_invalid");
    let ok = Reply::from(client.post(app.url("/api/v1/auth/login")).json(&body).send().await.unwrap()).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let again = Reply::from(client.post(app.url("/api/v1/auth/login")).json(&body).send().await.unwrap()).await;
    again.assert_problem(400, "sso_failed");
    assert_eq!(again.body["reason"], "expired");
    // Expired after 10 minutes.
    idp.set_subject("kai-ext-2");
    let (_, e2, p2) = app.create_agent(&admin, "kim").await;
    let r = journey(&app, &client, &pid, "login", None, "x").await;
    let link = r.body["link_token"].as_str().unwrap().to_string();
    app.clock.advance(601);
    let late = Reply::from(
        client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"tenant": TENANT, "email": e2, "password": p2, "link_token": link}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    late.assert_problem(400, "sso_failed");
    assert_eq!(late.body["reason"], "expired");
}

async fn an_external_account_linked_to_another_user_is_refused(b: Backend) {
    let app = sso_app(b).await;
    let admin = app.admin_token().await;
    let (idp, pid) = hostile(&app, &admin, false).await;
    idp.set_subject("shared-ext");
    let (_, e1, p1) = app.create_agent(&admin, "lou").await;
    let (a1, _) = app.sign_in(&e1, &p1).await;
    connect_account(&app, &pid, &a1, "x").await;
    let (_, e2, p2) = app.create_agent(&admin, "mo").await;
    let (a2, _) = app.sign_in(&e2, &p2).await;
    let r = journey(&app, &browser(), &pid, "connect", Some(&a2), "x").await;
    r.assert_problem(409, "sso_already_connected");
    // And a second account of the same application for one user.
    idp.set_subject("another-ext");
    let r = authorize(&app, &browser(), &pid, json!({"intent": "connect"}), Some(&a1)).await;
    r.assert_problem(409, "sso_already_connected");
    // Through the login page too.
    idp.set_subject("shared-ext-3");
    connect_account(&app, &pid, &a2, "x").await;
    let client = browser();
    idp.set_subject("shared-ext");
    let first = journey(&app, &client, &pid, "login", None, "x").await;
    assert_eq!(first.body["status"], "authenticated", "already linked to lou: {}", first.text);
}

async fn a_callback_in_another_browser_fails(b: Backend) {
    let app = sso_app(b).await;
    let admin = app.admin_token().await;
    let (_idp, pid) = hostile(&app, &admin, false).await;
    let victim = browser();
    let attacker = browser();
    let a = authorize(&app, &attacker, &pid, json!({"intent": "login"}), None).await;
    let back = login_at_provider(&attacker, a.body["authorization_url"].as_str().unwrap(), "x").await;
    // The attacker makes the victim's browser follow the callback (login CSRF).
    let result = callback(&app, &victim, &back).await;
    let r = complete(&app, &victim, &result, None).await;
    r.assert_problem(400, "sso_failed");
    assert_eq!(r.body["reason"], "state_invalid");
}

async fn replayed_or_missing_state_is_refused(b: Backend) {
    let app = sso_app(b).await;
    let admin = app.admin_token().await;
    let (_idp, pid) = hostile(&app, &admin, false).await;
    let client = browser();
    let a = authorize(&app, &client, &pid, json!({"intent": "login"}), None).await;
    let back = login_at_provider(&client, a.body["authorization_url"].as_str().unwrap(), "x").await;
    let first = callback(&app, &client, &back).await;
    assert_eq!(complete(&app, &client, &first, None).await.body["status"], "not_connected");
    let replay = callback(&app, &client, &back).await;
    let r = complete(&app, &client, &replay, None).await;
    r.assert_problem(400, "sso_failed");
    assert_eq!(r.body["reason"], "state_invalid");
    let no_state = callback(&app, &client, &app.url("/api/v1/auth/sso/callback?code=abc")).await;
    let r = complete(&app, &client, &no_state, None).await;
    assert_eq!(r.body["reason"], "state_invalid");
    let r = complete(&app, &client, &first, None).await;
    r.assert_problem(400, "sso_failed");
    let r = complete(&app, &client, "made-up", None).await;
    assert_eq!(r.body["reason"], "state_invalid");
}

async fn malformed_state_result_and_link_token_values_are_refused(b: Backend) {
    let app = sso_app(b).await;
    let admin = app.admin_token().await;
    let (_idp, pid) = hostile(&app, &admin, false).await;
    let (_, email, password) = app.create_agent(&admin, "shapes").await;
    let client = browser();
    authorize(&app, &client, &pid, json!({"intent": "login"}), None).await;
    let long = "A".repeat(5000);
    let hostile_values =
        ["", "x", "%00", "AAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAAAAA", "../../etc/passwd", &long];
    for value in hostile_values {
        // The callback still lands on the SPA with a result that says the attempt failed.
        let url = format!("{}?code=abc&state={}", callback_of(&app), urlencode(value));
        let result = callback(&app, &client, &url).await;
        let r = complete(&app, &client, &result, None).await;
        r.assert_problem(400, "sso_failed");
        assert_eq!(r.body["reason"], "state_invalid", "state {value:?}");
        // A made-up result.
        let r = complete(&app, &client, value, None).await;
        r.assert_problem(400, "sso_failed");
        assert_eq!(r.body["reason"], "state_invalid", "result {value:?}");
        // A made-up link token never lets a password sign-in through to a connection.
        let r = Reply::from(
            client
                .post(app.url("/api/v1/auth/login"))
                .json(&json!({"tenant": TENANT, "email": email, "password": password, "link_token": value, "token_delivery": "body"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(r.status == 400 || r.status == 422, "link_token {value:?}: {} {}", r.status, r.text);
        assert!(r.body["access_token"].is_null(), "no tokens for a made-up link token");
    }
    let r = app.get_auth("/api/v1/me/sso", &app.sign_in(&email, &password).await.0).await;
    assert_eq!(r.body["connections"].as_array().map(Vec::len), Some(0), "nothing was connected");
}

fn urlencode(value: &str) -> String {
    value.bytes().map(|b| format!("%{b:02X}")).collect()
}

async fn attempts_expire_after_ten_minutes_and_results_after_two(b: Backend) {
    let app = sso_app(b).await;
    let admin = app.admin_token().await;
    let (_idp, pid) = hostile(&app, &admin, false).await;
    let client = browser();
    let a = authorize(&app, &client, &pid, json!({"intent": "login"}), None).await;
    let back = login_at_provider(&client, a.body["authorization_url"].as_str().unwrap(), "x").await;
    app.clock.advance(601);
    let result = callback(&app, &client, &back).await;
    let r = complete(&app, &client, &result, None).await;
    r.assert_problem(400, "sso_failed");
    assert_eq!(r.body["reason"], "expired");

    let client = browser();
    let a = authorize(&app, &client, &pid, json!({"intent": "login"}), None).await;
    let back = login_at_provider(&client, a.body["authorization_url"].as_str().unwrap(), "x").await;
    let result = callback(&app, &client, &back).await;
    app.clock.advance(121);
    let r = complete(&app, &client, &result, None).await;
    assert_eq!(r.body["reason"], "expired", "{}", r.text);
}

async fn return_to_is_only_a_path_on_our_origin(b: Backend) {
    let app = sso_app(b).await;
    let admin = app.admin_token().await;
    let (_idp, pid) = hostile(&app, &admin, false).await;
    for bad in ["https://evil.example/x", "//evil.example", "/\\evil.example", "javascript:alert(1)", "settings"] {
        let r = authorize(&app, &browser(), &pid, json!({"intent": "login", "return_to": bad}), None).await;
        r.assert_problem(422, "validation_failed");
    }
    let client = browser();
    let a = authorize(&app, &client, &pid, json!({"intent": "login", "return_to": "/inbox?x=1"}), None).await;
    let back = login_at_provider(&client, a.body["authorization_url"].as_str().unwrap(), "x").await;
    let result = callback(&app, &client, &back).await;
    assert_eq!(complete(&app, &client, &result, None).await.body["return_to"], "/inbox?x=1");
}

async fn hostile_id_tokens_are_refused(b: Backend) {
    let app = sso_app(b).await;
    let admin = app.admin_token().await;
    let (idp, pid) = hostile(&app, &admin, false).await;
    for mode in [
        Mode::WrongNonce,
        Mode::WrongAudience,
        Mode::WrongIssuer,
        Mode::BadSignature,
        Mode::AlgNone,
        Mode::Hs256WithPublicKey,
        Mode::Expired,
        Mode::IssuedInFuture,
        Mode::UnknownKid,
        Mode::MissingSub,
    ] {
        idp.set_mode(mode);
        let r = journey(&app, &browser(), &pid, "login", None, "x").await;
        r.assert_problem(400, "sso_failed");
        assert_eq!(r.body["reason"], "token_invalid", "{mode:?}: {}", r.text);
    }
    idp.set_mode(Mode::AccessDenied);
    let r = journey(&app, &browser(), &pid, "login", None, "x").await;
    assert_eq!(r.body["reason"], "provider_error");
    idp.set_mode(Mode::Good);
    assert_eq!(journey(&app, &browser(), &pid, "login", None, "x").await.body["status"], "not_connected");
    assert!(app.audit(&admin, "sso_failed").await.len() >= 10);
}

async fn microsoft_tenants_must_be_guids_on_the_allow_list(b: Backend) {
    let app = sso_app(b).await;
    let admin = app.admin_token().await;
    let idp = HostileIdp::start_multi_tenant("cloudcx-ms").await;
    let pid = add_provider(
        &app,
        &admin,
        json!({"kind": "microsoft", "client_id": "cloudcx-ms", "client_secret": "s", "microsoft_tenant": "organizations",
               "allowed_tenants": [DEFAULT_TENANT], "issuer": idp.discovery_base()}),
    )
    .await;
    let (_, email, password) = app.create_agent(&admin, "ned").await;
    let (agent, _) = app.sign_in(&email, &password).await;
    idp.set_mode(Mode::TenantGood);
    idp.set_object_id("0b1c2d3e-0000-4000-8000-00000000abcd");
    connect_account(&app, &pid, &agent, "x").await;
    let r = journey(&app, &browser(), &pid, "login", None, "x").await;
    assert_eq!(r.body["status"], "authenticated", "{}", r.text);
    assert_eq!(claims_of(r.body["access_token"].as_str().unwrap())["amr"], json!(["sso", "microsoft"]));
    for (mode, reason) in [
        (Mode::TenantNotAllowed, "tenant_not_allowed"),
        (Mode::TenantNotGuid, "tenant_not_allowed"),
        (Mode::WrongIssuer, "token_invalid"),
    ] {
        idp.set_mode(mode);
        let r = journey(&app, &browser(), &pid, "login", None, "x").await;
        r.assert_problem(400, "sso_failed");
        assert_eq!(r.body["reason"], reason, "{mode:?}");
    }
}

async fn a_response_naming_another_issuer_is_refused(b: Backend) {
    let app = sso_app(b).await;
    let admin = app.admin_token().await;
    let (_idp, pid) = hostile(&app, &admin, false).await;
    let client = browser();
    let a = authorize(&app, &client, &pid, json!({"intent": "login"}), None).await;
    let back = login_at_provider(&client, a.body["authorization_url"].as_str().unwrap(), "x").await;
    let mixed = format!("{back}&iss=https%3A%2F%2Fother-idp.example");
    let result = callback(&app, &client, &mixed).await;
    let r = complete(&app, &client, &result, None).await;
    assert_eq!(r.body["reason"], "token_invalid", "{}", r.text);
}

async fn unknown_keys_are_refetched_once(b: Backend) {
    let app = sso_app(b).await;
    let admin = app.admin_token().await;
    let (idp, pid) = hostile(&app, &admin, false).await;
    assert_eq!(journey(&app, &browser(), &pid, "login", None, "x").await.body["status"], "not_connected");
    let fetched = idp.jwks_fetches();
    assert_eq!(journey(&app, &browser(), &pid, "login", None, "x").await.body["status"], "not_connected");
    assert_eq!(idp.jwks_fetches(), fetched, "keys are cached");
    idp.rotate_key().await;
    let r = journey(&app, &browser(), &pid, "login", None, "x").await;
    assert_eq!(r.body["status"], "not_connected", "{}", r.text);
    assert_eq!(idp.jwks_fetches(), fetched + 1);
}

async fn an_unverified_or_matching_email_never_links_an_account(b: Backend) {
    let app = sso_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, _) = app.create_agent(&admin, "ola").await;
    let (idp, pid) = hostile(&app, &admin, false).await;
    for verified in [false, true] {
        idp.set_email(&email, verified);
        idp.set_subject(&format!("ola-{verified}"));
        let r = journey(&app, &browser(), &pid, "login", None, "x").await;
        assert_eq!(r.body["status"], "not_connected", "never matched by e-mail: {}", r.text);
    }
}

async fn disconnect_needs_a_recent_sign_in_and_notifies(b: Backend) {
    let app = sso_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "pia").await;
    let (_idp, pid) = hostile(&app, &admin, false).await;
    let (agent, _) = app.sign_in(&email, &password).await;
    connect_account(&app, &pid, &agent, "x").await;
    let id = app.get_auth("/api/v1/me/sso", &agent).await.body["connections"][0]["id"].as_str().unwrap().to_string();
    app.clock.advance(11 * 60);
    let stale = Reply::from(
        app.client
            .delete(app.url(&format!("/api/v1/me/sso/connections/{id}")))
            .bearer_auth(&agent)
            .send()
            .await
            .unwrap(),
    )
    .await;
    stale.assert_problem(403, "reauth_required");
    let (fresh, _) = app.sign_in(&email, &password).await;
    let gone = Reply::from(
        app.client
            .delete(app.url(&format!("/api/v1/me/sso/connections/{id}")))
            .bearer_auth(&fresh)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    assert_eq!(app.get_auth("/api/v1/me/sso", &fresh).await.body["connections"], json!([]));
    app.smtp.wait_for(&email, |m| m.data.contains("disconnected"), std::time::Duration::from_secs(10)).await;
    assert_eq!(app.audit(&admin, "sso_disconnected").await.len(), 1);
    let again = Reply::from(
        app.client
            .delete(app.url(&format!("/api/v1/me/sso/connections/{id}")))
            .bearer_auth(&fresh)
            .send()
            .await
            .unwrap(),
    )
    .await;
    again.assert_problem(404, "not_found");
    assert_eq!(journey(&app, &browser(), &pid, "login", None, "x").await.body["status"], "not_connected");
}

async fn connect_needs_a_signed_in_user_with_a_recent_sign_in(b: Backend) {
    let app = sso_app(b).await;
    let admin = app.admin_token().await;
    let (_idp, pid) = hostile(&app, &admin, false).await;
    authorize(&app, &browser(), &pid, json!({"intent": "connect"}), None).await.assert_problem(401, "unauthenticated");
    // Created while the admin's sign-in is fresh (admin changes need one too).
    let (_, email, password) = app.create_agent(&admin, "quin").await;
    app.clock.advance(11 * 60);
    let (agent, _) = app.sign_in(&email, &password).await;
    app.clock.advance(11 * 60);
    authorize(&app, &browser(), &pid, json!({"intent": "connect"}), Some(&agent))
        .await
        .assert_problem(403, "reauth_required");
}

async fn patch_provider(app: &TestApp, admin: &str, id: &str, body: Value) -> Reply {
    let req = app.client.patch(app.url(&format!("/api/v1/admin/sso-providers/{id}"))).bearer_auth(admin).json(&body);
    Reply::from(req.send().await.unwrap()).await
}

async fn delete_provider(app: &TestApp, admin: &str, id: &str) -> Reply {
    let req = app.client.delete(app.url(&format!("/api/v1/admin/sso-providers/{id}"))).bearer_auth(admin);
    Reply::from(req.send().await.unwrap()).await
}

/// An application nobody signs in with (nothing listens at its issuer): enough for the admin API.
fn offline_application(name: &str) -> Value {
    json!({"kind": "oidc", "display_name": name, "client_id": "x", "client_secret": "y", "issuer": "http://127.0.0.1:9"})
}

async fn each_sso_application_change_has_its_audit_row(b: Backend) {
    let app = sso_app(b).await;
    let admin = app.admin_token().await;
    let admin_id = app.get_auth("/api/v1/me", &admin).await.body["id"].as_str().unwrap().to_string();
    let id = add_provider(&app, &admin, offline_application("Okta")).await;
    // A refused change records nothing.
    patch_provider(&app, &admin, &id, json!({"kind": "google"})).await.assert_problem(422, "validation_failed");
    let renamed = patch_provider(&app, &admin, &id, json!({"display_name": "Okta EU"})).await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(delete_provider(&app, &admin, &id).await.status, 204);
    assert_eq!(delete_provider(&app, &admin, &id).await.status, 404);
    for kind in ["sso_provider_created", "sso_provider_changed", "sso_provider_deleted"] {
        let events = app.audit(&admin, kind).await;
        assert_eq!(events.len(), 1, "{kind}: {events:?}");
        assert_eq!(events[0]["details"]["provider_id"], id.as_str(), "{kind}");
        assert_eq!(events[0]["actor_id"], admin_id.as_str(), "{kind}");
    }
}

/// Makes the database refuse (or accept again) the audit rows of SSO application changes, so
/// that the audit insert — the last statement of each change — fails for real.
async fn refuse_sso_application_audit_rows(app: &TestApp, refuse: bool) {
    use diesel::RunQueryDsl;
    let statements: &[&str] = match (app.backend, refuse) {
        (Backend::Sqlite, true) => &["CREATE TRIGGER refuse_sso_audit BEFORE INSERT ON audit_events \
              WHEN NEW.kind LIKE 'sso_provider_%' BEGIN SELECT RAISE(ABORT, 'audit refused by the test'); END"],
        (Backend::Sqlite, false) => &["DROP TRIGGER refuse_sso_audit"],
        (Backend::Postgres, true) => &[
            "CREATE FUNCTION refuse_sso_audit() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'audit refused by the test'; END $$",
            "CREATE TRIGGER refuse_sso_audit BEFORE INSERT ON audit_events FOR EACH ROW \
             WHEN (NEW.kind LIKE 'sso_provider_%') EXECUTE FUNCTION refuse_sso_audit()",
        ],
        (Backend::Postgres, false) => {
            &["DROP TRIGGER refuse_sso_audit ON audit_events", "DROP FUNCTION refuse_sso_audit()"]
        }
    };
    app.with_db(move |conn| {
        for sql in statements {
            diesel::sql_query(*sql).execute(conn)?;
        }
        Ok(())
    })
    .await;
}

async fn a_failed_sso_application_write_leaves_neither_change_nor_audit_row(b: Backend) {
    let app = sso_app(b).await;
    let admin = app.admin_token().await;
    let id = add_provider(&app, &admin, offline_application("Okta")).await;

    refuse_sso_application_audit_rows(&app, true).await;
    let created = app.post_auth("/api/v1/admin/sso-providers", &admin, offline_application("Second")).await;
    created.assert_problem(500, "internal_error");
    let changed = patch_provider(&app, &admin, &id, json!({"display_name": "Renamed", "enabled": false})).await;
    changed.assert_problem(500, "internal_error");
    delete_provider(&app, &admin, &id).await.assert_problem(500, "internal_error");
    refuse_sso_application_audit_rows(&app, false).await;

    // Each change was rolled back with its audit row: the one application is as it was.
    let list = app.get_auth("/api/v1/admin/sso-providers", &admin).await;
    let providers = list.body["providers"].as_array().unwrap();
    assert_eq!(providers.len(), 1, "{}", list.text);
    assert_eq!(providers[0]["id"], id.as_str());
    assert_eq!(providers[0]["display_name"], "Okta");
    assert_eq!(providers[0]["enabled"], true);
    assert_eq!(app.audit(&admin, "sso_provider_created").await.len(), 1);
    assert!(app.audit(&admin, "sso_provider_changed").await.is_empty());
    assert!(app.audit(&admin, "sso_provider_deleted").await.is_empty());
    // And the application still works for the next change.
    assert_eq!(patch_provider(&app, &admin, &id, json!({"display_name": "Renamed"})).await.status, 200);
    assert_eq!(app.audit(&admin, "sso_provider_changed").await.len(), 1);
}

/// The login page, the profile and the admin list show the applications in one stable order: by
/// display name regardless of case, then id; never in the order they were created. Several
/// fresh sets, each created in another non-alphabetical order, each list read several times.
async fn every_list_of_applications_is_ordered_by_name_then_id(b: Backend) {
    let app = sso_app(b).await;
    let admin = app.admin_token().await;
    let (_, e, p) = app.create_agent(&admin, "ada").await;
    let (agent, _) = app.sign_in(&e, &p).await;
    let offline = "http://127.0.0.1:9";
    let guid = "6f0c3c52-2b0d-4e4c-9d0a-0c1d2e3f4a5b";
    let body = |name: &str| match name {
        "Office 365" => json!({"kind": "microsoft", "client_id": "x", "client_secret": "y",
                               "microsoft_tenant": guid, "issuer": offline}),
        "Google" => json!({"kind": "google", "client_id": "x", "client_secret": "y", "issuer": offline}),
        other => offline_application(other),
    };
    let names = |list: &Value| -> Vec<(String, String)> {
        list.as_array()
            .unwrap_or_else(|| panic!("a list: {list}"))
            .iter()
            .map(|p| (p["display_name"].as_str().unwrap().to_string(), p["id"].as_str().unwrap().to_string()))
            .collect()
    };
    // "google" and "Google" tie but for case: their ids decide. "Beta (off)" is disabled.
    let orders = [
        ["Office 365", "Google", "acme OIDC", "Beta (off)", "google"],
        ["google", "acme OIDC", "Office 365", "Beta (off)", "Google"],
        ["Beta (off)", "Google", "Office 365", "google", "acme OIDC"],
    ];
    for order in orders {
        let mut created = Vec::new();
        for name in order {
            let id = add_provider(&app, &admin, body(name)).await;
            if name == "Beta (off)" {
                assert_eq!(patch_provider(&app, &admin, &id, json!({"enabled": false})).await.status, 200);
            }
            created.push((name.to_string(), id));
        }
        let id_of = |name: &str| created.iter().find(|(n, _)| n == name).unwrap().1.clone();
        let (google, twin) = (id_of("Google"), id_of("google"));
        let pair = |name: &str| (name.to_string(), id_of(name));
        let mut everything = vec![pair("acme OIDC"), pair("Beta (off)")];
        if google < twin {
            everything.extend([pair("Google"), pair("google")]);
        } else {
            everything.extend([pair("google"), pair("Google")]);
        }
        everything.push(pair("Office 365"));
        let enabled: Vec<_> = everything.iter().filter(|(n, _)| n != "Beta (off)").cloned().collect();
        for _ in 0..3 {
            let buttons = app.get("/api/v1/auth/sso/providers?tenant=acme").await;
            assert_eq!(names(&buttons.body["providers"]), enabled, "the login page, {order:?}: {}", buttons.text);
            let mine = app.get_auth("/api/v1/me/sso", &agent).await;
            assert_eq!(names(&mine.body["providers"]), enabled, "the profile, {order:?}: {}", mine.text);
            let all = app.get_auth("/api/v1/admin/sso-providers", &admin).await;
            assert_eq!(names(&all.body["providers"]), everything, "the admin list, {order:?}: {}", all.text);
        }
        for (_, id) in &created {
            assert_eq!(delete_provider(&app, &admin, id).await.status, 204);
        }
    }
}
