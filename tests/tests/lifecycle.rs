//! The account's life: passwords, sessions, devices and the admin's user actions.

use cloudcx_auth_tests::*;
use serde_json::json;
use std::time::Duration;

both_databases!(
    changing_the_password_needs_the_current_one_and_ends_other_sessions,
    a_new_password_must_pass_the_policy_everywhere,
    a_reset_link_works_once_and_not_after_thirty_minutes,
    a_reset_signs_nobody_in_ends_every_session_and_keeps_2fa,
    forgot_password_answers_the_same_for_unknown_accounts,
    forgot_password_is_throttled_per_account,
    sessions_are_listed_and_can_be_signed_out,
    a_sign_in_from_a_new_device_is_notified_once,
    an_admin_edits_disables_and_reenables_a_user,
    a_disabled_users_live_access_token_is_refused_at_once,
    admins_cannot_lock_themselves_or_the_site_out,
    unlock_lifts_both_kinds_of_lock,
    an_admin_sends_a_reset_link,
    deleting_a_user_keeps_their_audit_history,
    a_deleted_users_access_token_is_inactive_at_introspection,
    an_access_token_dies_with_its_session_though_none_is_recorded,
    a_user_token_that_names_no_session_is_refused,
);

/// The reset link of the newest reset mail to `email`.
async fn reset_token(app: &TestApp, email: &str) -> String {
    app.smtp.wait_for(email, |m| m.data.contains("reset-password?token="), Duration::from_secs(10)).await;
    let mail = app.smtp.all_for(email).into_iter().rfind(|m| m.data.contains("reset-password?token=")).unwrap();
    let at = mail.data.find("reset-password?token=").unwrap() + "reset-password?token=".len();
    mail.data[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

async fn changing_the_password_needs_the_current_one_and_ends_other_sessions(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "amy").await;
    let (other, other_rt) = app.sign_in(&email, &password).await;
    let (token, _) = app.sign_in(&email, &password).await;
    app.post_auth(
        "/api/v1/me/password",
        &token,
        json!({"current_password": "wrong-one-1", "new_password": "amy-New-Pass-2024"}),
    )
    .await
    .assert_problem(403, "invalid_credentials");
    let r = app
        .post_auth(
            "/api/v1/me/password",
            &token,
            json!({"current_password": password, "new_password": "amy-New-Pass-2024"}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    app.get_auth("/api/v1/me", &other).await.assert_problem(401, "unauthenticated");
    app.post("/api/v1/auth/token/refresh", json!({"refresh_token": other_rt, "token_delivery": "body"}))
        .await
        .assert_problem(401, "invalid_refresh_token");
    assert_eq!(app.get_auth("/api/v1/me", &token).await.status, 200, "this session lives on");
    app.login(TENANT, &email, &password).await.assert_problem(401, "invalid_credentials");
    assert_eq!(app.login(TENANT, &email, "amy-New-Pass-2024").await.status, 200);
    app.smtp
        .wait_for(&email, |m| m.data.contains("password of your CloudCX account was changed"), Duration::from_secs(10))
        .await;
    app.clock.advance(11 * 60);
    app.post_auth(
        "/api/v1/me/password",
        &token,
        json!({"current_password": "amy-New-Pass-2024", "new_password": "amy-Newer-Pass-2025"}),
    )
    .await
    .assert_problem(403, "reauth_required");
}

async fn a_new_password_must_pass_the_policy_everywhere(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    for weak in ["short", "password1", &"x".repeat(129)] {
        app.post_auth("/api/v1/me/password", &admin, json!({"current_password": ADMIN_PASSWORD, "new_password": weak}))
            .await
            .assert_problem(422, "weak_password");
        app.post("/api/v1/auth/password/reset", json!({"token": "x", "new_password": weak}))
            .await
            .assert_problem(422, "weak_password");
    }
}

async fn a_reset_link_works_once_and_not_after_thirty_minutes(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, _) = app.create_agent(&admin, "bo").await;
    assert_eq!(app.post("/api/v1/auth/password/forgot", json!({"tenant": TENANT, "email": email})).await.status, 202);
    let token = reset_token(&app, &email).await;
    let r = app.post("/api/v1/auth/password/reset", json!({"token": token, "new_password": "bo-Reset-Pass-77"})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    app.post("/api/v1/auth/password/reset", json!({"token": token, "new_password": "bo-Other-Pass-88"}))
        .await
        .assert_problem(401, "invalid_code");
    assert_eq!(app.login(TENANT, &email, "bo-Reset-Pass-77").await.status, 200);
    // A second link, used too late.
    app.clock.advance(3601);
    assert_eq!(app.post("/api/v1/auth/password/forgot", json!({"tenant": TENANT, "email": email})).await.status, 202);
    let links =
        |app: &TestApp| app.smtp.all_for(&email).iter().filter(|m| m.data.contains("reset-password?token=")).count();
    let late = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if links(&app) > 1 {
            break reset_token(&app, &email).await;
        }
    };
    assert_ne!(late, token);
    app.clock.advance(30 * 60 + 1);
    app.post("/api/v1/auth/password/reset", json!({"token": late, "new_password": "bo-Late-Pass-99"}))
        .await
        .assert_problem(401, "invalid_code");
    let admin = app.admin_token().await;
    assert!(!app.audit(&admin, "password_reset").await.is_empty());
}

async fn a_reset_signs_nobody_in_ends_every_session_and_keeps_2fa(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "cy").await;
    let (token, rt) = app.sign_in(&email, &password).await;
    let setup = app.post_auth("/api/v1/me/2fa/totp/setup", &token, json!({})).await;
    let secret = cloudcx_auth::auth::totp::decode_secret(setup.body["secret"].as_str().unwrap()).unwrap();
    let code = cloudcx_auth::auth::totp::code_at_step(&secret, cloudcx_auth::auth::totp::step_of(app.clock_now()));
    assert_eq!(app.post_auth("/api/v1/me/2fa/totp/confirm", &token, json!({"code": code})).await.status, 200);
    app.post("/api/v1/auth/password/forgot", json!({"tenant": TENANT, "email": email})).await;
    let link = reset_token(&app, &email).await;
    let r = app.post("/api/v1/auth/password/reset", json!({"token": link, "new_password": "cy-Reset-Pass-55"})).await;
    assert_eq!(r.status, 204);
    assert!(r.set_cookies().is_empty() && r.text.is_empty(), "signs nobody in");
    app.get_auth("/api/v1/me", &token).await.assert_problem(401, "unauthenticated");
    app.post("/api/v1/auth/token/refresh", json!({"refresh_token": rt, "token_delivery": "body"}))
        .await
        .assert_problem(401, "invalid_refresh_token");
    let next = app.login(TENANT, &email, "cy-Reset-Pass-55").await;
    assert_eq!(next.body["status"], "mfa_required", "2FA is still asked: {}", next.text);
}

async fn forgot_password_answers_the_same_for_unknown_accounts(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, _) = app.create_agent(&admin, "dee").await;
    let mut times = Vec::new();
    let mut bodies = Vec::new();
    for (tenant, e) in [(TENANT, email.as_str()), (TENANT, "nobody@acme.example"), ("no-such-site", email.as_str())] {
        let started = std::time::Instant::now();
        let r = app.post("/api/v1/auth/password/forgot", json!({"tenant": tenant, "email": e})).await;
        times.push(started.elapsed());
        assert_eq!(r.status, 202);
        bodies.push(r.text);
    }
    assert!(bodies.iter().all(|x| x == &bodies[0]));
    // The work happens after the answer: none of them waits for the database or the mail.
    assert!(times.iter().all(|t| *t < Duration::from_millis(250)), "{times:?}");
    reset_token(&app, &email).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(app.smtp.all_for("nobody@acme.example").is_empty());
}

async fn forgot_password_is_throttled_per_account(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, _) = app.create_agent(&admin, "eli").await;
    for _ in 0..5 {
        assert_eq!(
            app.post("/api/v1/auth/password/forgot", json!({"tenant": TENANT, "email": email})).await.status,
            202
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let links = app.smtp.all_for(&email).iter().filter(|m| m.data.contains("reset-password?token=")).count();
    assert_eq!(links, 3, "three links an hour, then silence (still 202)");
}

async fn sessions_are_listed_and_can_be_signed_out(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "flo").await;
    let phone = reqwest::Client::new();
    let r = Reply::from(
        phone
            .post(app.url("/api/v1/auth/login"))
            .header("user-agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")
            .json(&json!({"tenant": TENANT, "email": email, "password": password, "token_delivery": "body"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let phone_token = r.body["access_token"].as_str().unwrap().to_string();
    let (laptop, _) = app.sign_in(&email, &password).await;
    let (third, _) = app.sign_in(&email, &password).await;
    let list = app.get_auth("/api/v1/me/sessions", &laptop).await;
    let sessions = list.body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(sessions.iter().any(|s| s["device"] == "Safari on iPhone"), "{}", list.text);
    assert!(sessions
        .iter()
        .all(|s| s["ip"] == "127.0.0.1" && s["created_at"].is_string() && s["last_used_at"].is_string()));
    let phone_sid = claims_of(&phone_token)["sid"].as_str().unwrap().to_string();
    assert_eq!(app.delete_auth(&format!("/api/v1/me/sessions/{phone_sid}"), &laptop).await.status, 204);
    app.get_auth("/api/v1/me", &phone_token).await.assert_problem(401, "unauthenticated");
    app.delete_auth(&format!("/api/v1/me/sessions/{phone_sid}"), &laptop).await.assert_problem(404, "not_found");
    let admin_sid = claims_of(&admin)["sid"].as_str().unwrap().to_string();
    app.delete_auth(&format!("/api/v1/me/sessions/{admin_sid}"), &laptop).await.assert_problem(404, "not_found");
    assert_eq!(app.post_auth("/api/v1/me/sessions/revoke-others", &laptop, json!({})).await.status, 204);
    app.get_auth("/api/v1/me", &third).await.assert_problem(401, "unauthenticated");
    assert_eq!(app.get_auth("/api/v1/me", &laptop).await.status, 200);
    assert_eq!(app.get_auth("/api/v1/me/sessions", &laptop).await.body["sessions"].as_array().unwrap().len(), 1);
}

async fn a_sign_in_from_a_new_device_is_notified_once(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "gil").await;
    app.sign_in(&email, &password).await;
    app.smtp.wait_for(&email, |m| m.data.contains("new device"), Duration::from_secs(10)).await;
    app.sign_in(&email, &password).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let count = |app: &TestApp| app.smtp.all_for(&email).iter().filter(|m| m.data.contains("new device")).count();
    assert_eq!(count(&app), 1, "same device and address: no second notice");
    let other = reqwest::Client::builder().user_agent("Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0").build().unwrap();
    other
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"tenant": TENANT, "email": email, "password": password, "token_delivery": "body"}))
        .send()
        .await
        .unwrap();
    let m = app.smtp.wait_for(&email, |m| m.data.contains("Firefox on Linux"), Duration::from_secs(10)).await;
    assert!(m.data.contains("127.0.0.1"));
    // Thirty days later the same device counts as new again.
    app.clock.advance(31 * 86_400);
    app.sign_in(&email, &password).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(count(&app), 3);
}

async fn an_admin_edits_disables_and_reenables_a_user(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, email, password) = app.create_agent(&admin, "hal").await;
    let r = app
        .patch_auth(&format!("/api/v1/admin/users/{id}"), &admin, json!({"display_name": "Hal B.", "role": "admin"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["display_name"], "Hal B.");
    assert_eq!(r.body["role"], "admin");
    let r = app.patch_auth(&format!("/api/v1/admin/users/{id}"), &admin, json!({"disabled": true})).await;
    assert_eq!(r.body["disabled"], true);
    app.login(TENANT, &email, &password).await.assert_problem(401, "invalid_credentials");
    let r = app.patch_auth(&format!("/api/v1/admin/users/{id}"), &admin, json!({"disabled": false})).await;
    assert_eq!(r.body["disabled"], false);
    assert_eq!(app.login(TENANT, &email, &password).await.status, 200);
    for kind in ["user_updated", "user_disabled", "user_enabled"] {
        let events = app.audit(&admin, kind).await;
        assert_eq!(events.len(), 1, "{kind}");
        assert_eq!(events[0]["actor_id"], claims_of(&admin)["sub"]);
    }
    app.patch_auth(&format!("/api/v1/admin/users/{id}"), &admin, json!({"role": "owner"}))
        .await
        .assert_problem(422, "validation_failed");
    app.patch_auth(&format!("/api/v1/admin/users/{}", uuid::Uuid::new_v4()), &admin, json!({"disabled": true}))
        .await
        .assert_problem(404, "not_found");
}

async fn a_disabled_users_live_access_token_is_refused_at_once(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, email, password) = app.create_agent(&admin, "ida").await;
    let (token, rt) = app.sign_in(&email, &password).await;
    let svc = app.introspector(&admin).await;
    assert_eq!(
        app.patch_auth(&format!("/api/v1/admin/users/{id}"), &admin, json!({"disabled": true})).await.status,
        200
    );
    app.get_auth("/api/v1/me", &token).await.assert_problem(401, "unauthenticated");
    app.post("/api/v1/auth/token/refresh", json!({"refresh_token": rt, "token_delivery": "body"}))
        .await
        .assert_problem(401, "invalid_refresh_token");
    assert_eq!(app.introspect(&svc, &token).await, json!({"active": false}));
}

async fn admins_cannot_lock_themselves_or_the_site_out(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let me = claims_of(&admin)["sub"].as_str().unwrap().to_string();
    for body in [json!({"disabled": true}), json!({"role": "agent"})] {
        app.patch_auth(&format!("/api/v1/admin/users/{me}"), &admin, body)
            .await
            .assert_problem(409, "self_action_forbidden");
    }
    app.delete_auth(&format!("/api/v1/admin/users/{me}"), &admin).await.assert_problem(409, "self_action_forbidden");
    assert_eq!(
        app.patch_auth(&format!("/api/v1/admin/users/{me}"), &admin, json!({"display_name": "Boss"})).await.status,
        200
    );
    // A second admin may demote the first while two remain... but not the last one.
    let r = app
        .post_auth("/api/v1/admin/users", &admin, json!({"email": "ann@acme.example", "display_name": "Ann", "password": "ann-Secret-Pass-1", "role": "admin"}))
        .await;
    let ann_id = r.body["id"].as_str().unwrap().to_string();
    let (ann, _) = app.sign_in("ann@acme.example", "ann-Secret-Pass-1").await;
    assert_eq!(app.patch_auth(&format!("/api/v1/admin/users/{me}"), &ann, json!({"role": "agent"})).await.status, 200);
    let _ = ann_id;
    let (agent_me, _) = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    app.get_auth("/api/v1/admin/users", &agent_me).await.assert_problem(403, "forbidden");
}

async fn unlock_lifts_both_kinds_of_lock(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, email, password) = app.create_agent(&admin, "jay").await;
    for _ in 0..10 {
        app.login(TENANT, &email, "wrong-password-1").await;
    }
    app.login(TENANT, &email, &password).await.assert_problem(429, "too_many_attempts");
    assert_eq!(app.post_auth(&format!("/api/v1/admin/users/{id}/unlock"), &admin, json!({})).await.status, 204);
    let (token, _) = app.sign_in(&email, &password).await;
    // Second-factor lock.
    let setup = app.post_auth("/api/v1/me/2fa/totp/setup", &token, json!({})).await;
    let secret = cloudcx_auth::auth::totp::decode_secret(setup.body["secret"].as_str().unwrap()).unwrap();
    let code = |app: &TestApp| {
        cloudcx_auth::auth::totp::code_at_step(&secret, cloudcx_auth::auth::totp::step_of(app.clock_now()))
    };
    assert_eq!(app.post_auth("/api/v1/me/2fa/totp/confirm", &token, json!({"code": code(&app)})).await.status, 200);
    app.clock.advance(30);
    let mfa = app.login(TENANT, &email, &password).await.body["mfa_token"].as_str().unwrap().to_string();
    for _ in 0..5 {
        app.post("/api/v1/auth/mfa/verify", json!({"mfa_token": mfa, "code": "000009"})).await;
    }
    app.post("/api/v1/auth/mfa/verify", json!({"mfa_token": mfa, "code": code(&app)}))
        .await
        .assert_problem(429, "too_many_attempts");
    let users = app.get_auth("/api/v1/admin/users", &admin).await;
    assert!(users.body["users"].as_array().unwrap().iter().any(|u| u["id"] == id.as_str() && u["locked"] == true));
    assert_eq!(app.post_auth(&format!("/api/v1/admin/users/{id}/unlock"), &admin, json!({})).await.status, 204);
    assert_eq!(app.post("/api/v1/auth/mfa/verify", json!({"mfa_token": mfa, "code": code(&app)})).await.status, 200);
    assert_eq!(app.audit(&admin, "user_unlocked").await.len(), 2);
}

async fn an_admin_sends_a_reset_link(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, email, _) = app.create_agent(&admin, "kit").await;
    let r = app.post_auth(&format!("/api/v1/admin/users/{id}/password-reset"), &admin, json!({})).await;
    assert_eq!(r.status, 202);
    let token = reset_token(&app, &email).await;
    assert_eq!(
        app.post("/api/v1/auth/password/reset", json!({"token": token, "new_password": "kit-Fresh-Pass-31"}))
            .await
            .status,
        204
    );
    assert_eq!(app.login(TENANT, &email, "kit-Fresh-Pass-31").await.status, 200);
    assert_eq!(app.audit(&admin, "password_reset_sent").await.len(), 1);
}

async fn deleting_a_user_keeps_their_audit_history(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, email, password) = app.create_agent(&admin, "lea").await;
    let (token, _) = app.sign_in(&email, &password).await;
    assert_eq!(app.delete_auth(&format!("/api/v1/admin/users/{id}"), &admin).await.status, 204);
    app.get_auth("/api/v1/me", &token).await.assert_problem(401, "unauthenticated");
    app.login(TENANT, &email, &password).await.assert_problem(401, "invalid_credentials");
    let history = app.get_auth(&format!("/api/v1/admin/audit-events?user_id={id}"), &admin).await;
    let kinds: Vec<&str> =
        history.body["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(
        kinds.contains(&"user_deleted") && kinds.contains(&"user_created") && kinds.contains(&"sign_in_succeeded"),
        "{kinds:?}"
    );
    app.delete_auth(&format!("/api/v1/admin/users/{id}"), &admin).await.assert_problem(404, "not_found");
}

/// A user's access tokens are revoked with their sessions: once the user is deleted, introspection
/// calls every token of theirs inactive.
async fn a_deleted_users_access_token_is_inactive_at_introspection(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, email, password) = app.create_agent(&admin, "max").await;
    let (first, _) = app.sign_in(&email, &password).await;
    let (second, _) = app.sign_in(&email, &password).await;
    let svc = app.introspector(&admin).await;
    assert_eq!(app.introspect(&svc, &first).await["active"], json!(true));
    assert_eq!(app.delete_auth(&format!("/api/v1/admin/users/{id}"), &admin).await.status, 204);
    for token in [first, second] {
        assert_eq!(app.introspect(&svc, &token).await, json!({"active": false}));
    }
}

/// A session writes nothing per access token it issues (sign-in, refresh): its tokens name it
/// (`sid`) and die with it, at the bearer check and at introspection.
async fn an_access_token_dies_with_its_session_though_none_is_recorded(b: Backend) {
    use cloudcx_auth::db::schema::revocations;
    use diesel::{QueryDsl, RunQueryDsl};
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "sam").await;
    let (laptop, _) = app.sign_in(&email, &password).await;
    let (phone, rt) = app.sign_in(&email, &password).await;
    let r = app.post("/api/v1/auth/token/refresh", json!({"refresh_token": rt, "token_delivery": "body"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let phone_refreshed = r.body["access_token"].as_str().unwrap().to_string();
    let recorded: i64 = app.with_db(|conn| revocations::table.count().get_result(conn)).await;
    assert_eq!(recorded, 0, "signing in and refreshing write nothing to the revocation log");

    let svc = app.introspector(&admin).await;
    assert_eq!(app.introspect(&svc, &phone).await["active"], json!(true));
    let phone_sid = claims_of(&phone)["sid"].as_str().unwrap().to_string();
    assert_eq!(app.delete_auth(&format!("/api/v1/me/sessions/{phone_sid}"), &laptop).await.status, 204);
    for token in [&phone, &phone_refreshed] {
        app.get_auth("/api/v1/me", token).await.assert_problem(401, "unauthenticated");
        assert_eq!(app.introspect(&svc, token).await, json!({"active": false}));
    }
    assert_eq!(app.get_auth("/api/v1/me", &laptop).await.status, 200, "the other session lives on");
    assert_eq!(app.introspect(&svc, &laptop).await["active"], json!(true));
}

/// A user's access token that names no session (signed with our own key) is refused: at the
/// bearer check and at introspection.
async fn a_user_token_that_names_no_session_is_refused(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let mut claims: cloudcx_auth::auth::jwt::Claims = serde_json::from_value(claims_of(&admin)).unwrap();
    claims.sid = None;
    claims.jti = "no-session".into();
    let forged = app.state.keys.sign(&claims).unwrap();
    app.get_auth("/api/v1/me", &forged).await.assert_problem(401, "unauthenticated");
    let svc = app.introspector(&admin).await;
    assert_eq!(app.introspect(&svc, &forged).await, json!({"active": false}));
    assert_eq!(app.get_auth("/api/v1/me", &admin).await.status, 200, "the same claims with their session work");
}
