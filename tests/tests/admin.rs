//! Administration of users and the audit log, within one's own site.

use cloudcx_auth_tests::*;
use serde_json::json;

both_databases!(
    an_admin_creates_and_lists_the_sites_users,
    an_agent_is_forbidden_the_admin_routes,
    a_weak_or_common_password_is_refused_when_creating_a_user,
    an_email_already_on_the_site_is_refused,
    admins_see_only_their_own_site,
    the_audit_log_records_sign_ins_failures_and_user_creation_newest_first_with_paging,
    site_settings_default_to_passkeys_on_and_30_remembered_days_and_change_only_what_is_sent,
    remembered_days_outside_1_to_90_are_refused_and_change_nothing,
);

async fn an_admin_creates_and_lists_the_sites_users(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let r = app
        .post_auth(
            "/api/v1/admin/users",
            &admin,
            json!({"email": " Ben@Acme.Example", "display_name": "Ben", "password": "ben-Secret-Pass-42", "role": "agent"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["email"], "ben@acme.example");
    assert_eq!(r.body["role"], "agent");
    assert_eq!(r.body["disabled"], false);
    assert_eq!(r.body["locked"], false);
    assert_eq!(r.body["two_factor"], json!({"enabled": false, "method": null}));
    assert!(r.body["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(r.body["last_sign_in_at"].is_null());

    let list = app.get_auth("/api/v1/admin/users", &admin).await;
    assert_eq!(list.status, 200);
    let emails: Vec<&str> =
        list.body["users"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["admin@acme.example", "ben@acme.example"]);
    assert!(list.body["users"][0]["last_sign_in_at"].is_string());

    let (access, _) = app.sign_in("ben@acme.example", "ben-Secret-Pass-42").await;
    assert_eq!(claims_of(&access)["role"], "agent");
    app.post_auth(
        "/api/v1/admin/users",
        &admin,
        json!({"email": "x@acme.example", "display_name": "X", "password": "x-Secret-Pass-42", "role": "owner"}),
    )
    .await
    .assert_problem(422, "validation_failed");
}

async fn an_agent_is_forbidden_the_admin_routes(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "carl").await;
    let (agent, _) = app.sign_in(&email, &password).await;
    app.get_auth("/api/v1/admin/users", &agent).await.assert_problem(403, "forbidden");
    app.get_auth("/api/v1/admin/audit-events", &agent).await.assert_problem(403, "forbidden");
    app.post_auth(
        "/api/v1/admin/users",
        &agent,
        json!({"email": "y@acme.example", "display_name": "Y", "password": "y-Secret-Pass-42", "role": "admin"}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.get("/api/v1/admin/users").await.assert_problem(401, "unauthenticated");
}

async fn a_weak_or_common_password_is_refused_when_creating_a_user(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    for password in ["short", "password123", "Baseball1", &"x".repeat(129)] {
        let r = app
            .post_auth(
                "/api/v1/admin/users",
                &admin,
                json!({"email": "w@acme.example", "display_name": "W", "password": password, "role": "agent"}),
            )
            .await;
        r.assert_problem(422, "weak_password");
    }
    let users = app.get_auth("/api/v1/admin/users", &admin).await;
    assert_eq!(users.body["users"].as_array().unwrap().len(), 1, "nothing was created");
}

async fn an_email_already_on_the_site_is_refused(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    app.create_agent(&admin, "dave").await;
    let r = app
        .post_auth(
            "/api/v1/admin/users",
            &admin,
            json!({"email": "DAVE@acme.example", "display_name": "D2", "password": "dave2-Secret-Pass", "role": "agent"}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "email");
}

async fn admins_see_only_their_own_site(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    app.create_agent(&admin, "erin").await;
    let (tenant, email) = ("globex", "boss@globex.example");
    let now = app.clock_now();
    app.with_db(move |conn| {
        cloudcx_auth::bootstrap::ensure_admin(conn, tenant, email, Some("globex-Boss-Pass-1"), now)
            .map(|_| ())
            .map_err(|e| diesel::result::Error::QueryBuilderError(e.into()))
    })
    .await;
    let r = app.login("globex", email, "globex-Boss-Pass-1").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let other = r.body["access_token"].as_str().unwrap();
    let list = app.get_auth("/api/v1/admin/users", other).await;
    let emails: Vec<&str> =
        list.body["users"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails, [email]);
    let events = app.get_auth("/api/v1/admin/audit-events", other).await;
    assert!(events.body["events"].as_array().unwrap().iter().all(|e| e["user_id"] != claims_of(&admin)["sub"]));
    // The same e-mail may exist on two sites; sign-in picks the site.
    app.login(TENANT, email, "globex-Boss-Pass-1").await.assert_problem(401, "invalid_credentials");
}

async fn the_audit_log_records_sign_ins_failures_and_user_creation_newest_first_with_paging(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, email, _) = app.create_agent(&admin, "fay").await;
    app.login(TENANT, &email, "wrong-password-1").await.assert_problem(401, "invalid_credentials");
    app.login(TENANT, &email, "wrong-password-2").await.assert_problem(401, "invalid_credentials");

    let created = app.audit(&admin, "user_created").await;
    let fay = created.iter().find(|e| e["user_id"] == id.as_str()).expect("user_created");
    assert_eq!(fay["actor_id"], claims_of(&admin)["sub"]);
    assert_eq!(fay["ip"], "127.0.0.1");
    assert!(fay["at"].as_str().unwrap().ends_with('Z'));

    let r = app.get_auth(&format!("/api/v1/admin/audit-events?user_id={id}"), &admin).await;
    let kinds: Vec<&str> = r.body["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["sign_in_failed", "sign_in_failed", "user_created"], "newest first");
    assert_eq!(r.body["events"][0]["details"]["consecutive_failures"], 2);

    let page1 = app.get_auth(&format!("/api/v1/admin/audit-events?user_id={id}&limit=2"), &admin).await;
    assert_eq!(page1.body["events"].as_array().unwrap().len(), 2);
    let before = page1.body["next_before"].as_str().expect("a next page").to_string();
    let page2 = app.get_auth(&format!("/api/v1/admin/audit-events?user_id={id}&limit=2&before={before}"), &admin).await;
    let rest: Vec<&str> =
        page2.body["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(rest, ["user_created"]);
    assert!(page2.body["next_before"].is_null());

    let future = "2999-01-01T00:00:00Z";
    let none = app.get_auth(&format!("/api/v1/admin/audit-events?since={future}"), &admin).await;
    assert_eq!(none.body["events"].as_array().unwrap().len(), 0);
}

async fn site_settings_default_to_passkeys_on_and_30_remembered_days_and_change_only_what_is_sent(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let defaults = json!({
        "require_2fa": false, "passkeys_enabled": true, "remember_device": true,
        "remember_device_days": 30, "remembered_device_acr": "aal2"
    });
    assert_eq!(app.get_auth("/api/v1/admin/settings", &admin).await.body, defaults);

    let r = app
        .patch_auth(
            "/api/v1/admin/settings",
            &admin,
            json!({"remember_device_days": 7, "remembered_device_acr": "aal1"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let changed = json!({
        "require_2fa": false, "passkeys_enabled": true, "remember_device": true,
        "remember_device_days": 7, "remembered_device_acr": "aal1"
    });
    assert_eq!(r.body, changed);
    assert_eq!(app.get_auth("/api/v1/admin/settings", &admin).await.body, changed);
    let r = app.patch_auth("/api/v1/admin/settings", &admin, json!({"passkeys_enabled": false})).await;
    assert_eq!(r.body["passkeys_enabled"], false);
    assert_eq!(r.body["remember_device_days"], 7);
}

async fn remembered_days_outside_1_to_90_are_refused_and_change_nothing(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    for days in [0, 91, -1] {
        let r = app
            .patch_auth("/api/v1/admin/settings", &admin, json!({"remember_device_days": days, "require_2fa": true}))
            .await;
        r.assert_problem(422, "validation_failed");
    }
    let r = app.patch_auth("/api/v1/admin/settings", &admin, json!({"remembered_device_acr": "aal3"})).await;
    assert!(r.status == 400 || r.status == 422, "{}", r.text);
    let now = app.get_auth("/api/v1/admin/settings", &admin).await.body;
    assert_eq!(now["remember_device_days"], 30);
    assert_eq!(now["require_2fa"], false);
    assert_eq!(now["remembered_device_acr"], "aal2");
}
