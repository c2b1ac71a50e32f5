//! Grants that must not outlive the change that takes them away: a role change ends the
//! sessions (and so the tokens introspection answers for), a password or account change voids
//! every reset link, a password reset removes the SSO connections made since the password was
//! last set, and two admins removing each other at once always leave one admin.

use std::sync::Arc;
use std::time::Duration;

use cloudcx_auth_tests::mfa::enable_totp;
use cloudcx_auth_tests::oidc::{login_at_provider, OidcProvider};
use cloudcx_auth_tests::*;
use serde_json::json;

both_databases!(
    a_demoted_admins_token_is_inactive_at_introspection_and_its_refresh_cookie_no_longer_refreshes,
    a_promoted_agents_old_token_is_inactive_at_introspection,
    introspection_answers_the_role_the_user_holds_now_not_the_tokens_claim,
    a_password_change_voids_every_outstanding_reset_link,
    a_password_reset_voids_every_other_outstanding_reset_link,
    disabling_a_user_voids_every_outstanding_reset_link,
    a_disabled_user_cannot_reset_the_password_with_a_link,
    deleting_a_user_voids_every_outstanding_reset_link,
    an_admin_2fa_reset_voids_every_outstanding_reset_link,
    a_role_change_voids_every_outstanding_reset_link,
    a_password_reset_removes_the_sso_connections_made_since_the_last_password_change_and_names_them,
    without_a_password_change_a_reset_removes_the_connections_made_since_the_account_was_created,
    two_admins_disabling_each_other_at_once_leave_one_admin,
    two_admins_demoting_each_other_at_once_leave_one_admin,
    two_admins_deleting_each_other_at_once_leave_one_admin,
    thirty_removals_between_two_admins_at_once_leave_one_admin,
    two_admins_removing_each_other_in_mixed_ways_at_once_leave_one_admin,
);

// ---------------------------------------------------------------------------------------------
// Helpers

/// Creates a second admin through the API: (id, email, password).
async fn create_admin(app: &TestApp, admin: &str, name: &str) -> (String, String, String) {
    let (email, password) = (format!("{name}@acme.example"), format!("{name}-Admin-Pass-93"));
    let r = app
        .post_auth(
            "/api/v1/admin/users",
            admin,
            json!({"email": email, "display_name": name, "password": password, "role": "admin"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    (r.body["id"].as_str().unwrap().into(), email, password)
}

const RESET_MARK: &str = "reset-password?token=";

/// The reset link's token in a mail's text, if it carries one.
fn token_in(data: &str) -> Option<String> {
    let at = data.find(RESET_MARK)? + RESET_MARK.len();
    Some(data[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect())
}

/// The reset links mailed to `email` so far.
fn links_sent(app: &TestApp, email: &str) -> Vec<String> {
    app.smtp.all_for(email).iter().filter_map(|m| token_in(&m.data)).collect()
}

/// Waits for a reset link to `email` not among `known`.
async fn new_link(app: &TestApp, email: &str, known: Vec<String>) -> String {
    let fresh = |m: &smtp::Received| token_in(&m.data).is_some_and(|t| !known.contains(&t));
    let mail = app.smtp.wait_for(email, fresh, Duration::from_secs(10)).await;
    token_in(&mail.data).unwrap()
}

/// Asks for a link by e-mail (the forgot-password page) and returns it.
async fn forgot_link(app: &TestApp, email: &str) -> String {
    let known = links_sent(app, email);
    let r = app.post("/api/v1/auth/password/forgot", json!({"tenant": TENANT, "email": email})).await;
    assert_eq!(r.status, 202);
    new_link(app, email, known).await
}

/// An admin mails the user a link and the test reads it.
async fn admin_link(app: &TestApp, admin: &str, id: &str, email: &str) -> String {
    let known = links_sent(app, email);
    let r = app.post_auth(&format!("/api/v1/admin/users/{id}/password-reset"), admin, json!({})).await;
    assert_eq!(r.status, 202, "{}", r.text);
    new_link(app, email, known).await
}

async fn reset_with(app: &TestApp, link: &str, new_password: &str) -> Reply {
    app.post("/api/v1/auth/password/reset", json!({"token": link, "new_password": new_password})).await
}

/// A voided link answers exactly as a link that never existed (no enumeration).
async fn assert_link_refused(app: &TestApp, link: &str) {
    let r = reset_with(app, link, "never-Set-This-Pass-1").await;
    r.assert_problem(401, "invalid_code");
    let bogus = reset_with(app, "no-such-link-at-all-0000000000000000000", "never-Set-This-Pass-1").await;
    assert_eq!((r.status, &r.body), (bogus.status, &bogus.body), "the same answer as an unknown link");
}

/// Whether `password` signs `email` in (200, possibly asking for the second factor).
async fn signs_in(app: &TestApp, email: &str, password: &str) -> bool {
    app.login(TENANT, email, password).await.status == 200
}

// ---------------------------------------------------------------------------------------------
// Introspection after a role change

async fn a_demoted_admins_token_is_inactive_at_introspection_and_its_refresh_cookie_no_longer_refreshes(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let svc = app.introspector(&admin).await;
    let (id, email, password) = create_admin(&app, &admin, "dora").await;
    // Dora signs in in her browser: the refresh token is in the cookie.
    let browser = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let r = Reply::from(
        browser
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"tenant": TENANT, "email": email, "password": password}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.body["access_token"].as_str().unwrap().to_string();
    assert_eq!(app.introspect(&svc, &token).await["role"], "admin");

    assert_eq!(
        app.patch_auth(&format!("/api/v1/admin/users/{id}"), &admin, json!({"role": "agent"})).await.status,
        200
    );

    assert_eq!(app.introspect(&svc, &token).await, json!({"active": false}), "the token is still unexpired");
    app.get_auth("/api/v1/admin/users", &token).await.assert_problem(401, "unauthenticated");
    let refresh = Reply::from(
        browser
            .post(app.url("/api/v1/auth/token/refresh"))
            .header("Origin", app.address.as_str())
            .send()
            .await
            .unwrap(),
    )
    .await;
    refresh.assert_problem(401, "invalid_refresh_token");
    // She signs in again as the agent she now is.
    let (again, _) = app.sign_in(&email, &password).await;
    let now = app.introspect(&svc, &again).await;
    assert_eq!((now["active"].clone(), now["role"].clone()), (json!(true), json!("agent")));
    let events = app.audit(&admin, "user_updated").await;
    assert_eq!(events[0]["details"]["sessions_ended"], 1, "{events:?}");
    assert_eq!(events[0]["details"]["previous_role"], "admin");
}

async fn a_promoted_agents_old_token_is_inactive_at_introspection(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let svc = app.introspector(&admin).await;
    let (id, email, password) = app.create_agent(&admin, "pia").await;
    let (token, refresh) = app.sign_in(&email, &password).await;
    assert_eq!(app.introspect(&svc, &token).await["role"], "agent");

    assert_eq!(
        app.patch_auth(&format!("/api/v1/admin/users/{id}"), &admin, json!({"role": "admin"})).await.status,
        200
    );

    assert_eq!(app.introspect(&svc, &token).await, json!({"active": false}));
    app.post("/api/v1/auth/token/refresh", json!({"refresh_token": refresh, "token_delivery": "body"}))
        .await
        .assert_problem(401, "invalid_refresh_token");
    let (again, _) = app.sign_in(&email, &password).await;
    assert_eq!(app.introspect(&svc, &again).await["role"], "admin");
    // Renaming is no change of grant: the new session lives on.
    assert_eq!(
        app.patch_auth(&format!("/api/v1/admin/users/{id}"), &admin, json!({"display_name": "Pia"})).await.status,
        200
    );
    assert_eq!(app.introspect(&svc, &again).await["active"], true);
}

async fn introspection_answers_the_role_the_user_holds_now_not_the_tokens_claim(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let svc = app.introspector(&admin).await;
    let (id, _, _) = create_admin(&app, &admin, "rita").await;
    let (token, _) = app.sign_in("rita@acme.example", "rita-Admin-Pass-93").await;
    // The role changes underneath the live session, as a change by any other path would: with
    // its row in the revocation log, which every path that changes a user writes.
    app.with_db(move |conn| {
        use cloudcx_auth::db::schema::users;
        use diesel::prelude::*;
        cloudcx_auth::db::write_tx(conn, |conn| {
            diesel::update(users::table.find(&id)).set(users::role.eq("agent")).execute(conn)?;
            cloudcx_auth::db::users::changed(conn, &id, 0)
        })
    })
    .await;
    assert_eq!(claims_of(&token)["role"], "admin");
    let answer = app.introspect(&svc, &token).await;
    assert_eq!((answer["active"].clone(), answer["role"].clone()), (json!(true), json!("agent")), "{answer}");
}

// ---------------------------------------------------------------------------------------------
// Reset links die with the change

async fn a_password_change_voids_every_outstanding_reset_link(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, email, password) = app.create_agent(&admin, "lena").await;
    let by_mail = forgot_link(&app, &email).await;
    let by_admin = admin_link(&app, &admin, &id, &email).await;
    let (token, _) = app.sign_in(&email, &password).await;
    let r = app
        .post_auth(
            "/api/v1/me/password",
            &token,
            json!({"current_password": password, "new_password": "lena-Changed-Pass-2"}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);

    for link in [&by_mail, &by_admin] {
        assert_link_refused(&app, link).await;
    }
    assert!(signs_in(&app, &email, "lena-Changed-Pass-2").await, "the changed password stands");
    assert!(!signs_in(&app, &email, "never-Set-This-Pass-1").await);
    assert_eq!(app.audit(&admin, "password_changed").await[0]["details"]["reset_links_voided"], 2);
}

async fn a_password_reset_voids_every_other_outstanding_reset_link(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, email, _) = app.create_agent(&admin, "mona").await;
    let first = forgot_link(&app, &email).await;
    let second = admin_link(&app, &admin, &id, &email).await;
    assert_eq!(reset_with(&app, &second, "mona-Reset-Pass-77").await.status, 204);

    assert_link_refused(&app, &first).await;
    assert!(signs_in(&app, &email, "mona-Reset-Pass-77").await);
    assert!(!signs_in(&app, &email, "never-Set-This-Pass-1").await);
}

async fn disabling_a_user_voids_every_outstanding_reset_link(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, email, password) = app.create_agent(&admin, "nils").await;
    let link = forgot_link(&app, &email).await;
    let path = format!("/api/v1/admin/users/{id}");
    assert_eq!(app.patch_auth(&path, &admin, json!({"disabled": true})).await.status, 200);
    // Enabled again: the link issued before the disabling still must not work.
    assert_eq!(app.patch_auth(&path, &admin, json!({"disabled": false})).await.status, 200);

    assert_link_refused(&app, &link).await;
    assert!(signs_in(&app, &email, &password).await, "the password is unchanged");
    assert!(!signs_in(&app, &email, "never-Set-This-Pass-1").await);
    assert_eq!(app.audit(&admin, "user_disabled").await[0]["details"]["reset_links_voided"], 1);
}

async fn a_disabled_user_cannot_reset_the_password_with_a_link(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, email, password) = app.create_agent(&admin, "olga").await;
    let path = format!("/api/v1/admin/users/{id}");
    assert_eq!(app.patch_auth(&path, &admin, json!({"disabled": true})).await.status, 200);
    // A link issued while the account is disabled (the admin's button still sends one).
    let link = admin_link(&app, &admin, &id, &email).await;

    assert_link_refused(&app, &link).await;
    assert_eq!(app.patch_auth(&path, &admin, json!({"disabled": false})).await.status, 200);
    assert!(signs_in(&app, &email, &password).await, "the password is unchanged");
    assert!(!signs_in(&app, &email, "never-Set-This-Pass-1").await);
}

async fn deleting_a_user_voids_every_outstanding_reset_link(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, email, _) = app.create_agent(&admin, "pete").await;
    let link = forgot_link(&app, &email).await;
    assert_eq!(app.delete_auth(&format!("/api/v1/admin/users/{id}"), &admin).await.status, 204);

    assert_link_refused(&app, &link).await;
    // A new account with the same address is not reachable through the old link either.
    let (_, email2, password2) = app.create_agent(&admin, "pete").await;
    assert_eq!(email2, email);
    assert_link_refused(&app, &link).await;
    assert!(signs_in(&app, &email, &password2).await);
    assert!(!signs_in(&app, &email, "never-Set-This-Pass-1").await);
}

async fn an_admin_2fa_reset_voids_every_outstanding_reset_link(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, email, password) = app.create_agent(&admin, "quin").await;
    let (token, _) = app.sign_in(&email, &password).await;
    enable_totp(&app, &token).await;
    let link = forgot_link(&app, &email).await;
    let r =
        app.post_auth(&format!("/api/v1/admin/users/{id}/2fa/reset"), &admin, json!({"reason": "lost phone"})).await;
    assert_eq!(r.status, 204, "{}", r.text);

    assert_link_refused(&app, &link).await;
    let r = app.login(TENANT, &email, &password).await;
    assert_eq!(r.status, 200, "the password is unchanged: {}", r.text);
    assert!(!signs_in(&app, &email, "never-Set-This-Pass-1").await);
    assert_eq!(app.audit(&admin, "mfa_admin_reset").await[0]["details"]["reset_links_voided"], 1);
}

async fn a_role_change_voids_every_outstanding_reset_link(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, email, password) = app.create_agent(&admin, "rex").await;
    let link = forgot_link(&app, &email).await;
    assert_eq!(
        app.patch_auth(&format!("/api/v1/admin/users/{id}"), &admin, json!({"role": "admin"})).await.status,
        200
    );

    assert_link_refused(&app, &link).await;
    assert!(signs_in(&app, &email, &password).await, "the password is unchanged");
}

// ---------------------------------------------------------------------------------------------
// SSO connections and a password reset

fn sso_browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Connects `login` at the real OpenID Provider to the user of `bearer`, the way the profile
/// page does: authorize → provider → callback → complete.
async fn connect_through_the_provider(app: &TestApp, provider: &str, bearer: &str, login: &str) -> Reply {
    let client = sso_browser();
    let a = Reply::from(
        client
            .post(app.url(&format!("/api/v1/auth/sso/{provider}/authorize")))
            .bearer_auth(bearer)
            .json(&json!({"intent": "connect"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let back = login_at_provider(&client, a.body["authorization_url"].as_str().unwrap(), login).await;
    let r = client.get(back).send().await.unwrap();
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let result = location.split("result=").nth(1).expect("a result").to_string();
    Reply::from(
        client
            .post(app.url("/api/v1/auth/sso/complete"))
            .bearer_auth(bearer)
            .json(&json!({"result": result, "token_delivery": "body"}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Inserts an application row and a connection of `user_id` to it made at `at` (a connection
/// whose journey this test does not need to repeat); returns the application's id.
async fn insert_connection(app: &TestApp, user_id: &str, name: &str, email: &str, at: i64) -> String {
    use cloudcx_auth::db::sso::{self, Connection, Provider};
    let (user_id, name, email) = (user_id.to_string(), name.to_string(), email.to_string());
    let tenant_id = claims_of(&app.admin_token().await)["tid"].as_str().unwrap().to_string();
    app.with_db(move |conn| {
        let provider = Provider {
            id: uuid::Uuid::new_v4().to_string(),
            tenant_id,
            kind: "oidc".into(),
            display_name: name,
            client_id: "unused".into(),
            client_secret_sealed: "unused".into(),
            issuer: "https://idp.example.com".into(),
            microsoft_tenant: None,
            allowed_tenants: String::new(),
            trust_idp_mfa: false,
            enabled: true,
            created_at: at,
            updated_at: at,
        };
        sso::insert_provider(conn, &provider)?;
        let c = Connection {
            id: uuid::Uuid::new_v4().to_string(),
            user_id,
            provider_id: provider.id.clone(),
            issuer: provider.issuer.clone(),
            subject: uuid::Uuid::new_v4().to_string(),
            email: Some(email),
            connected_at: at,
        };
        assert!(sso::insert_connection(conn, &c)?);
        Ok(provider.id)
    })
    .await
}

async fn reset_mail(app: &TestApp, email: &str) -> String {
    app.smtp.wait_for(email, |m| m.subject().contains("was reset"), Duration::from_secs(10)).await.body().to_string()
}

async fn a_password_reset_removes_the_sso_connections_made_since_the_last_password_change_and_names_them(b: Backend) {
    let app = spawn_app_with(b, |c| c.allow_insecure_issuers = true).await;
    let admin = app.admin_token().await;
    let (id, email, password) = app.create_agent(&admin, "sara").await;
    // Connected before the password was last changed: made by someone who knew an older password
    // and could no longer sign in once it changed — not suspect.
    app.clock.advance(60);
    insert_connection(&app, &id, "Okta", "sara@okta.example", app.clock_now()).await;
    app.clock.advance(60);
    let (token, _) = app.sign_in(&email, &password).await;
    let r = app
        .post_auth(
            "/api/v1/me/password",
            &token,
            json!({"current_password": password, "new_password": "sara-Second-Pass-4"}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    // Someone who knows the new password connects their own Google account.
    app.clock.advance(60);
    let idp = OidcProvider::start(&[("cloudcx-google", "google-secret", &app.url("/api/v1/auth/sso/callback"))]).await;
    let google = app
        .post_auth(
            "/api/v1/admin/sso-providers",
            &admin,
            json!({"kind": "google", "client_id": "cloudcx-google", "client_secret": "google-secret", "issuer": idp.issuer}),
        )
        .await;
    assert_eq!(google.status, 201, "{}", google.text);
    let google = google.body["id"].as_str().unwrap().to_string();
    let (attacker, _) = app.sign_in(&email, "sara-Second-Pass-4").await;
    let done = connect_through_the_provider(&app, &google, &attacker, "mallory").await;
    assert_eq!(done.body["status"], "connected", "{}", done.text);
    assert_eq!(app.get_auth("/api/v1/me/sso", &attacker).await.body["connections"].as_array().unwrap().len(), 2);

    // Sara resets her password by mail.
    let link = forgot_link(&app, &email).await;
    assert_eq!(reset_with(&app, &link, "sara-Third-Pass-55").await.status, 204);

    let (mine, _) = app.sign_in(&email, "sara-Third-Pass-55").await;
    let left = app.get_auth("/api/v1/me/sso", &mine).await.body["connections"].clone();
    assert_eq!(left.as_array().unwrap().len(), 1, "{left}");
    assert_eq!(left[0]["email"], "sara@okta.example");
    // The attacker's Google account signs nobody in any more.
    let client = sso_browser();
    let a = Reply::from(
        client
            .post(app.url(&format!("/api/v1/auth/sso/{google}/authorize")))
            .json(&json!({"intent": "login"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let back = login_at_provider(&client, a.body["authorization_url"].as_str().unwrap(), "mallory").await;
    let r = client.get(back).send().await.unwrap();
    let result = r.headers()["location"].to_str().unwrap().split("result=").nth(1).unwrap().to_string();
    let done = Reply::from(
        client
            .post(app.url("/api/v1/auth/sso/complete"))
            .json(&json!({"result": result, "token_delivery": "body"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(done.body["status"], "not_connected", "{}", done.text);

    // The mail names the removed connection and lists the remaining one with how to disconnect it.
    let mail = reset_mail(&app, &email).await;
    let (removed_part, kept_part) = mail.split_once("remain connected").expect("both lists");
    assert!(removed_part.contains("Google") && removed_part.contains("were disconnected"), "{mail}");
    assert!(kept_part.contains("Okta (sara@okta.example)") && !kept_part.contains("Google"), "{mail}");
    assert!(mail.contains("Security Settings > Single Sign-On (SSO) > Disconnect"), "{mail}");
    // Audited, with the reason.
    let events = app.audit(&admin, "sso_disconnected").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["details"]["reason"], "password_reset");
    assert_eq!(events[0]["details"]["provider_id"], google.as_str());
    assert_eq!(app.audit(&admin, "password_reset").await[0]["details"]["sso_disconnected"], 1);
}

async fn without_a_password_change_a_reset_removes_the_connections_made_since_the_account_was_created(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, email, password) = app.create_agent(&admin, "tom").await;
    app.clock.advance(30);
    insert_connection(&app, &id, "Okta", "tom@okta.example", app.clock_now()).await;
    app.clock.advance(30);
    insert_connection(&app, &id, "Auth0", "tom@auth0.example", app.clock_now()).await;

    let link = forgot_link(&app, &email).await;
    assert_eq!(reset_with(&app, &link, "tom-Reset-Pass-66").await.status, 204);

    let (token, _) = app.sign_in(&email, "tom-Reset-Pass-66").await;
    assert_eq!(app.get_auth("/api/v1/me/sso", &token).await.body["connections"], json!([]));
    let mail = reset_mail(&app, &email).await;
    assert!(mail.contains("Okta (tom@okta.example)") && mail.contains("Auth0 (tom@auth0.example)"), "{mail}");
    assert!(!mail.contains("remain connected"), "{mail}");
    assert!(!signs_in(&app, &email, &password).await);
    assert_eq!(app.audit(&admin, "sso_disconnected").await.len(), 2);
}

// ---------------------------------------------------------------------------------------------
// The last admin under concurrency

/// How an admin removes the other one.
#[derive(Debug, Clone, Copy)]
enum Removal {
    Disable,
    Demote,
    Delete,
}

/// Sends both requests at the same moment (both connected, waiting on one barrier).
async fn at_once(app: &TestApp, a: (Removal, &str, &str), b: (Removal, &str, &str)) -> [Reply; 2] {
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let send = |(how, token, target): (Removal, &str, &str)| {
        let client = reqwest::Client::new();
        let url = app.url(&format!("/api/v1/admin/users/{target}"));
        let request = match how {
            Removal::Disable => client.patch(url).json(&json!({"disabled": true})),
            Removal::Demote => client.patch(url).json(&json!({"role": "agent"})),
            Removal::Delete => client.delete(url),
        }
        .bearer_auth(token);
        let barrier = barrier.clone();
        tokio::spawn(async move {
            barrier.wait().await;
            Reply::from(request.send().await.expect("request")).await
        })
    };
    let (first, second) = (send(a), send(b));
    [first.await.unwrap(), second.await.unwrap()]
}

async fn enabled_admins(app: &TestApp) -> Vec<String> {
    app.with_db(|conn| {
        use cloudcx_auth::db::schema::users;
        use diesel::prelude::*;
        users::table
            .filter(users::role.eq("admin"))
            .filter(users::disabled.eq(false))
            .select(users::id)
            .load::<String>(conn)
    })
    .await
}

/// Twenty runs on a two-admin site where each admin removes the other at the same moment in the
/// ways `plan` gives for the run: exactly one request wins, the other is refused — with the
/// last-admin answer when it reached the guard, or as signed out (or no longer an admin) when
/// the winner's change had already reached its user — and exactly one enabled admin is left.
async fn two_admins_race(b: Backend, plan: impl Fn(usize) -> (Removal, Removal)) {
    let app = spawn_app(b).await;
    let boot = app.admin_token().await;
    // The site's two admins: the bootstrap one and, each run, a new second one.
    let (mut x_id, mut x_token) = (claims_of(&boot)["sub"].as_str().unwrap().to_string(), boot);
    let (mut guarded_refusals, runs) = (0, 20);
    for run in 0..runs {
        let (y_id, email, password) = create_admin(&app, &x_token, &format!("admin{run}")).await;
        let (y_token, _) = app.sign_in(&email, &password).await;
        assert_eq!(enabled_admins(&app).await.len(), 2, "run {run} starts with two admins");
        let (x_how, y_how) = plan(run);
        let replies = at_once(&app, (x_how, &x_token, &y_id), (y_how, &y_token, &x_id)).await;

        let won: Vec<usize> = (0..2).filter(|&i| replies[i].status.is_success()).collect();
        assert_eq!(won.len(), 1, "run {run} ({x_how:?} vs {y_how:?}): exactly one wins: {replies:?}");
        let loser = &replies[1 - won[0]];
        if loser.status == 409 {
            loser.assert_problem(409, "self_action_forbidden");
            assert!(loser.body["detail"].as_str().unwrap().contains("last admin"), "{}", loser.text);
            guarded_refusals += 1;
        } else if loser.status == 403 {
            // Its user was already an agent when its admin check read them.
            loser.assert_problem(403, "forbidden");
        } else {
            loser.assert_problem(401, "unauthenticated");
        }
        let left = enabled_admins(&app).await;
        let winner = if won[0] == 0 { (x_id.clone(), x_token.clone()) } else { (y_id.clone(), y_token.clone()) };
        assert_eq!(left, vec![winner.0.clone()], "run {run} ({x_how:?} vs {y_how:?}): one admin left");
        (x_id, x_token) = winner;
    }
    assert!(guarded_refusals > 0, "the requests never met in the guard in {runs} runs");
}

async fn two_admins_disabling_each_other_at_once_leave_one_admin(b: Backend) {
    two_admins_race(b, |_| (Removal::Disable, Removal::Disable)).await;
}

async fn two_admins_demoting_each_other_at_once_leave_one_admin(b: Backend) {
    two_admins_race(b, |_| (Removal::Demote, Removal::Demote)).await;
}

async fn two_admins_deleting_each_other_at_once_leave_one_admin(b: Backend) {
    two_admins_race(b, |_| (Removal::Delete, Removal::Delete)).await;
}

async fn two_admins_removing_each_other_in_mixed_ways_at_once_leave_one_admin(b: Backend) {
    let mixed =
        [(Removal::Disable, Removal::Demote), (Removal::Demote, Removal::Delete), (Removal::Delete, Removal::Disable)];
    two_admins_race(b, move |run| mixed[run % mixed.len()]).await;
}

/// Two admins firing thirty removals at each other at the same moment (fifteen each, one
/// barrier, disabling and demoting mixed): the site keeps exactly one enabled admin, and every
/// refusal is the guard's answer or a signed-out or demoted actor's, never an error.
async fn thirty_removals_between_two_admins_at_once_leave_one_admin(b: Backend) {
    const N: usize = 30;
    let app = spawn_app(b).await;
    let boot = app.admin_token().await;
    let x = (claims_of(&boot)["sub"].as_str().unwrap().to_string(), boot.clone());
    let (y_id, email, password) = create_admin(&app, &boot, "twin").await;
    let y = (y_id, app.sign_in(&email, &password).await.0);
    let barrier = Arc::new(tokio::sync::Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let (actor, target) = if i % 2 == 0 { (&x, &y) } else { (&y, &x) };
            let body = if i % 4 < 2 { json!({"disabled": true}) } else { json!({"role": "agent"}) };
            let request = reqwest::Client::new()
                .patch(app.url(&format!("/api/v1/admin/users/{}", target.0)))
                .bearer_auth(&actor.1)
                .json(&body);
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                Reply::from(request.send().await.expect("request")).await
            })
        })
        .collect();
    for task in tasks {
        let r = task.await.unwrap();
        match r.status.as_u16() {
            200 => {}
            409 => r.assert_problem(409, "self_action_forbidden"),
            403 => r.assert_problem(403, "forbidden"),
            _ => r.assert_problem(401, "unauthenticated"),
        }
    }
    assert_eq!(enabled_admins(&app).await.len(), 1, "thirty removals at once left the site without exactly one admin");
}
