//! Passkeys (WebAuthn) end to end, with a software authenticator (`webauthn-authenticator-rs`,
//! `SoftPasskey`) doing what a browser and a security key do: adding a passkey, signing in with
//! it, re-authenticating with it, and every way a sign-in must fail.
//!
//! The soft authenticator's limits, and how these tests meet them: it cannot hold resident
//! (discoverable) keys, so the registration options' `residentKey`/`requireResidentKey` are
//! cleared before it sees them; and it signs only for a credential named in `allowCredentials`
//! (with no user handle), so a sign-in's discoverable options get the registered credential's ID
//! put into `allowCredentials`. The server finds the credential by its ID either way and never
//! needs the user handle; the Chromium journey (web/e2e) proves the real discoverable flow.
//! WebAuthn needs a domain as relying party: the app's public URL is `http://localhost:…`.

use std::time::Duration;

use cloudcx_auth_tests::mfa::{agent_with_totp, code_now};
use cloudcx_auth_tests::*;
use serde_json::{json, Value};
use webauthn_authenticator_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::WebauthnAuthenticator;

both_databases!(
    an_added_passkey_is_listed_with_its_name_and_kind,
    a_passkey_signs_in_with_no_password_and_no_second_factor,
    a_replayed_assertion_is_refused,
    an_assertion_made_for_another_origin_is_refused,
    a_passkey_made_for_another_origin_is_not_added,
    a_challenge_is_single_use_under_30_parallel_logins,
    a_registration_challenge_is_single_use_under_30_parallel_answers,
    passkey_sign_in_spends_the_addresss_sign_in_budget,
    an_expired_challenge_is_refused,
    a_counter_gone_backwards_is_refused,
    a_removed_passkey_no_longer_signs_in,
    a_disabled_users_passkey_is_refused,
    passkeys_turned_off_for_the_site_are_refused,
    a_passkey_of_another_site_is_refused,
    an_unknown_site_gets_options_that_never_sign_in,
    adding_and_removing_a_passkey_need_a_fresh_sign_in,
    a_passkey_is_renamed_without_a_fresh_sign_in,
    another_users_passkey_cannot_be_renamed_or_removed,
    an_admin_2fa_reset_removes_the_users_passkeys,
    a_passkey_satisfies_the_sites_2fa_requirement,
    re_authenticating_with_a_passkey_makes_a_stale_session_fresh,
    adding_and_removing_a_passkey_send_notice_mails,
);

/// The app's public URL: a domain (WebAuthn refuses an IP address as relying party). Nothing
/// needs to listen there: requests go to the app's bound address, and the origin is what the
/// authenticator writes into the client data.
const PUBLIC_URL: &str = "http://localhost:9";
/// A sign-in more than 10 minutes old (the access token still lives 15).
const PAST_FRESH_WINDOW: i64 = 10 * 60 + 1;

async fn passkey_app(b: Backend) -> TestApp {
    spawn_app_with(b, |c| c.public_url = Some(PUBLIC_URL.into())).await
}

fn origin() -> Url {
    Url::parse(PUBLIC_URL).expect("url")
}

/// A user's authenticator and the passkey it made: (authenticator, credential ID as base64url).
struct Device {
    key: SoftPasskey,
    credential_id: String,
}

/// `POST /me/passkeys/options` as the soft authenticator can take them (see the module's text).
async fn registration_options(app: &TestApp, token: &str) -> (String, CreationChallengeResponse) {
    let r = app.post_auth("/api/v1/me/passkeys/options", token, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut options = r.body["options"].clone();
    assert_eq!(options["publicKey"]["attestation"], "none");
    let selection = &mut options["publicKey"]["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required", "discoverable credentials are asked for");
    assert_eq!(selection["requireResidentKey"], true);
    assert_eq!(selection["userVerification"], "required");
    // The soft authenticator cannot hold resident keys.
    selection["requireResidentKey"] = json!(false);
    selection.as_object_mut().expect("selection").remove("residentKey");
    let challenge_id = r.body["challenge_id"].as_str().expect("challenge id").to_string();
    (challenge_id, serde_json::from_value(options).expect("CreationChallengeResponse"))
}

/// Adds a passkey named `name` with a new soft authenticator; the passkey's view and the device.
async fn add_passkey(app: &TestApp, token: &str, name: &str) -> (Value, Device) {
    let mut key = SoftPasskey::new(true);
    let (challenge_id, ccr) = registration_options(app, token).await;
    let credential = key.do_registration(origin(), ccr).expect("the authenticator registers");
    let credential = serde_json::to_value(&credential).expect("json");
    let credential_id = credential["rawId"].as_str().expect("rawId").to_string();
    let r = app
        .post_auth(
            "/api/v1/me/passkeys",
            token,
            json!({"challenge_id": challenge_id, "name": name, "credential": credential}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    (r.body, Device { key, credential_id })
}

/// Discoverable sign-in options for `tenant`, with `credential_id` put into `allowCredentials`
/// for the soft authenticator (see the module's text).
async fn sign_in_options(app: &TestApp, tenant: &str, credential_id: &str) -> (String, RequestChallengeResponse) {
    let r = app.post("/api/v1/auth/passkey/options", json!({"tenant": tenant})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut options = r.body["options"].clone();
    assert_eq!(options["publicKey"]["allowCredentials"], json!([]), "discoverable: no credential named");
    assert_eq!(options["publicKey"]["userVerification"], "required");
    options["publicKey"]["allowCredentials"] = json!([{"type": "public-key", "id": credential_id}]);
    let challenge_id = r.body["challenge_id"].as_str().expect("challenge id").to_string();
    (challenge_id, serde_json::from_value(options).expect("RequestChallengeResponse"))
}

/// An assertion for a new sign-in challenge at `tenant`, made for `at`: (challenge id, credential).
async fn assertion_at(app: &TestApp, device: &mut Device, tenant: &str, at: Url) -> (String, Value) {
    let (challenge_id, rcr) = sign_in_options(app, tenant, &device.credential_id).await;
    let credential = device.key.do_authentication(at, rcr).expect("the authenticator signs");
    (challenge_id, serde_json::to_value(&credential).expect("json"))
}

async fn assertion(app: &TestApp, device: &mut Device) -> (String, Value) {
    assertion_at(app, device, TENANT, origin()).await
}

async fn passkey_login(app: &TestApp, tenant: &str, challenge_id: &str, credential: &Value) -> Reply {
    app.post(
        "/api/v1/auth/passkey/login",
        json!({"tenant": tenant, "challenge_id": challenge_id, "credential": credential, "token_delivery": "body"}),
    )
    .await
}

/// Signs in with the device's passkey; the reply.
async fn sign_in_with(app: &TestApp, device: &mut Device) -> Reply {
    let (challenge_id, credential) = assertion(app, device).await;
    passkey_login(app, TENANT, &challenge_id, &credential).await
}

/// An agent with a passkey: (id, email, password, token, device).
async fn agent_with_passkey(app: &TestApp, admin: &str, name: &str) -> (String, String, String, String, Device) {
    let (id, email, password) = app.create_agent(admin, name).await;
    let (token, _) = app.sign_in(&email, &password).await;
    let (_, device) = add_passkey(app, &token, "Laptop").await;
    (id, email, password, token, device)
}

async fn an_added_passkey_is_listed_with_its_name_and_kind(b: Backend) {
    let app = passkey_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "ada").await;
    let (token, _) = app.sign_in(&email, &password).await;
    let (view, _) = add_passkey(&app, &token, "  Work laptop  ").await;
    assert_eq!(view["name"], "Work laptop", "trimmed");
    // The soft authenticator's credential is not backup eligible: bound to its device.
    assert_eq!(view["kind"], "device_bound");
    assert_eq!(view["backup_eligible"], false);
    assert_eq!(view["backed_up"], false);
    assert!(view["last_used_at"].is_null());
    let (unnamed, _) = add_passkey(&app, &token, "").await;
    assert_eq!(unnamed["name"], "Passkey", "an empty name gets the default");

    let r = app.get_auth("/api/v1/me/passkeys", &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let list = r.body["passkeys"].as_array().expect("passkeys");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], view["id"]);
    assert_eq!(list[0]["name"], "Work laptop");
    assert!(list[0]["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));

    let added = app.audit(&admin, "passkey_added").await;
    assert_eq!(added.len(), 2);
    assert_eq!(added[1]["details"]["name"], "Work laptop");

    // A name over 64 characters is refused; the registration options exclude what is there.
    let (challenge_id, ccr) = registration_options(&app, &token).await;
    assert_eq!(ccr.public_key.exclude_credentials.as_ref().map(Vec::len), Some(2));
    let r = app
        .post_auth(
            "/api/v1/me/passkeys",
            &token,
            json!({"challenge_id": challenge_id, "name": "x".repeat(65), "credential": {}}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
}

async fn a_passkey_signs_in_with_no_password_and_no_second_factor(b: Backend) {
    let app = passkey_app(b).await;
    let admin = app.admin_token().await;
    // A user with an authenticator app: the passkey is both factors, no code is asked.
    let (email, password, secret, _) = agent_with_totp(&app, "totp-user").await;
    let r = app.login(TENANT, &email, &password).await;
    assert_eq!(r.body["status"], "mfa_required", "a password sign-in asks for the code");
    let r = mfa_verified(&app, &email, &password, &secret).await;
    let token = r.body["access_token"].as_str().expect("at").to_string();
    let id = claims_of(&token)["sub"].as_str().expect("sub").to_string();
    let (_, mut device) = add_passkey(&app, &token, "Key").await;

    let r = sign_in_with(&app, &mut device).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "authenticated");
    assert!(r.body["refresh_token"].is_string());
    let claims = claims_of(r.body["access_token"].as_str().expect("at"));
    assert_eq!(claims["sub"], id.as_str());
    assert_eq!(claims["amr"], json!(["hwk", "user"]));
    assert_eq!(claims["acr"], "aal2");
    let me = app.get_auth("/api/v1/me", r.body["access_token"].as_str().expect("at")).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["email"], email.as_str());

    // Twice in a row (the counter goes up each time), and the passkey records its use.
    let again = sign_in_with(&app, &mut device).await;
    assert_eq!(again.status, 200, "{}", again.text);
    let list = app.get_auth("/api/v1/me/passkeys", &token).await;
    assert!(list.body["passkeys"][0]["last_used_at"].is_string());

    let signed_in = app.audit(&admin, "sign_in_succeeded").await;
    let by_passkey: Vec<_> = signed_in.iter().filter(|e| e["details"]["method"] == "passkey").collect();
    assert_eq!(by_passkey.len(), 2);
    assert_eq!(by_passkey[0]["user_id"], id.as_str());

    // The cookie delivery works as for `/auth/login`.
    let (challenge_id, credential) = assertion(&app, &mut device).await;
    let r = app
        .post(
            "/api/v1/auth/passkey/login",
            json!({"tenant": TENANT, "challenge_id": challenge_id, "credential": credential}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body.get("refresh_token").is_none());
    assert!(r.set_cookies().iter().any(|c| c.starts_with("cx_refresh=")));
}

/// Completes a password + TOTP sign-in.
async fn mfa_verified(app: &TestApp, email: &str, password: &str, secret: &[u8]) -> Reply {
    let token = cloudcx_auth_tests::mfa::mfa_token(app, email, password).await;
    let r = app
        .post(
            "/api/v1/auth/mfa/verify",
            json!({"mfa_token": token, "code": code_now(app, secret), "token_delivery": "body"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    app.clock.advance(30);
    r
}

async fn a_replayed_assertion_is_refused(b: Backend) {
    let app = passkey_app(b).await;
    let admin = app.admin_token().await;
    let (.., mut device) = agent_with_passkey(&app, &admin, "replay").await;
    let (challenge_id, credential) = assertion(&app, &mut device).await;
    let first = passkey_login(&app, TENANT, &challenge_id, &credential).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let replay = passkey_login(&app, TENANT, &challenge_id, &credential).await;
    replay.assert_problem(401, "invalid_credentials");
    // Nor with a fresh challenge: the signature covers the old one.
    let (fresh, _) = sign_in_options(&app, TENANT, &device.credential_id).await;
    passkey_login(&app, TENANT, &fresh, &credential).await.assert_problem(401, "invalid_credentials");
}

async fn an_assertion_made_for_another_origin_is_refused(b: Backend) {
    let app = passkey_app(b).await;
    let admin = app.admin_token().await;
    let (id, .., mut device) = agent_with_passkey(&app, &admin, "phished").await;
    // Same host, another origin (a port the app does not serve).
    let foreign = Url::parse("http://localhost:4444").expect("url");
    let (challenge_id, credential) = assertion_at(&app, &mut device, TENANT, foreign).await;
    let r = passkey_login(&app, TENANT, &challenge_id, &credential).await;
    r.assert_problem(401, "invalid_credentials");
    let failed = app.audit(&admin, "sign_in_failed").await;
    assert!(failed.iter().any(|e| e["user_id"] == id.as_str() && e["details"]["method"] == "passkey"), "{failed:?}");
    // The same passkey from the right origin still works.
    assert_eq!(sign_in_with(&app, &mut device).await.status, 200);
}

async fn a_challenge_is_single_use_under_30_parallel_logins(b: Backend) {
    let app = passkey_app(b).await;
    let admin = app.admin_token().await;
    let (.., mut device) = agent_with_passkey(&app, &admin, "racer").await;
    let (challenge_id, credential) = assertion(&app, &mut device).await;
    let body =
        json!({"tenant": TENANT, "challenge_id": challenge_id, "credential": credential, "token_delivery": "body"});
    let mut logins = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let (client, url, body) = (app.client.clone(), app.url("/api/v1/auth/passkey/login"), body.clone());
        logins.spawn(async move { client.post(url).json(&body).send().await.expect("request").status().as_u16() });
    }
    let mut statuses = Vec::new();
    while let Some(status) = logins.join_next().await {
        statuses.push(status.expect("task"));
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 29, "{statuses:?}");
}

async fn an_expired_challenge_is_refused(b: Backend) {
    let app = passkey_app(b).await;
    let admin = app.admin_token().await;
    let (.., mut device) = agent_with_passkey(&app, &admin, "slow").await;
    let (challenge_id, credential) = assertion(&app, &mut device).await;
    app.clock.advance(5 * 60 + 1);
    passkey_login(&app, TENANT, &challenge_id, &credential).await.assert_problem(401, "invalid_credentials");
    // The periodic housekeeping forgets it (and only what expired).
    let _fresh = sign_in_options(&app, TENANT, &device.credential_id).await;
    let now = app.clock_now();
    let purged = app.with_db(move |conn| cloudcx_auth::db::passkeys::purge_expired_challenges(conn, now)).await;
    assert_eq!(purged, 1);
    let left = app
        .with_db(|conn| {
            use diesel::prelude::*;
            cloudcx_auth::db::schema::webauthn_challenges::table.count().get_result::<i64>(conn)
        })
        .await;
    assert_eq!(left, 1, "the live challenge stays");
}

async fn a_counter_gone_backwards_is_refused(b: Backend) {
    let app = passkey_app(b).await;
    let admin = app.admin_token().await;
    let (.., mut device) = agent_with_passkey(&app, &admin, "cloned").await;
    // Two assertions made in turn: the first carries counter 1, the second counter 2. The second
    // is used first; the first then looks like a clone's (its counter is not above the stored
    // one), although its own challenge is fresh and unused.
    let (older_challenge, older) = assertion(&app, &mut device).await;
    let (newer_challenge, newer) = assertion(&app, &mut device).await;
    assert_eq!(passkey_login(&app, TENANT, &newer_challenge, &newer).await.status, 200);
    passkey_login(&app, TENANT, &older_challenge, &older).await.assert_problem(401, "invalid_credentials");
}

async fn a_removed_passkey_no_longer_signs_in(b: Backend) {
    let app = passkey_app(b).await;
    let admin = app.admin_token().await;
    let (_, _, _, token, mut device) = agent_with_passkey(&app, &admin, "remover").await;
    let list = app.get_auth("/api/v1/me/passkeys", &token).await;
    let id = list.body["passkeys"][0]["id"].as_str().expect("id").to_string();
    let r = app.delete_auth(&format!("/api/v1/me/passkeys/{id}"), &token).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(app.get_auth("/api/v1/me/passkeys", &token).await.body["passkeys"], json!([]));
    sign_in_with(&app, &mut device).await.assert_problem(401, "invalid_credentials");
    let removed = app.audit(&admin, "passkey_removed").await;
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0]["details"]["passkey_id"], id.as_str());
}

async fn a_disabled_users_passkey_is_refused(b: Backend) {
    let app = passkey_app(b).await;
    let admin = app.admin_token().await;
    let (id, .., mut device) = agent_with_passkey(&app, &admin, "leaver").await;
    let r = app.patch_auth(&format!("/api/v1/admin/users/{id}"), &admin, json!({"disabled": true})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    sign_in_with(&app, &mut device).await.assert_problem(401, "invalid_credentials");
    // Enabled again, the passkey works again.
    let r = app.patch_auth(&format!("/api/v1/admin/users/{id}"), &admin, json!({"disabled": false})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(sign_in_with(&app, &mut device).await.status, 200);
}

async fn passkeys_turned_off_for_the_site_are_refused(b: Backend) {
    let app = passkey_app(b).await;
    let admin = app.admin_token().await;
    let (_, _, _, token, mut device) = agent_with_passkey(&app, &admin, "off").await;
    // An assertion made while passkeys were on, then the site turns them off.
    let (challenge_id, credential) = assertion(&app, &mut device).await;
    let r = app.patch_auth("/api/v1/admin/settings", &admin, json!({"passkeys_enabled": false})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    passkey_login(&app, TENANT, &challenge_id, &credential).await.assert_problem(401, "invalid_credentials");
    app.post("/api/v1/auth/passkey/options", json!({"tenant": TENANT})).await.assert_problem(403, "passkeys_disabled");
    app.post_auth("/api/v1/me/passkeys/options", &token, json!({})).await.assert_problem(403, "passkeys_disabled");
    app.post_auth("/api/v1/auth/reauth/passkey/options", &token, json!({}))
        .await
        .assert_problem(403, "passkeys_disabled");
    // The list still answers (the user can see and remove what they have).
    assert_eq!(app.get_auth("/api/v1/me/passkeys", &token).await.status, 200);
}

async fn a_passkey_of_another_site_is_refused(b: Backend) {
    let app = passkey_app(b).await;
    let (other_email, other_password) = ("boss@other.example", "other-admin-Pass-99");
    app.state
        .db
        .run(move |conn| {
            cloudcx_auth::bootstrap::ensure_admin(conn, "other", other_email, Some(other_password), 1_800_000_000)
                .map(|_| ())
                .map_err(|e| cloudcx_auth::db::DbError::Unavailable(e.to_string()))
        })
        .await
        .expect("the other site");
    let r = app.login("other", other_email, other_password).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.body["access_token"].as_str().expect("at").to_string();
    let (_, mut device) = add_passkey(&app, &token, "Other site's key").await;
    // At its own site it signs in; offered at acme with acme's challenge it is refused.
    let (challenge_id, credential) = assertion_at(&app, &mut device, "other", origin()).await;
    assert_eq!(passkey_login(&app, "other", &challenge_id, &credential).await.status, 200);
    let (challenge_id, credential) = assertion(&app, &mut device).await;
    passkey_login(&app, TENANT, &challenge_id, &credential).await.assert_problem(401, "invalid_credentials");
    // Nor does a challenge of one site serve a sign-in that names the other.
    let (challenge_id, credential) = assertion_at(&app, &mut device, "other", origin()).await;
    passkey_login(&app, TENANT, &challenge_id, &credential).await.assert_problem(401, "invalid_credentials");
}

async fn an_unknown_site_gets_options_that_never_sign_in(b: Backend) {
    let app = passkey_app(b).await;
    let admin = app.admin_token().await;
    let (.., mut device) = agent_with_passkey(&app, &admin, "lost").await;
    let (challenge_id, credential) = assertion_at(&app, &mut device, "no-such-site", origin()).await;
    passkey_login(&app, "no-such-site", &challenge_id, &credential).await.assert_problem(401, "invalid_credentials");
    passkey_login(&app, TENANT, &challenge_id, &credential).await.assert_problem(401, "invalid_credentials");
}

async fn adding_and_removing_a_passkey_need_a_fresh_sign_in(b: Backend) {
    let app = passkey_app(b).await;
    let admin = app.admin_token().await;
    let (_, _, _, token, mut device) = agent_with_passkey(&app, &admin, "stale").await;
    let id =
        app.get_auth("/api/v1/me/passkeys", &token).await.body["passkeys"][0]["id"].as_str().expect("id").to_string();
    // A fresh sign-in, then the options; the clock moves past 10 minutes before the answer.
    let (challenge_id, ccr) = registration_options(&app, &token).await;
    app.clock.advance(PAST_FRESH_WINDOW);
    app.post_auth("/api/v1/me/passkeys/options", &token, json!({})).await.assert_problem(403, "reauth_required");
    let mut key = SoftPasskey::new(true);
    let credential = serde_json::to_value(key.do_registration(origin(), ccr).expect("registers")).expect("json");
    app.post_auth(
        "/api/v1/me/passkeys",
        &token,
        json!({"challenge_id": challenge_id, "name": "Late", "credential": credential}),
    )
    .await
    .assert_problem(403, "reauth_required");
    app.delete_auth(&format!("/api/v1/me/passkeys/{id}"), &token).await.assert_problem(403, "reauth_required");
    assert_eq!(app.get_auth("/api/v1/me/passkeys", &token).await.body["passkeys"].as_array().map(Vec::len), Some(1));
    // A new sign-in (with the passkey itself) makes it fresh again.
    let r = sign_in_with(&app, &mut device).await;
    let fresh = r.body["access_token"].as_str().expect("at").to_string();
    assert_eq!(app.delete_auth(&format!("/api/v1/me/passkeys/{id}"), &fresh).await.status, 204);
}

async fn a_passkey_is_renamed_without_a_fresh_sign_in(b: Backend) {
    let app = passkey_app(b).await;
    let admin = app.admin_token().await;
    let (_, _, _, token, _) = agent_with_passkey(&app, &admin, "namer").await;
    let id =
        app.get_auth("/api/v1/me/passkeys", &token).await.body["passkeys"][0]["id"].as_str().expect("id").to_string();
    app.clock.advance(PAST_FRESH_WINDOW);
    let r = app.patch_auth(&format!("/api/v1/me/passkeys/{id}"), &token, json!({"name": " Phone "})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "Phone");
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(app.get_auth("/api/v1/me/passkeys", &token).await.body["passkeys"][0]["name"], "Phone");
    let renamed = app.audit(&admin, "passkey_renamed").await;
    assert_eq!(renamed.len(), 1);
    assert_eq!(renamed[0]["details"]["previous_name"], "Laptop");
    app.patch_auth(&format!("/api/v1/me/passkeys/{id}"), &token, json!({"name": "a\u{202e}b"}))
        .await
        .assert_problem(422, "validation_failed");
}

async fn another_users_passkey_cannot_be_renamed_or_removed(b: Backend) {
    let app = passkey_app(b).await;
    let admin = app.admin_token().await;
    let (_, _, _, owner, _) = agent_with_passkey(&app, &admin, "owner").await;
    let id =
        app.get_auth("/api/v1/me/passkeys", &owner).await.body["passkeys"][0]["id"].as_str().expect("id").to_string();
    let (_, email, password) = app.create_agent(&admin, "intruder").await;
    let (intruder, _) = app.sign_in(&email, &password).await;
    app.patch_auth(&format!("/api/v1/me/passkeys/{id}"), &intruder, json!({"name": "mine"}))
        .await
        .assert_problem(404, "not_found");
    app.delete_auth(&format!("/api/v1/me/passkeys/{id}"), &intruder).await.assert_problem(404, "not_found");
    assert_eq!(app.get_auth("/api/v1/me/passkeys", &owner).await.body["passkeys"][0]["name"], "Laptop");
}

async fn an_admin_2fa_reset_removes_the_users_passkeys(b: Backend) {
    let app = passkey_app(b).await;
    let admin = app.admin_token().await;
    // A user whose only factor beyond the password is a passkey: the reset still applies.
    let (id, email, password, token, mut device) = agent_with_passkey(&app, &admin, "recovered").await;
    let r = app
        .post_auth(&format!("/api/v1/admin/users/{id}/2fa/reset"), &admin, json!({"reason": "lost the laptop"}))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    sign_in_with(&app, &mut device).await.assert_problem(401, "invalid_credentials");
    let events = app.audit(&admin, "mfa_admin_reset").await;
    assert_eq!(events[0]["details"]["passkeys_removed"], 1);
    let mail = app.smtp.wait_for(&email, |m| m.body().contains("the passkeys"), Duration::from_secs(10)).await;
    assert!(mail.subject().contains("two-factor authentication was reset"), "{}", mail.subject());
    // The reset ended the user's sessions; a new sign-in sees no passkey.
    assert_eq!(app.get_auth("/api/v1/me/passkeys", &token).await.status, 401);
    let (fresh, _) = app.sign_in(&email, &password).await;
    assert_eq!(app.get_auth("/api/v1/me/passkeys", &fresh).await.body["passkeys"], json!([]));
    // A user with neither a method nor a passkey: nothing to reset.
    app.post_auth(&format!("/api/v1/admin/users/{id}/2fa/reset"), &admin, json!({"reason": "again"}))
        .await
        .assert_problem(409, "mfa_not_enabled");
}

async fn a_passkey_satisfies_the_sites_2fa_requirement(b: Backend) {
    let app = passkey_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "complier").await;
    let r = app.patch_auth("/api/v1/admin/settings", &admin, json!({"require_2fa": true})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (token, refresh) = app.sign_in(&email, &password).await;
    assert_eq!(claims_of(&token)["mfa_setup_required"], true);
    app.get_auth("/api/v1/me/sessions", &token).await.assert_problem(403, "mfa_setup_required");
    // Adding a passkey is a way to comply, reachable while setup is required.
    let (_, mut device) = add_passkey(&app, &token, "Compliance key").await;
    let me = app.get_auth("/api/v1/me", &token).await;
    assert_eq!(me.body["mfa_setup_required"], false, "{}", me.text);
    assert_eq!(app.get_auth("/api/v1/me/sessions", &token).await.status, 200);
    // Every way a token is handed out agrees: a password sign-in, a refresh, a passkey sign-in.
    let (again, _) = app.sign_in(&email, &password).await;
    assert!(claims_of(&again).get("mfa_setup_required").is_none(), "{}", claims_of(&again));
    let r = app.post("/api/v1/auth/token/refresh", json!({"refresh_token": refresh, "token_delivery": "body"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(claims_of(r.body["access_token"].as_str().expect("at")).get("mfa_setup_required").is_none());
    let r = sign_in_with(&app, &mut device).await;
    assert!(claims_of(r.body["access_token"].as_str().expect("at")).get("mfa_setup_required").is_none());
}

async fn re_authenticating_with_a_passkey_makes_a_stale_session_fresh(b: Backend) {
    let app = passkey_app(b).await;
    let admin = app.admin_token().await;
    let (id, _, _, token, mut device) = agent_with_passkey(&app, &admin, "returner").await;
    let (.., mut other) = agent_with_passkey(&app, &admin, "stranger").await;
    let (_, keyless_email, keyless_password) = app.create_agent(&admin, "keyless").await;
    app.clock.advance(PAST_FRESH_WINDOW);
    app.post_auth("/api/v1/me/passkeys/options", &token, json!({})).await.assert_problem(403, "reauth_required");
    let before = claims_of(&token);

    let r = app.post_auth("/api/v1/auth/reauth/passkey/options", &token, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let allowed = r.body["options"]["publicKey"]["allowCredentials"].as_array().expect("allowCredentials").clone();
    assert_eq!(allowed.len(), 1);
    assert_eq!(allowed[0]["id"], device.credential_id.as_str());
    let challenge_id = r.body["challenge_id"].as_str().expect("challenge").to_string();
    let rcr: RequestChallengeResponse = serde_json::from_value(r.body["options"].clone()).expect("rcr");
    let credential = serde_json::to_value(device.key.do_authentication(origin(), rcr).expect("signs")).expect("json");
    let body = json!({"challenge_id": challenge_id, "credential": credential, "token_delivery": "body"});
    let r = app.post_auth("/api/v1/auth/reauth/passkey", &token, body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let fresh = r.body["access_token"].as_str().expect("at").to_string();
    let after = claims_of(&fresh);
    assert!(after["auth_time"].as_i64() > before["auth_time"].as_i64());
    assert_eq!(after["sid"], before["sid"], "the same session");
    assert_eq!(after["amr"], json!(["hwk", "user"]));
    assert_eq!(after["acr"], "aal2");
    assert!(r.body["refresh_token"].is_string());
    assert_eq!(app.post_auth("/api/v1/me/passkeys/options", &fresh, json!({})).await.status, 200);
    let events = app.audit(&app.admin_token().await, "reauthenticated").await;
    assert_eq!(events[0]["user_id"], id.as_str());

    // The challenge was spent; another user's passkey does not serve this user.
    app.post_auth("/api/v1/auth/reauth/passkey", &fresh, body).await.assert_problem(403, "invalid_credentials");
    let r = app.post_auth("/api/v1/auth/reauth/passkey/options", &fresh, json!({})).await;
    let challenge_id = r.body["challenge_id"].as_str().expect("challenge").to_string();
    let mut options = r.body["options"].clone();
    options["publicKey"]["allowCredentials"] = json!([{"type": "public-key", "id": other.credential_id}]);
    let rcr: RequestChallengeResponse = serde_json::from_value(options).expect("rcr");
    let credential = serde_json::to_value(other.key.do_authentication(origin(), rcr).expect("signs")).expect("json");
    app.post_auth(
        "/api/v1/auth/reauth/passkey",
        &fresh,
        json!({"challenge_id": challenge_id, "credential": credential}),
    )
    .await
    .assert_problem(403, "invalid_credentials");

    // A user with no passkey has nothing to re-authenticate with.
    let (keyless, _) = app.sign_in(&keyless_email, &keyless_password).await;
    app.post_auth("/api/v1/auth/reauth/passkey/options", &keyless, json!({})).await.assert_problem(404, "not_found");
}

async fn adding_and_removing_a_passkey_send_notice_mails(b: Backend) {
    let app = passkey_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, _, token, _) = agent_with_passkey(&app, &admin, "notified").await;
    let added = app.smtp.wait_for(&email, |m| m.subject().contains("passkey was added"), Duration::from_secs(10)).await;
    assert!(added.body().contains("\"Laptop\""), "{}", added.body());
    let id =
        app.get_auth("/api/v1/me/passkeys", &token).await.body["passkeys"][0]["id"].as_str().expect("id").to_string();
    assert_eq!(app.delete_auth(&format!("/api/v1/me/passkeys/{id}"), &token).await.status, 204);
    let removed =
        app.smtp.wait_for(&email, |m| m.subject().contains("passkey was removed"), Duration::from_secs(10)).await;
    assert!(removed.body().contains("\"Laptop\""), "{}", removed.body());
}

async fn a_registration_challenge_is_single_use_under_30_parallel_answers(b: Backend) {
    let app = passkey_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "doubler").await;
    let (token, _) = app.sign_in(&email, &password).await;
    let (challenge_id, ccr) = registration_options(&app, &token).await;
    let mut key = SoftPasskey::new(true);
    let credential = serde_json::to_value(key.do_registration(origin(), ccr).expect("registers")).expect("json");
    let body = json!({"challenge_id": challenge_id, "name": "Once", "credential": credential});
    let mut answers = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let (client, url, body, token) =
            (app.client.clone(), app.url("/api/v1/me/passkeys"), body.clone(), token.clone());
        answers.spawn(async move {
            client.post(url).bearer_auth(token).json(&body).send().await.expect("request").status().as_u16()
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = answers.join_next().await {
        statuses.push(status.expect("task"));
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 29, "{statuses:?}");
    assert_eq!(app.get_auth("/api/v1/me/passkeys", &token).await.body["passkeys"].as_array().map(Vec::len), Some(1));
}

async fn passkey_sign_in_spends_the_addresss_sign_in_budget(b: Backend) {
    let app = spawn_app_with(b, |c| {
        c.public_url = Some(PUBLIC_URL.into());
        c.signin_per_ip_per_min = 3;
    })
    .await;
    for _ in 0..3 {
        assert_eq!(app.post("/api/v1/auth/passkey/options", json!({"tenant": TENANT})).await.status, 200);
    }
    let r = app.post("/api/v1/auth/passkey/options", json!({"tenant": TENANT})).await;
    r.assert_problem(429, "too_many_attempts");
    assert!(r.header("retry-after").is_some());
    let r = app
        .post("/api/v1/auth/passkey/login", json!({"tenant": TENANT, "challenge_id": "x", "credential": {"id": "AA", "rawId": "AA", "type": "public-key", "response": {"authenticatorData": "AA", "clientDataJSON": "AA", "signature": "AA"}}}))
        .await;
    r.assert_problem(429, "too_many_attempts");
}

async fn a_passkey_made_for_another_origin_is_not_added(b: Backend) {
    let app = passkey_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "lured").await;
    let (token, _) = app.sign_in(&email, &password).await;
    let (challenge_id, ccr) = registration_options(&app, &token).await;
    let mut key = SoftPasskey::new(true);
    let foreign = Url::parse("http://localhost:4444").expect("url");
    let credential = serde_json::to_value(key.do_registration(foreign, ccr).expect("registers")).expect("json");
    let r = app
        .post_auth(
            "/api/v1/me/passkeys",
            &token,
            json!({"challenge_id": challenge_id, "name": "Lure", "credential": credential}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "credential");
    assert_eq!(app.get_auth("/api/v1/me/passkeys", &token).await.body["passkeys"], json!([]));
    assert!(app.audit(&admin, "passkey_added").await.is_empty());
}
