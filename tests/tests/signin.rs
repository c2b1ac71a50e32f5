//! Password sign-in, lock-out, refresh rotation and families, logout, re-authentication.

use cloudcx_auth_tests::*;
use serde_json::json;

both_databases!(
    a_correct_password_signs_in_with_the_contract_claims,
    unknown_user_unknown_site_wrong_password_and_disabled_user_get_identical_answers,
    ten_failed_passwords_lock_the_account_and_a_success_resets_the_count,
    an_unknown_account_is_locked_exactly_like_a_real_one,
    a_refresh_rotates_the_token_on_every_use,
    a_reused_refresh_token_revokes_its_whole_family,
    two_concurrent_refreshes_of_one_token_succeed_once,
    a_family_dies_after_two_idle_hours,
    a_family_dies_twelve_hours_after_sign_in_even_when_used,
    the_refresh_cookie_is_http_only_strict_and_scoped,
    the_refresh_cookie_is_only_accepted_with_our_origin,
    logout_ends_the_session_and_revokes_its_access_tokens,
    reauth_needs_the_password_and_refreshes_auth_time,
    the_per_address_sign_in_budget_answers_429_with_retry_after,
    x_forwarded_for_counts_only_behind_a_trusted_proxy,
);

async fn a_correct_password_signs_in_with_the_contract_claims(b: Backend) {
    let app = spawn_app(b).await;
    let r = app.login(TENANT, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "authenticated");
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 900);
    assert!(r.body["refresh_token"].as_str().is_some_and(|t| t.len() >= 43), "≥ 256 bits");
    assert!(r.set_cookies().is_empty(), "body delivery sets no cookie");

    let token = r.body["access_token"].as_str().unwrap();
    let header: serde_json::Value = {
        use base64::Engine;
        let h = token.split('.').next().unwrap();
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap()
    };
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "at+jwt");
    assert!(header["kid"].is_string());
    let c = claims_of(token);
    assert_eq!(c["iss"], app.address);
    assert_eq!(c["aud"], "cloudcx");
    assert_eq!(c["role"], "admin");
    assert_eq!(c["amr"], json!(["pwd"]));
    assert_eq!(c["acr"], "aal1");
    for claim in ["sub", "exp", "iat", "nbf", "jti", "tid", "auth_time"] {
        assert!(!c[claim].is_null(), "{claim} missing");
    }
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 900);
    assert!(c.get("mfa_setup_required").is_none());

    let me = app.get_auth("/api/v1/me", token).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["email"], ADMIN_EMAIL);
    assert_eq!(me.body["role"], "admin");
    assert_eq!(me.body["tenant"]["slug"], TENANT);
    assert_eq!(me.body["mfa_setup_required"], false);
    assert_eq!(me.body["id"], c["sub"]);
    assert_eq!(me.body["tenant"]["id"], c["tid"]);

    // E-mail and site are matched whatever their case and spacing.
    let again = app.login(" ACME ", " Admin@Acme.Example ", ADMIN_PASSWORD).await;
    assert_eq!(again.status, 200, "{}", again.text);
    let admin = app.admin_token().await;
    assert!(!app.audit(&admin, "sign_in_succeeded").await.is_empty());
}

async fn unknown_user_unknown_site_wrong_password_and_disabled_user_get_identical_answers(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, email, password) = app.create_agent(&admin, "dora").await;
    // Disabled through the database: the admin endpoint for it belongs to the lifecycle work.
    app.with_db(move |conn| {
        use cloudcx_auth::db::schema::users;
        use diesel::prelude::*;
        diesel::update(users::table.find(id)).set(users::disabled.eq(true)).execute(conn)
    })
    .await;

    let answers = [
        app.login(TENANT, ADMIN_EMAIL, "wrong-password-1").await,
        app.login(TENANT, "nobody@acme.example", "wrong-password-1").await,
        app.login("no-such-site", ADMIN_EMAIL, "wrong-password-1").await,
        app.login(TENANT, &email, &password).await,
    ];
    for a in &answers {
        a.assert_problem(401, "invalid_credentials");
    }
    let first = &answers[0].body;
    for a in &answers[1..] {
        assert_eq!(&a.body, first, "bodies must be identical");
        assert_eq!(a.header("www-authenticate"), answers[0].header("www-authenticate"));
    }
}

async fn ten_failed_passwords_lock_the_account_and_a_success_resets_the_count(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "lina").await;

    // Nine failures, then a success: the count starts again.
    for _ in 0..9 {
        app.login(TENANT, &email, "not-her-password").await.assert_problem(401, "invalid_credentials");
    }
    assert_eq!(app.login(TENANT, &email, &password).await.status, 200);
    for _ in 0..9 {
        app.login(TENANT, &email, "not-her-password").await.assert_problem(401, "invalid_credentials");
    }
    assert_eq!(app.login(TENANT, &email, &password).await.status, 200, "9 failures after a reset do not lock");

    for _ in 0..10 {
        app.login(TENANT, &email, "not-her-password").await.assert_problem(401, "invalid_credentials");
    }
    // Locked: even the right password is refused, with a Retry-After.
    let locked = app.login(TENANT, &email, &password).await;
    locked.assert_problem(429, "too_many_attempts");
    let retry: i64 = locked.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    let users = app.get_auth("/api/v1/admin/users", &admin).await;
    let lina = users.body["users"].as_array().unwrap().iter().find(|u| u["email"] == email.as_str()).unwrap().clone();
    assert_eq!(lina["locked"], true);
    assert!(!app.audit(&admin, "account_locked").await.is_empty());

    // The lock lifts after its delay; the next failure locks again, for longer.
    app.clock.advance(31);
    app.login(TENANT, &email, "not-her-password").await.assert_problem(401, "invalid_credentials");
    let longer = app.login(TENANT, &email, &password).await;
    longer.assert_problem(429, "too_many_attempts");
    let retry2: i64 = longer.header("retry-after").unwrap().parse().unwrap();
    assert!(retry2 > 30, "the delay grows: {retry2}");

    app.clock.advance(retry2 + 1);
    assert_eq!(app.login(TENANT, &email, &password).await.status, 200, "success after the lock");
    app.login(TENANT, &email, "not-her-password").await.assert_problem(401, "invalid_credentials");
}

async fn an_unknown_account_is_locked_exactly_like_a_real_one(b: Backend) {
    let app = spawn_app(b).await;
    for _ in 0..10 {
        app.login(TENANT, "ghost@acme.example", "whatever-it-is").await.assert_problem(401, "invalid_credentials");
    }
    let r = app.login(TENANT, "ghost@acme.example", "whatever-it-is").await;
    r.assert_problem(429, "too_many_attempts");
    assert!(r.header("retry-after").is_some());
    // Another account is not affected.
    assert_eq!(app.login(TENANT, ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 200);
}

async fn refresh(app: &TestApp, token: &str) -> Reply {
    app.post("/api/v1/auth/token/refresh", json!({"refresh_token": token, "token_delivery": "body"})).await
}

async fn a_refresh_rotates_the_token_on_every_use(b: Backend) {
    let app = spawn_app(b).await;
    let (access, rt1) = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let r = refresh(&app, &rt1).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let rt2 = r.body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt1, rt2);
    let new_access = r.body["access_token"].as_str().unwrap();
    // The session keeps its sign-in time, methods and everything else but the token's own id.
    let (before, after) = (claims_of(&access), claims_of(new_access));
    for claim in ["iss", "aud", "sub", "tid", "role", "auth_time", "amr", "acr", "sid"] {
        assert_eq!(after[claim], before[claim], "{claim}");
    }
    assert!(after.get("mfa_setup_required").is_none());
    assert_ne!(after["jti"], before["jti"]);
    assert_eq!(after["exp"].as_i64().unwrap() - after["iat"].as_i64().unwrap(), 900);
    let r3 = refresh(&app, &rt2).await;
    assert_eq!(r3.status, 200, "{}", r3.text);
    refresh(&app, "not-a-token").await.assert_problem(401, "invalid_refresh_token");
    refresh(&app, &"A".repeat(43)).await.assert_problem(401, "invalid_refresh_token");
}

async fn a_reused_refresh_token_revokes_its_whole_family(b: Backend) {
    let app = spawn_app(b).await;
    let (_, rt1) = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (other_access, other_rt) = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let r = refresh(&app, &rt1).await;
    let rt2 = r.body["refresh_token"].as_str().unwrap().to_string();
    let access2 = r.body["access_token"].as_str().unwrap().to_string();
    assert_eq!(app.get_auth("/api/v1/me", &access2).await.status, 200);

    // An attacker replays the spent token: the family dies, the legitimate holder's too.
    refresh(&app, &rt1).await.assert_problem(401, "invalid_refresh_token");
    refresh(&app, &rt2).await.assert_problem(401, "invalid_refresh_token");
    app.get_auth("/api/v1/me", &access2).await.assert_problem(401, "unauthenticated");

    // Another session of the same user lives on.
    assert_eq!(app.get_auth("/api/v1/me", &other_access).await.status, 200);
    assert_eq!(refresh(&app, &other_rt).await.status, 200);
    let admin = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.0;
    assert_eq!(app.audit(&admin, "refresh_token_reused").await.len(), 1);
}

async fn two_concurrent_refreshes_of_one_token_succeed_once(b: Backend) {
    let app = spawn_app(b).await;
    let (_, rt) = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let attempts = (0..8).map(|_| refresh(&app, &rt));
    let replies = futures_join_all(attempts).await;
    let ok = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 1, "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    for r in replies.iter().filter(|r| r.status != 200) {
        r.assert_problem(401, "invalid_refresh_token");
    }
}

async fn futures_join_all<F: std::future::Future<Output = Reply>>(futs: impl Iterator<Item = F>) -> Vec<Reply> {
    let handles: Vec<_> = futs.collect();
    let mut out = Vec::new();
    // Poll them together so they race in the server.
    let joined = futures_util_join(handles).await;
    out.extend(joined);
    out
}

async fn futures_util_join<F: std::future::Future<Output = Reply>>(futs: Vec<F>) -> Vec<Reply> {
    let mut set = Vec::new();
    for f in futs {
        set.push(Box::pin(f));
    }
    let mut results: Vec<Option<Reply>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if results[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(r) => results[i] = Some(r),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    results.into_iter().map(|r| r.expect("done")).collect()
}

async fn a_family_dies_after_two_idle_hours(b: Backend) {
    let app = spawn_app(b).await;
    let (_, rt) = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    app.clock.advance(119 * 60);
    let r = refresh(&app, &rt).await;
    assert_eq!(r.status, 200, "used within two hours: {}", r.text);
    let rt2 = r.body["refresh_token"].as_str().unwrap().to_string();
    app.clock.advance(120 * 60 + 1);
    refresh(&app, &rt2).await.assert_problem(401, "invalid_refresh_token");
}

async fn a_family_dies_twelve_hours_after_sign_in_even_when_used(b: Backend) {
    let app = spawn_app(b).await;
    let (_, mut rt) = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for _ in 0..7 {
        app.clock.advance(100 * 60);
        let r = refresh(&app, &rt).await;
        assert_eq!(r.status, 200, "{}", r.text);
        rt = r.body["refresh_token"].as_str().unwrap().to_string();
    }
    app.clock.advance(100 * 60); // 800 minutes after sign-in
    refresh(&app, &rt).await.assert_problem(401, "invalid_refresh_token");
}

fn cookie_named<'a>(cookies: &'a [String], name: &str) -> &'a str {
    cookies.iter().find(|c| c.starts_with(&format!("{name}="))).map(String::as_str).expect("cookie set")
}

async fn the_refresh_cookie_is_http_only_strict_and_scoped(b: Backend) {
    let app = spawn_app(b).await;
    let r = app
        .post("/api/v1/auth/login", json!({"tenant": TENANT, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body.get("refresh_token").is_none(), "never in the body by default");
    let cookies = r.set_cookies();
    let c = cookie_named(&cookies, "cx_refresh");
    assert!(c.contains("HttpOnly"), "{c}");
    assert!(c.contains("SameSite=Strict"), "{c}");
    assert!(c.contains("Path=/api/v1/auth"), "{c}");
    assert!(c.contains("Max-Age=43200"), "{c}");
    assert!(!c.contains("Secure"), "plain http on 127.0.0.1 drops Secure: {c}");

    let secure = spawn_app_with(b, |c| c.public_url = Some("https://auth.example.com".into())).await;
    let r = secure
        .post("/api/v1/auth/login", json!({"tenant": TENANT, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .await;
    assert!(cookie_named(&r.set_cookies(), "cx_refresh").contains("Secure"));
}

async fn the_refresh_cookie_is_only_accepted_with_our_origin(b: Backend) {
    let app = spawn_app(b).await;
    let r = app
        .post("/api/v1/auth/login", json!({"tenant": TENANT, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .await;
    assert_eq!(r.status, 200);
    // The client's cookie jar holds cx_refresh now.
    let no_origin = Reply::from(app.client.post(app.url("/api/v1/auth/token/refresh")).send().await.unwrap()).await;
    no_origin.assert_problem(403, "forbidden");
    let evil = Reply::from(
        app.client
            .post(app.url("/api/v1/auth/token/refresh"))
            .header("Origin", "https://evil.example")
            .send()
            .await
            .unwrap(),
    )
    .await;
    evil.assert_problem(403, "forbidden");
    let ours = Reply::from(
        app.client
            .post(app.url("/api/v1/auth/token/refresh"))
            .header("Origin", app.address.as_str())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ours.status, 200, "{}", ours.text);
    assert!(ours.body.get("refresh_token").is_none());
    assert!(cookie_named(&ours.set_cookies(), "cx_refresh").contains("HttpOnly"));

    // Logout with the cookie also needs the origin, and clears the cookie.
    let out = Reply::from(app.client.post(app.url("/api/v1/auth/logout")).send().await.unwrap()).await;
    out.assert_problem(403, "forbidden");
    let out = Reply::from(
        app.client.post(app.url("/api/v1/auth/logout")).header("Origin", app.address.as_str()).send().await.unwrap(),
    )
    .await;
    assert_eq!(out.status, 204);
    assert!(cookie_named(&out.set_cookies(), "cx_refresh").contains("Max-Age=0"));
}

async fn logout_ends_the_session_and_revokes_its_access_tokens(b: Backend) {
    let app = spawn_app(b).await;
    let (access, rt) = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (other_access, _) = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let r = app.post("/api/v1/auth/logout", json!({"refresh_token": rt})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    app.get_auth("/api/v1/me", &access).await.assert_problem(401, "unauthenticated");
    refresh(&app, &rt).await.assert_problem(401, "invalid_refresh_token");
    assert_eq!(app.get_auth("/api/v1/me", &other_access).await.status, 200, "other sessions live on");

    // Bearer only: that session ends too.
    let r =
        Reply::from(app.client.post(app.url("/api/v1/auth/logout")).bearer_auth(&other_access).send().await.unwrap())
            .await;
    assert_eq!(r.status, 204);
    app.get_auth("/api/v1/me", &other_access).await.assert_problem(401, "unauthenticated");
    let admin = app.admin_token().await;
    assert_eq!(app.audit(&admin, "signed_out").await.len(), 2);
}

async fn reauth_needs_the_password_and_refreshes_auth_time(b: Backend) {
    let app = spawn_app(b).await;
    let (access, rt) = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let before = claims_of(&access)["auth_time"].as_i64().unwrap();
    app.clock.advance(11 * 60);
    app.post_auth("/api/v1/auth/reauth", &access, json!({"password": "wrong-password-9"}))
        .await
        .assert_problem(403, "invalid_credentials");
    let r = app
        .post_auth("/api/v1/auth/reauth", &access, json!({"password": ADMIN_PASSWORD, "token_delivery": "body"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let fresh = r.body["access_token"].as_str().unwrap();
    assert!(claims_of(fresh)["auth_time"].as_i64().unwrap() >= before + 11 * 60);
    assert_eq!(claims_of(fresh)["sid"], claims_of(&access)["sid"], "same session");
    // The refresh token was rotated: the old one is spent (and replaying it ends the family).
    let new_rt = r.body["refresh_token"].as_str().unwrap();
    assert_ne!(new_rt, rt);
    let r2 = refresh(&app, new_rt).await;
    assert_eq!(r2.status, 200);
    assert_eq!(claims_of(r2.body["access_token"].as_str().unwrap())["auth_time"], claims_of(fresh)["auth_time"]);
    app.post("/api/v1/auth/reauth", json!({"password": ADMIN_PASSWORD})).await.assert_problem(401, "unauthenticated");
}

async fn the_per_address_sign_in_budget_answers_429_with_retry_after(b: Backend) {
    let app = spawn_app_with(b, |c| c.signin_per_ip_per_min = 3).await;
    for _ in 0..3 {
        app.login(TENANT, ADMIN_EMAIL, "wrong-password-1").await.assert_problem(401, "invalid_credentials");
    }
    let r = app.login(TENANT, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    r.assert_problem(429, "too_many_attempts");
    let retry: i64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    app.clock.advance(61);
    assert_eq!(app.login(TENANT, ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 200, "a new minute, a new budget");
}

async fn x_forwarded_for_counts_only_behind_a_trusted_proxy(b: Backend) {
    let login = |app: &TestApp, xff: &'static str| {
        let req = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("X-Forwarded-For", xff)
            .json(&json!({"tenant": TENANT, "email": ADMIN_EMAIL, "password": "wrong-password-1"}));
        async move { Reply::from(req.send().await.unwrap()).await }
    };
    // Untrusted peer: the header is ignored, every request counts against 127.0.0.1.
    let app = spawn_app_with(b, |c| c.signin_per_ip_per_min = 2).await;
    login(&app, "203.0.113.1").await.assert_problem(401, "invalid_credentials");
    login(&app, "203.0.113.2").await.assert_problem(401, "invalid_credentials");
    login(&app, "203.0.113.3").await.assert_problem(429, "too_many_attempts");

    // Behind a trusted proxy: each forwarded client has its own budget.
    let app = spawn_app_with(b, |c| {
        c.signin_per_ip_per_min = 2;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    for xff in ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.1"] {
        login(&app, xff).await.assert_problem(401, "invalid_credentials");
    }
    login(&app, "203.0.113.1").await.assert_problem(429, "too_many_attempts");
    let admin = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.0;
    let failed = app.audit(&admin, "sign_in_failed").await;
    assert!(failed.iter().any(|e| e["ip"] == "203.0.113.2"), "the audit records the client address");
}
