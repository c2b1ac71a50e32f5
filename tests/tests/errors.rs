//! Every failure under the API is problem+json with a stable code.

use cloudcx_auth_tests::*;
use serde_json::json;

both_databases!(
    malformed_json_is_a_400_problem,
    a_wrong_content_type_is_a_400_problem,
    missing_and_invalid_fields_are_a_422_problem_naming_them,
    an_unknown_api_route_is_a_404_problem,
    a_known_path_with_another_method_is_a_405_problem_with_allow,
    a_body_over_64_kib_is_a_413_problem,
    a_bad_query_is_a_400_problem,
    a_password_over_128_characters_is_refused_before_hashing,
    missing_or_garbage_bearer_tokens_are_unauthenticated,
);

async fn malformed_json_is_a_400_problem(b: Backend) {
    let app = spawn_app(b).await;
    let r = Reply::from(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("content-type", "application/json")
            .body("{\"tenant\": ")
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.assert_problem(400, "validation_failed");
}

async fn a_wrong_content_type_is_a_400_problem(b: Backend) {
    let app = spawn_app(b).await;
    let r = Reply::from(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("content-type", "text/plain")
            .body(r#"{"tenant":"acme","email":"a@b.co","password":"x"}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.assert_problem(400, "validation_failed");
    let r = Reply::from(
        app.client
            .post(app.url("/api/v1/auth/token/refresh"))
            .header("content-type", "text/plain")
            .body("x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.assert_problem(400, "validation_failed");
}

async fn missing_and_invalid_fields_are_a_422_problem_naming_them(b: Backend) {
    let app = spawn_app(b).await;
    let r = app.post("/api/v1/auth/login", json!({"tenant": "acme", "password": "x"})).await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "email");
    let r = app.post("/api/v1/auth/login", json!({"tenant": "acme", "email": "not-an-email", "password": "pw"})).await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "email");
    assert!(r.body["errors"][0]["message"].is_string());
    let r = app.post("/api/v1/auth/login", json!({"tenant": "ac me", "email": "a@b.co", "password": ""})).await;
    r.assert_problem(422, "validation_failed");
    let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["tenant", "password"]);
    let r = app.post("/api/v1/auth/login", json!({"tenant": 5, "email": "a@b.co", "password": "x"})).await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "body");
}

async fn an_unknown_api_route_is_a_404_problem(b: Backend) {
    let app = spawn_app(b).await;
    app.get("/api/v1/nothing-here").await.assert_problem(404, "not_found");
    app.get("/api/v1/auth/nothing").await.assert_problem(404, "not_found");
    app.get("/.well-known/nothing").await.assert_problem(404, "not_found");
    let oauth = app.get("/oauth/nothing").await;
    assert_eq!(oauth.status, 404);
    assert!(oauth.body["error"].is_string(), "RFC 6749 shape under /oauth: {}", oauth.text);
}

async fn a_known_path_with_another_method_is_a_405_problem_with_allow(b: Backend) {
    let app = spawn_app(b).await;
    let r = app.get("/api/v1/auth/login").await;
    r.assert_problem(405, "method_not_allowed");
    assert_eq!(r.header("allow"), Some("POST"));
    let r = Reply::from(app.client.delete(app.url("/api/v1/admin/users")).send().await.unwrap()).await;
    r.assert_problem(405, "method_not_allowed");
    assert_eq!(r.header("allow"), Some("GET, POST"));
}

async fn a_body_over_64_kib_is_a_413_problem(b: Backend) {
    let app = spawn_app(b).await;
    let big = "x".repeat(65 * 1024);
    app.post("/api/v1/auth/login", json!({"tenant": "acme", "email": "a@b.co", "password": big}))
        .await
        .assert_problem(413, "payload_too_large");
    app.post("/api/v1/auth/token/refresh", json!({"refresh_token": big}))
        .await
        .assert_problem(413, "payload_too_large");
}

async fn a_bad_query_is_a_400_problem(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    app.get_auth("/api/v1/admin/audit-events?limit=many", &admin).await.assert_problem(400, "validation_failed");
    app.get_auth("/api/v1/admin/audit-events?limit=0", &admin).await.assert_problem(422, "validation_failed");
    app.get_auth("/api/v1/admin/audit-events?since=yesterday", &admin).await.assert_problem(422, "validation_failed");
}

async fn a_password_over_128_characters_is_refused_before_hashing(b: Backend) {
    let app = spawn_app(b).await;
    let r = app.login(TENANT, ADMIN_EMAIL, &"p".repeat(129)).await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "password");
}

async fn missing_or_garbage_bearer_tokens_are_unauthenticated(b: Backend) {
    let app = spawn_app(b).await;
    let r = app.get("/api/v1/me").await;
    r.assert_problem(401, "unauthenticated");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    app.get_auth("/api/v1/me", "garbage").await.assert_problem(401, "unauthenticated");
    let r = Reply::from(
        app.client.get(app.url("/api/v1/me")).header("authorization", "Basic Zm9vOmJhcg==").send().await.unwrap(),
    )
    .await;
    r.assert_problem(401, "unauthenticated");
}

/// PostgreSQL only: an embedded SQLite file cannot become unreachable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_answers_503_quickly() {
    let mut app = spawn_app(Backend::Postgres).await;
    assert_eq!(app.get("/readyz").await.status, 200);
    let token = app.admin_token().await;
    // Take the database away under the running service: its connections are killed.
    app.db.drop_now();
    let started = std::time::Instant::now();
    app.get("/readyz").await.assert_problem(503, "service_unavailable");
    assert_eq!(app.get("/healthz").await.status, 200, "the process is still up");
    app.get_auth("/api/v1/me", &token).await.assert_problem(503, "service_unavailable");
    app.login(TENANT, ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_problem(503, "service_unavailable");
    assert!(started.elapsed() < std::time::Duration::from_secs(15), "fails fast: {:?}", started.elapsed());
}

/// PostgreSQL only. A connection the server ends (a restart, an administrator, a pooler's
/// timeout) is replaced. One used in the last half second is handed out untested (the alive
/// bypass): its request may answer 503 once, never 500, and the connection is then thrown away.
/// One idle for longer is tested at check-out, so no request sees it fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_the_database_ends_are_replaced_without_a_500() {
    use diesel::RunQueryDsl;
    let app = spawn_app(Backend::Postgres).await;
    let token = app.admin_token().await;
    let cloudcx_auth::db::DbTarget::Postgres(url) = app.db.target.clone() else { unreachable!() };
    let end_the_services_connections = || {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            let mut admin = cloudcx_auth::db::pg_establish(&url).expect("connect");
            #[derive(diesel::QueryableByName)]
            struct Backend {
                #[diesel(sql_type = diesel::sql_types::Integer)]
                pid: i32,
            }
            let ended: Vec<Backend> = diesel::sql_query(
                "WITH others AS MATERIALIZED (SELECT pid FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()) \
                 SELECT pid FROM others WHERE pg_terminate_backend(pid)",
            )
            .load(&mut admin)
            .expect("terminate");
            // The signal is sent; a connection the test calls ended must not answer one more
            // statement, so wait (a few milliseconds) until those backends are gone.
            let pids = ended.iter().map(|b| b.pid.to_string()).collect::<Vec<_>>().join(",");
            let started = std::time::Instant::now();
            while !pids.is_empty() {
                let left = diesel::sql_query(format!("SELECT pid FROM pg_stat_activity WHERE pid IN ({pids})"))
                    .load::<Backend>(&mut admin)
                    .expect("look");
                if left.is_empty() {
                    break;
                }
                assert!(started.elapsed() < std::time::Duration::from_secs(5), "the ended backends are still there");
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        })
    };
    // Requests at the same moment, so that several pooled connections are in use.
    let me_together = |n: usize| {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let request = app.client.get(app.url("/api/v1/me")).bearer_auth(&token);
                tokio::spawn(async move { Reply::from(request.send().await.expect("request")).await })
            })
            .collect();
        async move {
            let mut replies = Vec::new();
            for task in tasks {
                replies.push(task.await.expect("task"));
            }
            replies
        }
    };

    // Right after their last use: the bypass hands out a dead connection once, then every request is served.
    for r in me_together(8).await {
        assert_eq!(r.status, 200, "{}", r.text);
    }
    // Eight connections that all worked a moment ago (each held by its own step at the same time),
    // so that eight would be handed out untested if nothing noticed that the database ended them.
    let steps: Vec<_> = (0..8)
        .map(|_| {
            let db = app.state.db.clone();
            tokio::spawn(async move {
                db.run(|conn| {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    diesel::sql_query("SELECT 1").execute(conn).map_err(cloudcx_auth::db::DbError::from)
                })
                .await
            })
        })
        .collect();
    for step in steps {
        step.await.expect("task").expect("a pooled connection worked");
    }
    end_the_services_connections().await.expect("terminate");
    let mut statuses = Vec::new();
    for _ in 0..40 {
        let r = app.get_auth("/api/v1/me", &token).await;
        if r.status != 200 {
            r.assert_problem(503, "service_unavailable");
        }
        statuses.push(r.status.as_u16());
    }
    // The first dead connection found has every other one that worked before it tested too,
    // so one request fails, not one per pooled connection.
    let failed = statuses.iter().filter(|s| **s != 200).count();
    assert!(failed <= 1, "one failure, not one per pooled connection: {statuses:?}");
    assert!(statuses[1..].iter().all(|s| *s == 200), "{statuses:?}");

    // Idle for longer than the bypass window: tested at check-out, replaced, nothing fails.
    for r in me_together(8).await {
        assert_eq!(r.status, 200, "{}", r.text);
    }
    end_the_services_connections().await.expect("terminate");
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    for r in me_together(8).await {
        assert_eq!(r.status, 200, "{}", r.text);
    }
}
