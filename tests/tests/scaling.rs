//! Several instances, one PostgreSQL database: every request of a journey goes to a different
//! instance, and the shared state (replay guards, guess budgets, refresh families, SSO attempts,
//! revocations) holds across them.

use cloudcx_auth::auth::totp;
use cloudcx_auth_tests::hostile_idp::HostileIdp;
use cloudcx_auth_tests::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_share_every_piece_of_security_state() {
    let (_db, apps) = spawn_instances(3).await;
    let (a, b, c) = (&apps[0], &apps[1], &apps[2]);

    // All publish the same keys.
    let jwks: Vec<_> = [a, b, c].iter().map(|x| x.get("/.well-known/jwks.json")).collect();
    let mut bodies = Vec::new();
    for j in jwks {
        bodies.push(j.await.body);
    }
    assert!(bodies.iter().all(|x| x == &bodies[0]));

    // A token issued by one is accepted by the others, and revoked everywhere at once.
    let r = a.login(TENANT, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (admin, admin_rt) =
        (r.body["access_token"].as_str().unwrap().to_string(), r.body["refresh_token"].as_str().unwrap().to_string());
    assert_eq!(b.get_auth("/api/v1/me", &admin).await.status, 200);

    // A refresh token rotated on one cannot be re-used on another.
    let rotated =
        b.post("/api/v1/auth/token/refresh", json!({"refresh_token": admin_rt, "token_delivery": "body"})).await;
    assert_eq!(rotated.status, 200);
    c.post("/api/v1/auth/token/refresh", json!({"refresh_token": admin_rt, "token_delivery": "body"}))
        .await
        .assert_problem(401, "invalid_refresh_token");
    // …and that re-use ended the family: at once on the instance that saw it, within a second on
    // the others (docs/SCALING.md; tests/tests/revocation.rs measures it under load).
    let rotated_access = rotated.body["access_token"].as_str().unwrap();
    c.get_auth("/api/v1/me", rotated_access).await.assert_problem(401, "unauthenticated");
    for x in [a, b] {
        refused_within_a_second(x, rotated_access).await;
    }

    let admin = b.admin_token().await;
    let (_, email, password) = c.create_agent(&admin, "rex").await;
    let (token, _) = a.sign_in(&email, &password).await;
    let setup = b.post_auth("/api/v1/me/2fa/totp/setup", &token, json!({})).await;
    let secret = totp::decode_secret(setup.body["secret"].as_str().unwrap()).unwrap();
    // Confirm with the previous step's code (once more if a step boundary fell in between).
    let mut step = 0;
    for attempt in 0..2 {
        step = totp::step_of(a.clock_now());
        let code = totp::code_at_step(&secret, step - 1);
        let r = c.post_auth("/api/v1/me/2fa/totp/confirm", &token, json!({ "code": code })).await;
        if r.status == 200 {
            break;
        }
        assert_eq!(attempt, 0, "{}", r.text);
    }

    // A TOTP code accepted by one instance is refused by the others.
    let code = totp::code_at_step(&secret, step);
    let mut accepted = 0;
    for x in [a, b, c] {
        let t = x.login(TENANT, &email, &password).await.body["mfa_token"].as_str().unwrap().to_string();
        let r =
            x.post("/api/v1/auth/mfa/verify", json!({"mfa_token": t, "code": code, "token_delivery": "body"})).await;
        if r.status == 200 {
            accepted += 1;
        } else {
            r.assert_problem(401, "invalid_code");
        }
    }
    assert_eq!(accepted, 1);

    // The guess budget is shared: wrong codes spread over three instances lock everywhere
    // (the two refused replays above already counted).
    let mut n = 0;
    'guess: loop {
        for x in [a, b, c] {
            let t = x.login(TENANT, &email, &password).await.body["mfa_token"].as_str().unwrap().to_string();
            let r = x.post("/api/v1/auth/mfa/verify", json!({"mfa_token": t, "code": "000007"})).await;
            if r.status == 429 {
                break 'guess;
            }
            r.assert_problem(401, "invalid_code");
            n += 1;
            assert!(n <= 5, "no lock after {n} wrong codes");
        }
    }
    for x in [a, b, c] {
        let t = x.login(TENANT, &email, &password).await.body["mfa_token"].as_str().unwrap().to_string();
        x.post("/api/v1/auth/mfa/verify", json!({"mfa_token": t, "code": "000008"}))
            .await
            .assert_problem(429, "too_many_attempts");
    }

    // An SSO attempt started on one completes on another, exactly once.
    let idp = HostileIdp::start("multi").await;
    let created = a
        .post_auth(
            "/api/v1/admin/sso-providers",
            &admin,
            json!({"kind": "oidc", "display_name": "Okta", "client_id": "multi", "client_secret": "s", "issuer": idp.discovery_base()}),
        )
        .await;
    let pid = created.body["id"].as_str().unwrap().to_string();
    let browser =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let auth = browser
        .post(a.url(&format!("/api/v1/auth/sso/{pid}/authorize")))
        .json(&json!({"intent": "login"}))
        .send()
        .await
        .unwrap();
    let url: serde_json::Value = auth.json().await.unwrap();
    let back =
        cloudcx_auth_tests::oidc::login_at_provider(&browser, url["authorization_url"].as_str().unwrap(), "x").await;
    // The provider redirects to the public URL; the load balancer sends it to B.
    assert!(back.starts_with(LOAD_BALANCER_URL), "{back}");
    let on_b = back.replace(LOAD_BALANCER_URL, &b.address);
    let first = browser.get(&on_b).send().await.unwrap();
    let location = first.headers()["location"].to_str().unwrap().to_string();
    let result = location.split("result=").nth(1).unwrap().to_string();
    let done = Reply::from(
        browser.post(c.url("/api/v1/auth/sso/complete")).json(&json!({"result": result})).send().await.unwrap(),
    )
    .await;
    assert_eq!(done.body["status"], "not_connected", "{}", done.text);
    let on_c = back.replace(LOAD_BALANCER_URL, &c.address);
    let replay = browser.get(&on_c).send().await.unwrap();
    let location = replay.headers()["location"].to_str().unwrap().to_string();
    let result = location.split("result=").nth(1).unwrap().to_string();
    let again = Reply::from(
        browser.post(a.url("/api/v1/auth/sso/complete")).json(&json!({"result": result})).send().await.unwrap(),
    )
    .await;
    again.assert_problem(400, "sso_failed");

    // A logout on one instance is seen by it at once, and by the others within a second.
    let (t2, rt2) = c.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(a.post("/api/v1/auth/logout", json!({"refresh_token": rt2})).await.status, 204);
    a.get_auth("/api/v1/me", &t2).await.assert_problem(401, "unauthenticated");
    for x in [b, c] {
        refused_within_a_second(x, &t2).await;
    }
}

/// `token` is refused by `app` within a second (and stays refused).
async fn refused_within_a_second(app: &TestApp, token: &str) {
    let started = std::time::Instant::now();
    loop {
        let r = app.get_auth("/api/v1/me", token).await;
        if r.status == 401 {
            r.assert_problem(401, "unauthenticated");
            return;
        }
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "still accepted after a second");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}
