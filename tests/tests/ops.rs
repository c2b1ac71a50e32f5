//! Operations and discovery: health, readiness, metrics, JWKS, discovery, docs, the SPA fallback.

use cloudcx_auth_tests::*;

both_databases!(
    health_and_readiness_answer,
    metrics_count_requests_by_route_and_sign_in_outcomes,
    metrics_are_refused_outside_the_allowed_addresses,
    the_jwks_publishes_the_current_and_previous_keys,
    the_discovery_document_names_the_endpoints,
    swagger_ui_is_served_without_internet_access,
    unknown_paths_outside_the_api_serve_the_spa_index,
    a_stop_returns_only_after_every_worker_let_go_of_the_app,
);

async fn health_and_readiness_answer(b: Backend) {
    let app = spawn_app(b).await;
    let h = app.get("/healthz").await;
    assert_eq!(h.status, 200);
    assert_eq!(h.body["status"], "ok");
    let r = app.get("/readyz").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ready");
}

async fn metrics_count_requests_by_route_and_sign_in_outcomes(b: Backend) {
    let app = spawn_app(b).await;
    app.admin_token().await;
    app.login(TENANT, ADMIN_EMAIL, "wrong-password-1").await;
    let m = app.get("/metrics").await;
    assert_eq!(m.status, 200);
    assert!(
        m.text.contains(r#"http_requests_total{method="POST",route="/api/v1/auth/login",status="200"} 1"#),
        "{}",
        m.text
    );
    assert!(m.text.contains(r#"http_requests_total{method="POST",route="/api/v1/auth/login",status="401"} 1"#));
    assert!(m.text.contains("http_request_duration_seconds_bucket"));
    assert!(m.text.contains(r#"auth_signin_total{outcome="success"} 1"#));
    assert!(m.text.contains(r#"auth_signin_total{outcome="invalid_credentials"} 1"#));
}

async fn metrics_are_refused_outside_the_allowed_addresses(b: Backend) {
    let app = spawn_app_with(b, |c| c.metrics_allow = vec!["10.0.0.0/8".parse().unwrap()]).await;
    let m = app.get("/metrics").await;
    assert_eq!(m.status, 403);
    assert!(!m.text.contains("http_requests_total"));
}

async fn the_jwks_publishes_the_current_and_previous_keys(b: Backend) {
    let previous = cloudcx_auth::auth::jwt::generate_p256_pem().unwrap();
    let p = previous.clone();
    let app = spawn_app_with(b, move |c| c.jwt_previous_key_pems = vec![cloudcx_auth::domain::Secret::new(p)]).await;
    let r = app.get("/.well-known/jwks.json").await;
    assert_eq!(r.status, 200);
    let keys = r.body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["alg"], "RS256");
    assert_eq!(keys[0]["use"], "sig");
    assert_eq!(keys[1]["kty"], "EC");
    assert_eq!(keys[1]["alg"], "ES256");
    assert!(keys.iter().all(|k| k.get("d").is_none()), "no private parts");
    let token = app.admin_token().await;
    let kid = {
        use base64::Engine;
        let h = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap();
        serde_json::from_slice::<serde_json::Value>(&h).unwrap()["kid"].clone()
    };
    assert_eq!(keys[0]["kid"], kid, "tokens are signed by the current key");

    // A token signed by the previous key (before the rotation) still verifies.
    let old_keys = cloudcx_auth::auth::jwt::KeySet::new(&previous, &[], app.address.clone(), "cloudcx".into()).unwrap();
    let mut claims: cloudcx_auth::auth::jwt::Claims = serde_json::from_value(claims_of(&token)).unwrap();
    claims.jti = uuid::Uuid::new_v4().to_string();
    let old_token = old_keys.sign(&claims).unwrap();
    assert_eq!(app.get_auth("/api/v1/me", &old_token).await.status, 200);
}

async fn the_discovery_document_names_the_endpoints(b: Backend) {
    let app = spawn_app(b).await;
    let r = app.get("/.well-known/openid-configuration").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["issuer"], app.address);
    assert_eq!(r.body["jwks_uri"], app.url("/.well-known/jwks.json"));
    assert_eq!(r.body["token_endpoint"], app.url("/oauth/token"));
    assert_eq!(r.body["introspection_endpoint"], app.url("/oauth/introspect"));
}

async fn swagger_ui_is_served_without_internet_access(b: Backend) {
    let app = spawn_app(b).await;
    let redirect = app.get("/docs").await;
    assert!(redirect.status.is_redirection());
    let page = app.get("/docs/").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("swagger-ui"), "{}", page.text);
    assert!(!page.text.contains("https://"), "no asset from the internet: {}", page.text);
    let bundle = app.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status, 200);
    assert!(bundle.text.len() > 100_000);
    let spec = app.get("/api-docs/openapi.json").await;
    assert_eq!(spec.status, 200);
    assert_eq!(spec.header("content-type"), Some("application/json"));
    assert!(spec.body["openapi"].as_str().unwrap().starts_with("3.1"));
    // The page explores the document the service serves, which is the one the code describes.
    let init = app.get("/docs/swagger-initializer.js").await;
    assert_eq!(init.status, 200);
    assert!(init.text.contains("/api-docs/openapi.json"), "{}", init.text);
    assert_eq!(spec.body, serde_json::to_value(cloudcx_auth::openapi::spec()).unwrap());
}

async fn unknown_paths_outside_the_api_serve_the_spa_index(b: Backend) {
    let dir = std::env::temp_dir().join(format!("cx-web-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><div id=root>spa</div>").unwrap();
    std::fs::write(dir.join("assets/app.js"), "console.log(1)").unwrap();
    let d = dir.clone();
    let app = spawn_app_with(b, move |c| c.web_dir = d).await;
    for path in ["/", "/settings/security", "/reset-password?token=x"] {
        let r = app.get(path).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.text.contains("id=root"), "{path}: {}", r.text);
    }
    let js = app.get("/assets/app.js").await;
    assert_eq!(js.status, 200);
    assert_eq!(js.text, "console.log(1)");
    assert!(
        app.get("/../../etc/passwd").await.text.contains("id=root") || app.get("/../../etc/passwd").await.status == 404
    );
    app.get("/api/v1/unknown").await.assert_problem(404, "not_found");
    let _ = std::fs::remove_dir_all(dir);
}

/// A stop returns once every worker thread has dropped its app, and with it its hold on the
/// database pool: whatever runs next (the next test, the process's exit) never overlaps a worker
/// still tearing its app down. `serve` waits the same way after SIGTERM.
async fn a_stop_returns_only_after_every_worker_let_go_of_the_app(b: Backend) {
    let app = spawn_app(b).await;
    // Requests on fresh connections, so that every worker has served one and used the pool.
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let url = app.url("/readyz");
        requests.spawn(async move { reqwest::Client::new().get(url).send().await.expect("request").status() });
    }
    while let Some(status) = requests.join_next().await {
        assert_eq!(status.expect("request task"), 200);
    }

    let stopper = app.stopper().clone();
    let released = tokio::task::spawn_blocking(move || stopper.stop_and_wait()).await.expect("stop");
    assert!(released, "the workers still held the app 5 s after the stop");
    assert!(std::net::TcpStream::connect(("127.0.0.1", app.port)).is_err(), "still accepting after the stop");
}
