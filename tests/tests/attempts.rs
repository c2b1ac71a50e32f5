//! Attempt accounting under parallel requests: every guess is reserved in the database before
//! it is checked, so the password lock, the second-factor budget and the resend cool-down hold
//! exactly however many requests arrive at once — on both databases and across instances.

use std::collections::BTreeMap;
use std::sync::Arc;

use cloudcx_auth_tests::mfa::*;
use cloudcx_auth_tests::*;
use serde_json::{json, Value};

both_databases!(
    thirty_parallel_wrong_passwords_are_checked_at_most_ten_times_and_the_right_one_then_refused,
    a_burst_the_moment_a_password_lock_lifts_is_checked_exactly_once,
    a_right_password_in_a_burst_of_wrong_ones_is_refused_once_the_lock_is_due,
    thirty_parallel_wrong_codes_on_one_mfa_token_are_checked_at_most_five_times,
    thirty_parallel_wrong_codes_over_fresh_mfa_tokens_are_checked_at_most_five_times,
    a_burst_the_moment_a_second_factor_lock_lifts_is_checked_exactly_once,
    ten_parallel_resends_send_one_mail,
    ten_parallel_reauth_code_requests_send_one_mail,
    thirty_parallel_wrong_reauth_passwords_are_checked_at_most_ten_times,
    thirty_parallel_wrong_reauth_codes_are_checked_at_most_five_times,
    thirty_parallel_wrong_confirmation_codes_are_checked_at_most_five_times,
    a_success_gives_its_attempt_back_and_the_count_starts_again,
    sixteen_parallel_right_passwords_all_sign_in,
    a_reservation_whose_process_died_stops_holding_the_budget,
    a_failure_settled_after_an_unlock_still_counts,
    thirty_parallel_wrong_current_passwords_are_checked_at_most_ten_times,
    thirty_parallel_wrong_passwords_to_turn_2fa_off_are_checked_at_most_ten_times,
);

/// One request of a burst: path, bearer token, body.
type Shot = (&'static str, Option<String>, Value);

/// Sends every request at the same moment (all are connected and waiting on one barrier) to
/// the instance each names, and returns the answers in order.
async fn burst_over(apps: &[&TestApp], shots: Vec<Shot>) -> Vec<Reply> {
    let barrier = Arc::new(tokio::sync::Barrier::new(shots.len()));
    let mut tasks = Vec::new();
    for (i, (path, bearer, body)) in shots.into_iter().enumerate() {
        let app = apps[i % apps.len()];
        let (client, url, barrier) = (reqwest::Client::new(), app.url(path), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let mut request = client.post(url).json(&body);
            if let Some(token) = bearer {
                request = request.bearer_auth(token);
            }
            barrier.wait().await;
            Reply::from(request.send().await.expect("request")).await
        }));
    }
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.expect("task"));
    }
    replies
}

async fn burst(app: &TestApp, shots: Vec<Shot>) -> Vec<Reply> {
    burst_over(&[app], shots).await
}

/// How many answers had each status.
fn tally(replies: &[Reply]) -> BTreeMap<u16, usize> {
    let mut counts = BTreeMap::new();
    for r in replies {
        *counts.entry(r.status.as_u16()).or_default() += 1;
    }
    counts
}

fn count(replies: &[Reply], status: u16) -> usize {
    replies.iter().filter(|r| r.status.as_u16() == status).count()
}

/// Every refusal of a burst is a 429 with a `Retry-After` of at least a second.
fn assert_refusals_are_429_with_retry_after(replies: &[Reply]) {
    for r in replies.iter().filter(|r| r.status == 429) {
        r.assert_problem(429, "too_many_attempts");
        let retry: u64 = r.header("retry-after").and_then(|v| v.parse().ok()).expect("Retry-After");
        assert!(retry >= 1, "Retry-After {retry}");
    }
}

fn wrong_logins(email: &str, n: usize) -> Vec<Shot> {
    (0..n)
        .map(|i| {
            let body = json!({"tenant": TENANT, "email": email, "password": format!("wrong-password-{i}")});
            ("/api/v1/auth/login", None, body)
        })
        .collect()
}

async fn thirty_parallel_wrong_passwords_are_checked_at_most_ten_times_and_the_right_one_then_refused(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "target").await;

    let replies = burst(&app, wrong_logins(&email, 30)).await;
    let counts = tally(&replies);
    assert_eq!(counts.get(&401), Some(&10), "exactly ten checked: {counts:?}");
    assert_eq!(counts.get(&429), Some(&20), "the rest refused unchecked: {counts:?}");
    assert_refusals_are_429_with_retry_after(&replies);
    // The audit agrees: ten failures counted 1..10, one lock.
    let failed = app.audit(&admin, "sign_in_failed").await;
    let mut seen: Vec<i64> = failed.iter().map(|e| e["details"]["consecutive_failures"].as_i64().unwrap()).collect();
    seen.sort();
    assert_eq!(seen, (1..=10).collect::<Vec<_>>());
    assert_eq!(app.audit(&admin, "account_locked").await.len(), 1);

    app.login(TENANT, &email, &password).await.assert_problem(429, "too_many_attempts");
}

async fn a_burst_the_moment_a_password_lock_lifts_is_checked_exactly_once(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, _) = app.create_agent(&admin, "target").await;
    let first = burst(&app, wrong_logins(&email, 10)).await;
    assert_eq!(count(&first, 401), 10);

    app.clock.advance(31);
    let replies = burst(&app, wrong_logins(&email, 30)).await;
    let counts = tally(&replies);
    assert_eq!(counts.get(&401), Some(&1), "one guess when the lock lifts: {counts:?}");
    assert_eq!(counts.get(&429), Some(&29), "{counts:?}");
    assert_refusals_are_429_with_retry_after(&replies);
    // That guess brought the next, doubled lock.
    let locked = app.audit(&admin, "account_locked").await;
    assert_eq!(locked[0]["details"]["lock_seconds"], 60);
}

async fn a_right_password_in_a_burst_of_wrong_ones_is_refused_once_the_lock_is_due(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "target").await;
    let mut shots = wrong_logins(&email, 30);
    // The right password arrives with the burst, after every wrong one was sent.
    shots.push(("/api/v1/auth/login", None, json!({"tenant": TENANT, "email": email, "password": password})));
    let replies = burst(&app, shots).await;
    let right = &replies[30];
    let wrong = &replies[..30];
    match right.status.as_u16() {
        // Refused: at most ten wrong ones were checked, and the lock was due.
        429 => assert!(count(wrong, 401) <= 10, "{:?}", tally(wrong)),
        // Admitted: it was reserved before the tenth failure; then it gave back only its own
        // reservation and those before it, so the wrong ones after it met the lock in their turn.
        200 => assert!(count(wrong, 401) < 20, "{:?}", tally(wrong)),
        other => panic!("unexpected {other}: {}", right.text),
    }
    // Whatever the order, the account ends locked: the guesses ran out.
    app.login(TENANT, &email, &password).await.assert_problem(429, "too_many_attempts");
}

fn wrong_codes(tokens: &[String]) -> Vec<Shot> {
    tokens
        .iter()
        .map(|t| ("/api/v1/auth/mfa/verify", None, json!({"mfa_token": t, "code": "000000", "token_delivery": "body"})))
        .collect()
}

/// An agent with the authenticator app; the burst's code `000000` is never the right one.
async fn totp_agent(app: &TestApp) -> (String, String, Vec<u8>) {
    let (email, password, secret, _) = agent_with_totp(app, "target").await;
    // Make sure 000000 is wrong now and at the previous step.
    while ["000000"].contains(&code_now(app, &secret).as_str()) {
        app.clock.advance(60);
    }
    (email, password, secret)
}

async fn thirty_parallel_wrong_codes_on_one_mfa_token_are_checked_at_most_five_times(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (email, password, secret) = totp_agent(&app).await;
    let token = mfa_token(&app, &email, &password).await;

    let replies = burst(&app, wrong_codes(&vec![token.clone(); 30])).await;
    let counts = tally(&replies);
    assert_eq!(counts.get(&401), Some(&5), "five checked: {counts:?}");
    assert_eq!(counts.get(&429), Some(&25), "{counts:?}");
    assert_refusals_are_429_with_retry_after(&replies);
    assert_eq!(app.audit(&admin, "mfa_failed").await.len(), 5, "one audit row per checked code");
    // The right code is refused too while the lock holds.
    verify(&app, &token, "code", &code_now(&app, &secret)).await.assert_problem(429, "too_many_attempts");
}

async fn thirty_parallel_wrong_codes_over_fresh_mfa_tokens_are_checked_at_most_five_times(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (email, password, _) = totp_agent(&app).await;
    let mut tokens = Vec::new();
    for _ in 0..30 {
        tokens.push(mfa_token(&app, &email, &password).await);
    }
    let replies = burst(&app, wrong_codes(&tokens)).await;
    let counts = tally(&replies);
    assert_eq!(counts.get(&401), Some(&5), "the budget is the account's, not the token's: {counts:?}");
    assert_eq!(counts.get(&429), Some(&25), "{counts:?}");
    assert_eq!(app.audit(&admin, "mfa_failed").await.len(), 5);
}

async fn a_burst_the_moment_a_second_factor_lock_lifts_is_checked_exactly_once(b: Backend) {
    let app = spawn_app(b).await;
    let (email, password, _) = totp_agent(&app).await;
    let token = mfa_token(&app, &email, &password).await;
    assert_eq!(count(&burst(&app, wrong_codes(&vec![token; 5])).await, 401), 5);

    app.clock.advance(31);
    let token = mfa_token(&app, &email, &password).await;
    let replies = burst(&app, wrong_codes(&vec![token; 30])).await;
    assert_eq!(tally(&replies).get(&401), Some(&1), "{:?}", tally(&replies));
}

/// The one-time-code mails `email` received (notices arrive beside them, from the outbox).
fn code_mails(app: &TestApp, email: &str) -> usize {
    app.smtp.all_for(email).iter().filter(|m| m.subject().ends_with(" code")).count()
}

async fn email_agent(app: &TestApp) -> (String, String) {
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "mailer").await;
    let (token, _) = app.sign_in(&email, &password).await;
    enable_email(app, &token, &email).await;
    (email, password)
}

async fn ten_parallel_resends_send_one_mail(b: Backend) {
    let app = spawn_app(b).await;
    let (email, password) = email_agent(&app).await;
    let token = mfa_token(&app, &email, &password).await;
    let _first = app.smtp.next_code_for(&email).await;
    let before = code_mails(&app, &email);

    app.clock.advance(61);
    let shots = (0..10).map(|_| ("/api/v1/auth/mfa/resend", None, json!({"mfa_token": token}))).collect();
    let replies = burst(&app, shots).await;
    let counts = tally(&replies);
    assert_eq!(counts.get(&202), Some(&1), "{counts:?}");
    assert_eq!(counts.get(&429), Some(&9), "{counts:?}");
    assert_refusals_are_429_with_retry_after(&replies);
    let code = app.smtp.next_code_for(&email).await;
    assert_eq!(code_mails(&app, &email), before + 1, "one mail for ten requests");
    // The one code mailed is the one that works.
    let r = verify(&app, &token, "code", &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn ten_parallel_reauth_code_requests_send_one_mail(b: Backend) {
    let app = spawn_app(b).await;
    let (email, password) = email_agent(&app).await;
    let token = mfa_token(&app, &email, &password).await;
    let code = app.smtp.next_code_for(&email).await;
    let access = verify(&app, &token, "code", &code).await.body["access_token"].as_str().unwrap().to_string();
    let before = code_mails(&app, &email);

    let shots = (0..10).map(|_| ("/api/v1/auth/reauth/email-code", Some(access.clone()), json!({}))).collect();
    let replies = burst(&app, shots).await;
    let counts = tally(&replies);
    assert_eq!(counts.get(&202), Some(&1), "{counts:?}");
    assert_eq!(counts.get(&429), Some(&9), "{counts:?}");
    let code = app.smtp.next_code_for(&email).await;
    assert_eq!(code_mails(&app, &email), before + 1);
    let r = app.post_auth("/api/v1/auth/reauth", &access, json!({"password": password, "code": code})).await;
    assert_eq!(r.status, 200, "the mailed code works: {}", r.text);

    // After the cool-down, again exactly one.
    app.clock.advance(61);
    let shots = (0..10).map(|_| ("/api/v1/auth/reauth/email-code", Some(access.clone()), json!({}))).collect();
    let replies = burst(&app, shots).await;
    assert_eq!(tally(&replies).get(&202), Some(&1), "{:?}", tally(&replies));
}

async fn thirty_parallel_wrong_reauth_passwords_are_checked_at_most_ten_times(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "target").await;
    let (access, _) = app.sign_in(&email, &password).await;
    let shots = (0..30)
        .map(|i| ("/api/v1/auth/reauth", Some(access.clone()), json!({"password": format!("wrong-{i}")})))
        .collect();
    let replies = burst(&app, shots).await;
    let counts = tally(&replies);
    assert_eq!(counts.get(&403), Some(&10), "{counts:?}");
    assert_eq!(counts.get(&429), Some(&20), "{counts:?}");
    assert_eq!(app.audit(&admin, "reauth_failed").await.len(), 10);
    // The account's one password budget: sign-in is locked as well.
    app.login(TENANT, &email, &password).await.assert_problem(429, "too_many_attempts");
}

async fn thirty_parallel_wrong_reauth_codes_are_checked_at_most_five_times(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (email, password, secret) = totp_agent(&app).await;
    let token = mfa_token(&app, &email, &password).await;
    let r = verify(&app, &token, "code", &code_now(&app, &secret)).await;
    let access = r.body["access_token"].as_str().expect("signed in").to_string();
    let shots = (0..30)
        .map(|_| ("/api/v1/auth/reauth", Some(access.clone()), json!({"password": password, "code": "000000"})))
        .collect();
    let replies = burst(&app, shots).await;
    let counts = tally(&replies);
    assert_eq!(counts.get(&403), Some(&5), "{counts:?}");
    assert_eq!(counts.get(&429), Some(&25), "{counts:?}");
    assert_eq!(app.audit(&admin, "mfa_failed").await.len(), 5);
}

async fn thirty_parallel_wrong_confirmation_codes_are_checked_at_most_five_times(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "target").await;
    let (access, _) = app.sign_in(&email, &password).await;
    let r = app.post_auth("/api/v1/me/2fa/totp/setup", &access, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let secret = cloudcx_auth::auth::totp::decode_secret(r.body["secret"].as_str().unwrap()).unwrap();
    while code_now(&app, &secret) == "000000" {
        app.clock.advance(60);
    }
    let shots =
        (0..30).map(|_| ("/api/v1/me/2fa/totp/confirm", Some(access.clone()), json!({"code": "000000"}))).collect();
    let replies = burst(&app, shots).await;
    let counts = tally(&replies);
    assert_eq!(counts.get(&403), Some(&5), "{counts:?}");
    assert_eq!(counts.get(&429), Some(&25), "{counts:?}");
    assert_eq!(app.audit(&admin, "mfa_failed").await.len(), 5);
}

async fn a_success_gives_its_attempt_back_and_the_count_starts_again(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "target").await;
    for _ in 0..9 {
        app.login(TENANT, &email, "wrong-password").await.assert_problem(401, "invalid_credentials");
    }
    assert_eq!(app.login(TENANT, &email, &password).await.status, 200);
    // Nine more failures lock nothing: the count started again at the success.
    for _ in 0..9 {
        app.login(TENANT, &email, "wrong-password").await.assert_problem(401, "invalid_credentials");
    }
    assert_eq!(app.login(TENANT, &email, &password).await.status, 200);
    let last = app.audit(&admin, "sign_in_failed").await;
    assert_eq!(last[0]["details"]["consecutive_failures"], 9);
}

async fn sixteen_parallel_right_passwords_all_sign_in(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "busy").await;
    let shots = (0..16)
        .map(|_| ("/api/v1/auth/login", None, json!({"tenant": TENANT, "email": email, "password": password})))
        .collect();
    let replies = burst(&app, shots).await;
    // More than the budget at once: those beyond it wait for the ones in flight, which succeed.
    assert_eq!(tally(&replies).get(&200), Some(&16), "{:?}", tally(&replies));
    assert!(app.audit(&admin, "account_locked").await.is_empty());
}

async fn a_reservation_whose_process_died_stops_holding_the_budget(b: Backend) {
    use cloudcx_auth::db::schema::login_throttle;
    use diesel::prelude::*;
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "orphan").await;
    // Ten attempts reserved a moment ago by an instance that died before settling them.
    let (key, now) = (cloudcx_auth::auth::session::account_key(TENANT, &email), app.clock_now());
    app.with_db(move |conn| {
        diesel::insert_into(login_throttle::table)
            .values((
                login_throttle::key.eq(key),
                login_throttle::failures.eq(0),
                login_throttle::last_failure_at.eq(now),
                login_throttle::pending.eq(10),
                login_throttle::reserved_at.eq(now),
            ))
            .execute(conn)
    })
    .await;
    app.login(TENANT, &email, &password).await.assert_problem(429, "too_many_attempts");
    app.clock.advance(cloudcx_auth::db::attempts::STALE_RESERVATION_SECS + 1);
    assert_eq!(app.login(TENANT, &email, &password).await.status, 200, "the orphans expired");
}

async fn a_failure_settled_after_an_unlock_still_counts(b: Backend) {
    use cloudcx_auth::db::attempts::{Reservation, Settled, PASSWORD};
    let app = spawn_app(b).await;
    let now = app.clock_now();
    let settled = app
        .with_db(move |conn| {
            assert_eq!(PASSWORD.reserve(conn, "orphan-key", now)?, Reservation::Reserved);
            // An admin's unlock removes the row while the guess is being checked.
            cloudcx_auth::db::throttle::unlock(conn, "orphan-key")?;
            PASSWORD.settle_failure(conn, "orphan-key", now)
        })
        .await;
    assert_eq!(settled, Settled { count: 1, lock_secs: 0 });
}

async fn thirty_parallel_wrong_current_passwords_are_checked_at_most_ten_times(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "target").await;
    let (access, _) = app.sign_in(&email, &password).await;
    let shots = (0..30)
        .map(|i| {
            let body = json!({"current_password": format!("wrong-{i}"), "new_password": "A-new-Secret-Pass-42"});
            ("/api/v1/me/password", Some(access.clone()), body)
        })
        .collect();
    let replies = burst(&app, shots).await;
    let counts = tally(&replies);
    assert_eq!(counts.get(&403), Some(&10), "{counts:?}");
    assert_eq!(counts.get(&429), Some(&20), "{counts:?}");
    assert_refusals_are_429_with_retry_after(&replies);
    assert_eq!(app.audit(&admin, "reauth_failed").await.len(), 10);
    // One budget per account: sign-in is locked too, and so is the right current password.
    app.login(TENANT, &email, &password).await.assert_problem(429, "too_many_attempts");
}

async fn thirty_parallel_wrong_passwords_to_turn_2fa_off_are_checked_at_most_ten_times(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (email, password, secret) = totp_agent(&app).await;
    let token = mfa_token(&app, &email, &password).await;
    let access = verify(&app, &token, "code", &code_now(&app, &secret)).await.body["access_token"]
        .as_str()
        .expect("signed in")
        .to_string();
    let shots = (0..30)
        .map(|i| ("/api/v1/me/2fa/disable", Some(access.clone()), json!({"password": format!("wrong-{i}")})))
        .collect();
    let replies = burst(&app, shots).await;
    let counts = tally(&replies);
    assert_eq!(counts.get(&403), Some(&10), "{counts:?}");
    assert_eq!(counts.get(&429), Some(&20), "{counts:?}");
    assert_eq!(app.audit(&admin, "reauth_failed").await.len(), 10);
    let status = app.get_auth("/api/v1/me/2fa", &access).await;
    assert_eq!(status.body["enabled"], true, "still on");
}

/// Several instances on one PostgreSQL share one count.
mod across_instances {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn thirty_wrong_passwords_spread_over_three_instances_are_checked_at_most_ten_times() {
        let (_db, apps) = spawn_instances(3).await;
        let apps: Vec<&TestApp> = apps.iter().collect();
        let admin = apps[0].admin_token().await;
        let (_, email, password) = apps[0].create_agent(&admin, "target").await;
        let replies = burst_over(&apps, wrong_logins(&email, 30)).await;
        let counts = tally(&replies);
        assert_eq!(counts.get(&401), Some(&10), "{counts:?}");
        assert_eq!(counts.get(&429), Some(&20), "{counts:?}");
        for app in &apps {
            app.login(TENANT, &email, &password).await.assert_problem(429, "too_many_attempts");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn thirty_wrong_codes_spread_over_three_instances_are_checked_at_most_five_times() {
        let (_db, apps) = spawn_instances(3).await;
        let refs: Vec<&TestApp> = apps.iter().collect();
        let app = refs[0];
        let admin = app.admin_token().await;
        let (email, password, _) = totp_agent(app).await;
        // Setting up moved the first instance's clock: the replicas keep one time.
        for other in &refs[1..] {
            other.clock.advance(app.clock_now() - other.clock_now());
        }
        let mut tokens = Vec::new();
        for _ in 0..30 {
            tokens.push(mfa_token(app, &email, &password).await);
        }
        let replies = burst_over(&refs, wrong_codes(&tokens)).await;
        let counts = tally(&replies);
        assert_eq!(counts.get(&401), Some(&5), "{counts:?}");
        assert_eq!(counts.get(&429), Some(&25), "{counts:?}");
        assert_eq!(app.audit(&admin, "mfa_failed").await.len(), 5);
    }
}
