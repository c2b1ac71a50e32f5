//! Other CloudCX services: service clients, client-credentials tokens, introspection, users.

use base64::Engine;
use cloudcx_auth_tests::*;
use serde_json::{json, Value};

both_databases!(
    a_client_gets_a_token_and_reads_a_user_of_its_site,
    wrong_or_unknown_client_credentials_are_invalid_client,
    unsupported_grants_and_scopes_get_rfc_6749_errors,
    a_token_without_users_read_cannot_read_users,
    a_deleted_client_and_its_tokens_stop_working,
    introspection_sees_live_tokens_and_revocations,
    introspection_of_expired_foreign_signed_or_other_site_tokens_is_inactive,
    introspection_needs_the_tokens_introspect_scope,
    user_tokens_cannot_use_service_routes_and_service_tokens_cannot_use_user_routes,
    client_secrets_are_shown_once_and_stored_as_hashes,
);

async fn create_client(app: &TestApp, admin: &str, scopes: &[&str]) -> (String, String) {
    let r = app.post_auth("/api/v1/admin/service-clients", admin, json!({"name": "billing", "scopes": scopes})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    (r.body["client_id"].as_str().unwrap().to_string(), r.body["client_secret"].as_str().unwrap().to_string())
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
}

async fn form_post(app: &TestApp, path: &str, auth: Option<String>, form: &[(&str, &str)]) -> Reply {
    let mut req = app
        .client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.iter().map(|(k, v)| format!("{k}={}", v.replace(' ', "+"))).collect::<Vec<_>>().join("&"));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    Reply::from(req.send().await.unwrap()).await
}

async fn service_token(app: &TestApp, id: &str, secret: &str, scope: Option<&str>) -> Reply {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    form_post(app, "/oauth/token", Some(basic(id, secret)), &form).await
}

async fn introspect(app: &TestApp, id: &str, secret: &str, token: &str) -> Reply {
    form_post(app, "/oauth/introspect", Some(basic(id, secret)), &[("token", token)]).await
}

fn assert_oauth_error(r: &Reply, status: u16, error: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert_eq!(r.body["error"], error, "{}", r.text);
    assert!(r.body["error_description"].is_string());
}

async fn a_client_gets_a_token_and_reads_a_user_of_its_site(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (uid, _, _) = app.create_agent(&admin, "ana").await;
    let (id, secret) = create_client(&app, &admin, &["users:read"]).await;
    let r = service_token(&app, &id, &secret, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 600);
    assert_eq!(r.body["scope"], "users:read");
    let token = r.body["access_token"].as_str().unwrap();
    let c = claims_of(token);
    assert_eq!(c["sub"], format!("svc:{id}"));
    assert_eq!(c["client_id"], id.as_str());
    assert_eq!(c["scope"], "users:read");
    assert_eq!(c["tid"], claims_of(&admin)["tid"]);
    assert!(c.get("role").is_none(), "no role in a service token");
    assert_eq!(c["iss"], app.address);
    let u = app.get_auth(&format!("/api/v1/users/{uid}"), token).await;
    assert_eq!(u.status, 200, "{}", u.text);
    assert_eq!(u.body["email"], "ana@acme.example");
    assert_eq!(u.body["role"], "agent");
    assert_eq!(u.body["tenant"]["slug"], TENANT);
    assert_eq!(u.body["two_factor"], json!({"enabled": false, "method": null}));
    assert_eq!(u.body["sso"], json!([]));
    app.get_auth(&format!("/api/v1/users/{}", uuid::Uuid::new_v4()), token).await.assert_problem(404, "not_found");
    let d = app.get("/.well-known/openid-configuration").await;
    assert_eq!(d.body["token_endpoint"], app.url("/oauth/token"));
}

async fn wrong_or_unknown_client_credentials_are_invalid_client(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, secret) = create_client(&app, &admin, &["users:read"]).await;
    for auth in [Some(basic(&id, "wrong")), Some(basic("svc_unknown", &secret)), None, Some("Basic !!!".into())] {
        let r = form_post(&app, "/oauth/token", auth, &[("grant_type", "client_credentials")]).await;
        assert_oauth_error(&r, 401, "invalid_client");
        assert!(r.header("www-authenticate").unwrap().starts_with("Basic"));
    }
}

async fn unsupported_grants_and_scopes_get_rfc_6749_errors(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, secret) = create_client(&app, &admin, &["users:read"]).await;
    let r = form_post(&app, "/oauth/token", Some(basic(&id, &secret)), &[("grant_type", "password")]).await;
    assert_oauth_error(&r, 400, "unsupported_grant_type");
    assert_oauth_error(&service_token(&app, &id, &secret, Some("tokens:introspect")).await, 400, "invalid_scope");
    assert_oauth_error(&service_token(&app, &id, &secret, Some("admin")).await, 400, "invalid_scope");
    assert_oauth_error(&form_post(&app, "/oauth/token", Some(basic(&id, &secret)), &[]).await, 400, "invalid_request");
    let json_body = Reply::from(
        app.client
            .post(app.url("/oauth/token"))
            .header("authorization", basic(&id, &secret))
            .json(&json!({"grant_type": "client_credentials"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_oauth_error(&json_body, 400, "invalid_request");
}

async fn a_token_without_users_read_cannot_read_users(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (uid, _, _) = app.create_agent(&admin, "ben").await;
    let (id, secret) = create_client(&app, &admin, &["tokens:introspect"]).await;
    let token = service_token(&app, &id, &secret, None).await.body["access_token"].as_str().unwrap().to_string();
    app.get_auth(&format!("/api/v1/users/{uid}"), &token).await.assert_problem(403, "forbidden");
    // A client with both scopes may ask for fewer: then it has fewer.
    let (id2, secret2) = create_client(&app, &admin, &["users:read", "tokens:introspect"]).await;
    let narrow = service_token(&app, &id2, &secret2, Some("tokens:introspect")).await;
    let t = narrow.body["access_token"].as_str().unwrap();
    app.get_auth(&format!("/api/v1/users/{uid}"), t).await.assert_problem(403, "forbidden");
}

async fn a_deleted_client_and_its_tokens_stop_working(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (uid, _, _) = app.create_agent(&admin, "cat").await;
    let (id, secret) = create_client(&app, &admin, &["users:read"]).await;
    let (inspector, isecret) = create_client(&app, &admin, &["tokens:introspect"]).await;
    let token = service_token(&app, &id, &secret, None).await.body["access_token"].as_str().unwrap().to_string();
    assert_eq!(app.get_auth(&format!("/api/v1/users/{uid}"), &token).await.status, 200);
    let del = Reply::from(
        app.client
            .delete(app.url(&format!("/api/v1/admin/service-clients/{id}")))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(del.status, 204, "{}", del.text);
    app.get_auth(&format!("/api/v1/users/{uid}"), &token).await.assert_problem(401, "unauthenticated");
    assert_oauth_error(&service_token(&app, &id, &secret, None).await, 401, "invalid_client");
    assert_eq!(introspect(&app, &inspector, &isecret, &token).await.body, json!({"active": false}));
    let list = app.get_auth("/api/v1/admin/service-clients", &admin).await;
    assert_eq!(list.body["clients"].as_array().unwrap().len(), 1);
    assert_eq!(app.audit(&admin, "service_client_deleted").await.len(), 1);
}

async fn introspection_sees_live_tokens_and_revocations(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, secret) = create_client(&app, &admin, &["tokens:introspect"]).await;
    let (access, refresh) = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let r = introspect(&app, &id, &secret, &access).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["sub"], claims_of(&access)["sub"]);
    assert_eq!(r.body["tid"], claims_of(&access)["tid"]);
    assert_eq!(r.body["role"], "admin");
    assert_eq!(r.body["amr"], json!(["pwd"]));
    assert_eq!(r.body["acr"], "aal1");
    assert_eq!(r.body["exp"], claims_of(&access)["exp"]);
    // After logout: inactive at once.
    assert_eq!(app.post("/api/v1/auth/logout", json!({"refresh_token": refresh})).await.status, 204);
    assert_eq!(introspect(&app, &id, &secret, &access).await.body, json!({"active": false}));

    // After an admin 2FA reset: inactive.
    let (uid, email, password) = app.create_agent(&admin, "dan").await;
    let (agent, _) = app.sign_in(&email, &password).await;
    let setup = app.post_auth("/api/v1/me/2fa/totp/setup", &agent, json!({})).await;
    let secret_b32 = cloudcx_auth::auth::totp::decode_secret(setup.body["secret"].as_str().unwrap()).unwrap();
    let code = cloudcx_auth::auth::totp::code_at_step(&secret_b32, cloudcx_auth::auth::totp::step_of(app.clock_now()));
    assert_eq!(app.post_auth("/api/v1/me/2fa/totp/confirm", &agent, json!({"code": code})).await.status, 200);
    assert_eq!(introspect(&app, &id, &secret, &agent).await.body["active"], true);
    let reset = app.post_auth(&format!("/api/v1/admin/users/{uid}/2fa/reset"), &admin, json!({"reason": "lost"})).await;
    assert_eq!(reset.status, 204);
    assert_eq!(introspect(&app, &id, &secret, &agent).await.body, json!({"active": false}));

    // A service token introspects too.
    let own = service_token(&app, &id, &secret, None).await.body["access_token"].as_str().unwrap().to_string();
    let r = introspect(&app, &id, &secret, &own).await;
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["client_id"], id.as_str());
    assert_eq!(r.body["scope"], "tokens:introspect");
    assert!(r.body.get("role").is_none());
}

async fn introspection_of_expired_foreign_signed_or_other_site_tokens_is_inactive(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, secret) = create_client(&app, &admin, &["tokens:introspect"]).await;
    // Signed by another key, otherwise perfect.
    let other_keys = cloudcx_auth::auth::jwt::KeySet::new(
        &cloudcx_auth::auth::jwt::generate_rsa_pem().unwrap(),
        &[],
        app.address.clone(),
        "cloudcx".into(),
    )
    .unwrap();
    let mut claims: cloudcx_auth::auth::jwt::Claims = serde_json::from_value(claims_of(&admin)).unwrap();
    claims.jti = uuid::Uuid::new_v4().to_string();
    let forged = other_keys.sign(&claims).unwrap();
    assert_eq!(introspect(&app, &id, &secret, &forged).await.body, json!({"active": false}));
    assert_eq!(introspect(&app, &id, &secret, "not-a-token").await.body, json!({"active": false}));
    // Another site's token.
    let now = app.clock_now();
    app.with_db(move |conn| {
        cloudcx_auth::bootstrap::ensure_admin(conn, "globex", "boss@globex.example", Some("globex-Boss-Pass-1"), now)
            .map(|_| ())
            .map_err(|e| diesel::result::Error::QueryBuilderError(e.into()))
    })
    .await;
    let other = app.login("globex", "boss@globex.example", "globex-Boss-Pass-1").await;
    let other_token = other.body["access_token"].as_str().unwrap();
    assert_eq!(introspect(&app, &id, &secret, other_token).await.body, json!({"active": false}));
    // Expired.
    app.clock.advance(16 * 60);
    assert_eq!(introspect(&app, &id, &secret, &admin).await.body, json!({"active": false}));
}

async fn introspection_needs_the_tokens_introspect_scope(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, secret) = create_client(&app, &admin, &["users:read"]).await;
    assert_oauth_error(&introspect(&app, &id, &secret, &admin).await, 403, "insufficient_scope");
    // An agent's own bearer token is no client authentication.
    let (_, email, password) = app.create_agent(&admin, "eve").await;
    let (agent, _) = app.sign_in(&email, &password).await;
    let r = form_post(&app, "/oauth/introspect", Some(format!("Bearer {agent}")), &[("token", &admin)]).await;
    assert_oauth_error(&r, 401, "invalid_client");
    let (iid, isecret) = create_client(&app, &admin, &["tokens:introspect"]).await;
    assert_oauth_error(
        &form_post(&app, "/oauth/introspect", Some(basic(&iid, &isecret)), &[]).await,
        400,
        "invalid_request",
    );
}

async fn user_tokens_cannot_use_service_routes_and_service_tokens_cannot_use_user_routes(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (uid, email, password) = app.create_agent(&admin, "fox").await;
    let (agent, _) = app.sign_in(&email, &password).await;
    app.get_auth(&format!("/api/v1/users/{uid}"), &agent).await.assert_problem(403, "forbidden");
    app.get_auth(&format!("/api/v1/users/{uid}"), &admin).await.assert_problem(403, "forbidden");
    let (id, secret) = create_client(&app, &admin, &["users:read", "tokens:introspect"]).await;
    let svc = service_token(&app, &id, &secret, None).await.body["access_token"].as_str().unwrap().to_string();
    app.get_auth("/api/v1/me", &svc).await.assert_problem(403, "forbidden");
    app.get_auth("/api/v1/admin/users", &svc).await.assert_problem(403, "forbidden");
    app.post_auth("/api/v1/admin/service-clients", &agent, json!({"name": "x", "scopes": ["users:read"]}))
        .await
        .assert_problem(403, "forbidden");
}

async fn client_secrets_are_shown_once_and_stored_as_hashes(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, secret) = create_client(&app, &admin, &["users:read"]).await;
    assert!(secret.len() >= 43, "≥ 256 bits");
    let list = app.get_auth("/api/v1/admin/service-clients", &admin).await;
    assert!(!list.text.contains(&secret));
    assert_eq!(list.body["clients"][0]["client_id"], id.as_str());
    assert_eq!(list.body["clients"][0]["scopes"], json!(["users:read"]));
    let stored: Vec<String> = app
        .with_db(|conn| {
            use cloudcx_auth::db::schema::service_clients;
            use diesel::prelude::*;
            service_clients::table.select(service_clients::secret_hash).load(conn)
        })
        .await;
    assert!(stored.iter().all(|h| !h.contains(&secret)));
    let bad = app.post_auth("/api/v1/admin/service-clients", &admin, json!({"name": "x", "scopes": ["root"]})).await;
    bad.assert_problem(422, "validation_failed");
    let _: Value = bad.body;
}
