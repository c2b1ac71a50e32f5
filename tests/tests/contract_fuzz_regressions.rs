//! What contract fuzzing (scripts/schemathesis.sh, issue #8) found, pinned down.

use base64::Engine;
use cloudcx_auth_tests::*;
use serde_json::json;

both_databases!(
    a_nul_in_a_path_or_query_is_a_400_problem,
    a_nul_in_a_json_string_is_never_a_500,
    a_wrong_method_under_oauth_is_rfc6749_json,
    a_nul_in_a_basic_client_id_is_an_invalid_client,
    concurrent_two_factor_setups_all_succeed,
);

/// `GET /auth/sso/providers?tenant=%00` was a 500 on PostgreSQL (text cannot hold U+0000).
async fn a_nul_in_a_path_or_query_is_a_400_problem(b: Backend) {
    let app = spawn_app(b).await;
    app.get("/api/v1/auth/sso/providers?tenant=%00").await.assert_problem(400, "validation_failed");
    app.get("/api/v1/auth/sso/providers?tenant=acme%00x").await.assert_problem(400, "validation_failed");
    let admin = app.admin_token().await;
    let r = Reply::from(
        app.client.delete(app.url("/api/v1/admin/users/a%00b")).bearer_auth(&admin).send().await.expect("request"),
    )
    .await;
    r.assert_problem(400, "validation_failed");
    // The SSO callback still answers a malformed attempt with its redirect.
    let r = app.get("/api/v1/auth/sso/callback?code=x&state=a%00b").await;
    assert_eq!(r.status, 302, "{}", r.text);
    // `%2500` is a literal "%00", not a NUL.
    let r = app.get("/api/v1/auth/sso/providers?tenant=%2500").await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// A NUL inside a JSON string reached PostgreSQL and failed the query with a 500.
async fn a_nul_in_a_json_string_is_never_a_500(b: Backend) {
    let app = spawn_app(b).await;
    let r = app.login("acme", "a\u{0}@acme.example", "whatever-password").await;
    assert!(r.status.is_client_error(), "{} {}", r.status, r.text);
    assert!(r.body["code"] == "validation_failed" || r.body["code"] == "invalid_credentials", "unexpected {}", r.text);
    let r = app.post("/api/v1/auth/password/forgot", json!({"tenant": "acme", "email": "x\u{0}@acme.example"})).await;
    assert!(r.status.as_u16() < 500, "{} {}", r.status, r.text);
    let admin = app.admin_token().await;
    let (id, _, _) = app.create_agent(&admin, "nul").await;
    let r = Reply::from(
        app.client
            .patch(app.url(&format!("/api/v1/admin/users/{id}")))
            .bearer_auth(&admin)
            .json(&json!({"display_name": "a\u{0}b"}))
            .send()
            .await
            .expect("request"),
    )
    .await;
    // Refused as a field before either database sees it (SQLite stored it, PostgreSQL
    // refused the text): the same answer on both (issue 17, tests/tests/edges.rs).
    r.assert_problem(422, "validation_failed");
}

/// `TRACE /oauth/token` answered problem+json; under `/oauth/` errors are RFC 6749 JSON.
async fn a_wrong_method_under_oauth_is_rfc6749_json(b: Backend) {
    let app = spawn_app(b).await;
    for path in ["/oauth/token", "/oauth/introspect"] {
        let r = app.get(path).await;
        assert_eq!(r.status, 405, "{}", r.text);
        assert_eq!(r.header("allow"), Some("POST"));
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.body["error"], "invalid_request", "{}", r.text);
        assert!(r.body["error_description"].is_string());
    }
}

/// A client id with a NUL in HTTP Basic reached the database (a 500 on PostgreSQL).
async fn a_nul_in_a_basic_client_id_is_an_invalid_client(b: Backend) {
    let app = spawn_app(b).await;
    let basic = base64::engine::general_purpose::STANDARD.encode("svc\u{0}x:secret");
    let r = Reply::from(
        app.client
            .post(app.url("/oauth/token"))
            .header("authorization", format!("Basic {basic}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.body["error"], "invalid_client", "{}", r.text);
}

/// Two set-ups of one user at once both inserted the pending method: one hit the primary key
/// and answered 500. The last one wins now, as one after the other.
async fn concurrent_two_factor_setups_all_succeed(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "racer").await;
    let (token, _) = app.sign_in(&email, &password).await;
    for _ in 0..3 {
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..6 {
            let (client, url, token) = (app.client.clone(), app.url("/api/v1/me/2fa/totp/setup"), token.clone());
            calls.spawn(async move {
                Reply::from(client.post(url).bearer_auth(token).json(&json!({})).send().await.expect("request")).await
            });
        }
        while let Some(r) = calls.join_next().await {
            let r = r.expect("task");
            assert_eq!(r.status, 200, "{}", r.text);
        }
    }
    let status = app.get_auth("/api/v1/me/2fa", &token).await;
    assert_eq!(status.body["enabled"], false, "{}", status.text);
}

/// Every operation under `/api/` declares the errors its extractors and the bearer check can
/// give (the fuzzer met 400, 401, 403 and 422 answers the document did not list).
#[test]
fn every_api_operation_declares_the_common_errors() {
    let spec = serde_json::to_value(cloudcx_auth::openapi::spec()).unwrap();
    for (path, item) in spec["paths"].as_object().unwrap() {
        if !path.starts_with("/api/") {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            if responses.keys().any(|s| s.starts_with('3')) {
                continue; // the SSO callback redirects every outcome
            }
            let has = |code: &str| responses.contains_key(code);
            let bearer = op["security"].to_string().contains("\"bearer\"");
            let body = op.get("requestBody").is_some();
            let params = op["parameters"].as_array().is_some_and(|p| !p.is_empty());
            assert!(has("503"), "{method} {path}: 503");
            if bearer {
                assert!(has("401") && has("403"), "{method} {path}: 401/403");
            }
            if body {
                assert!(has("400") && has("413") && has("422"), "{method} {path}: 400/413/422");
            }
            if params {
                assert!(has("400"), "{method} {path}: 400");
            }
        }
    }
}
