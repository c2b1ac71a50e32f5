//! Issue 19's guarantees for revocations, black-box (HTTP, plus SQL on the test database):
//!
//! - a revocation takes effect at once on the instance that made it (the very next request is
//!   refused) and within 1 second on every other instance, under load, for every kind of change
//!   that revokes: sign-out, sign out other devices, disabling, deleting, a role change, a password
//!   reset, refresh-token reuse, and deleting a service client;
//! - thirty revocations at once are all seen everywhere;
//! - an instance whose listening connection is killed reconnects and misses nothing;
//! - an instance that cannot confirm its view never answers from it (PostgreSQL stopped), and
//!   resumes when the database is back;
//! - the pool closes idle connections.
//!
//! Every test prints what it measured (`eprintln!`, shown with `--nocapture`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use cloudcx_auth_tests::pg_cluster::PrivateCluster;
use cloudcx_auth_tests::*;
use serde_json::json;

/// The bound on every other instance.
const ONE_SECOND: Duration = Duration::from_secs(1);
/// A poller keeps asking this long before it gives up, so that a late refusal is still measured.
const GIVE_UP: Duration = Duration::from_secs(3);
/// How often the other instances are asked while a revocation travels.
const POLL_EVERY: Duration = Duration::from_millis(5);
/// Concurrent `GET /me` loops per instance while revocations are measured.
const LOAD_PER_INSTANCE: usize = 4;
/// The instances' names in messages.
const NAMES: [&str; 3] = ["A", "B", "C"];
/// The listening connection's `application_name` (one per instance).
const LISTENER: &str = "cloudcx-auth-revocations";
/// The pool connections' `application_name`.
const POOL: &str = "cloudcx-auth";
/// The first port tried for this file's private cluster (faults.rs starts at 56432, the suite's
/// own private cluster at 55432).
const REVOCATION_PG_PORT: u16 = 57432;

// ---------------------------------------------------------------------------------------------
// Probes: one way of presenting a credential, and whether the answer is a refusal.

#[derive(Clone, Debug)]
enum Probe {
    /// `GET /api/v1/me` with a user's access token: refused = 401 `unauthenticated`.
    Me(String),
    /// `POST /oauth/introspect` of a token (by the introspector): refused = `{"active": false}`.
    Introspect(String),
    /// `POST /oauth/token` (client credentials) with (client id, secret): refused = 401 `invalid_client`.
    ClientCredentials(String, String),
    /// A service token on `GET /api/v1/users/{id}` (token, user id): refused = 401 `unauthenticated`.
    ServiceBearer(String, String),
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
}

impl Probe {
    fn name(&self) -> &'static str {
        match self {
            Probe::Me(_) => "GET /me",
            Probe::Introspect(_) => "introspection",
            Probe::ClientCredentials(..) => "client credentials",
            Probe::ServiceBearer(..) => "service bearer",
        }
    }

    /// `Ok(true)`: refused as the contract says; `Ok(false)`: accepted; `Err`: any other answer.
    async fn refused(&self, app: &TestApp, introspector: &(String, String)) -> Result<bool, String> {
        let timeout = Duration::from_secs(10);
        let req = match self {
            Probe::Me(token) => app.client.get(app.url("/api/v1/me")).bearer_auth(token),
            Probe::Introspect(token) => app
                .client
                .post(app.url("/oauth/introspect"))
                .header("authorization", basic(&introspector.0, &introspector.1))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("token={token}")),
            Probe::ClientCredentials(id, secret) => app
                .client
                .post(app.url("/oauth/token"))
                .header("authorization", basic(id, secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials"),
            Probe::ServiceBearer(token, user) => {
                app.client.get(app.url(&format!("/api/v1/users/{user}"))).bearer_auth(token)
            }
        };
        let r = match req.timeout(timeout).send().await {
            Ok(resp) => Reply::from(resp).await,
            Err(e) => return Err(format!("{}: no answer: {e}", self.name())),
        };
        let status = r.status.as_u16();
        let outcome = match self {
            Probe::Me(_) | Probe::ServiceBearer(..) => match status {
                200 => Some(false),
                401 if r.body["code"] == "unauthenticated" => Some(true),
                _ => None,
            },
            Probe::Introspect(_) => match (status, r.body["active"].as_bool()) {
                (200, Some(true)) => Some(false),
                (200, Some(false)) if r.body == json!({"active": false}) => Some(true),
                _ => None,
            },
            Probe::ClientCredentials(..) => match status {
                200 => Some(false),
                401 if r.body["error"] == "invalid_client" => Some(true),
                _ => None,
            },
        };
        outcome.ok_or_else(|| format!("{}: unexpected answer {status}: {}", self.name(), r.text))
    }
}

/// Asks `app` again and again (every `every`) until `probe` is refused; the time from `since`
/// to the refusing answer. Once refused it must stay refused (asked once more).
/// `at_once`: the first answer must already be a refusal.
async fn first_refusal(
    app: Arc<TestApp>,
    introspector: (String, String),
    probe: Probe,
    since: Instant,
    every: Duration,
) -> Result<(Duration, u32), String> {
    let mut asked = 0;
    loop {
        asked += 1;
        let refused = probe.refused(&app, &introspector).await?;
        if refused {
            let took = since.elapsed();
            if !probe.refused(&app, &introspector).await? {
                return Err(format!("{}: accepted again after a refusal", probe.name()));
            }
            return Ok((took, asked));
        }
        if since.elapsed() > GIVE_UP {
            return Err(format!("{}: still accepted {GIVE_UP:?} after the change ({asked} requests)", probe.name()));
        }
        tokio::time::sleep(every).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Load and measurement

/// `GET /me` loops on every instance with one user's token, each on a client of its own.
struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    started: Instant,
    workers: Vec<tokio::task::JoinHandle<Vec<String>>>,
}

impl Load {
    fn start(apps: &[Arc<TestApp>], token: &str, per_instance: usize) -> Self {
        let (stop, sent) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
        let mut workers = Vec::new();
        for (i, app) in apps.iter().enumerate() {
            for _ in 0..per_instance {
                let (stop, sent, token, url) = (stop.clone(), sent.clone(), token.to_string(), app.url("/api/v1/me"));
                workers.push(tokio::spawn(async move {
                    let client = reqwest::Client::new();
                    let mut wrong = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let r = client.get(&url).bearer_auth(&token).timeout(Duration::from_secs(10)).send().await;
                        sent.fetch_add(1, Ordering::Relaxed);
                        match r {
                            Ok(resp) if resp.status() == 200 => {
                                let _ = resp.bytes().await;
                            }
                            Ok(resp) => wrong.push(format!("{}: {}", NAMES[i], resp.status())),
                            Err(e) => wrong.push(format!("{}: {e}", NAMES[i])),
                        }
                        if wrong.len() > 5 {
                            break;
                        }
                    }
                    wrong
                }));
            }
        }
        Self { stop, sent, started: Instant::now(), workers }
    }

    /// Stops the load; (requests sent, per second), after checking every one was a 200 (no
    /// revocation touched the bystander's session).
    async fn finish(self) -> (u64, f64) {
        self.stop.store(true, Ordering::Relaxed);
        let mut wrong = Vec::new();
        for w in self.workers {
            wrong.extend(w.await.expect("a load worker ran"));
        }
        let sent = self.sent.load(Ordering::Relaxed);
        assert!(wrong.is_empty(), "the bystander's GET /me under load was not always 200: {wrong:?}");
        (sent, sent as f64 / self.started.elapsed().as_secs_f64())
    }
}

/// The instances (A first: the one each change is made on) and what was measured.
struct Measure {
    apps: Vec<Arc<TestApp>>,
    introspector: (String, String),
    failures: Vec<String>,
    worst: Duration,
}

impl Measure {
    fn new(apps: Vec<Arc<TestApp>>, introspector: (String, String)) -> Self {
        Self { apps, introspector, failures: Vec::new(), worst: Duration::ZERO }
    }

    fn a(&self) -> &TestApp {
        &self.apps[0]
    }

    /// Every probe works on every instance before the change (this also warms their views).
    async fn accepted_everywhere(&self, change: &str, probes: &[Probe]) {
        for (i, app) in self.apps.iter().enumerate() {
            for p in probes {
                match p.refused(app, &self.introspector).await {
                    Ok(false) => {}
                    Ok(true) => panic!("{change}: {} refused on {} already before the change", p.name(), NAMES[i]),
                    Err(e) => panic!("{change}: before the change, on {}: {e}", NAMES[i]),
                }
            }
        }
    }

    /// The change answered on A at `since`: each probe is refused by A's very next request, and
    /// on every other instance within [`ONE_SECOND`]. Failures are collected (see [`Self::verdict`]).
    async fn revoked(&mut self, change: &str, since: Instant, probes: &[Probe]) {
        let mut pollers = Vec::new();
        for (i, app) in self.apps.iter().enumerate().skip(1) {
            for p in probes {
                let task = first_refusal(app.clone(), self.introspector.clone(), p.clone(), since, POLL_EVERY);
                pollers.push((i, p.name(), tokio::spawn(task)));
            }
        }
        let mut line = format!("revocation {change:<24}");
        for p in probes {
            match p.refused(self.a(), &self.introspector).await {
                Ok(true) => line.push_str(&format!(" | {} A: at once", p.name())),
                Ok(false) => {
                    line.push_str(&format!(" | {} A: ACCEPTED", p.name()));
                    self.failures.push(format!("{change}: {} accepted on A by the request after the change", p.name()))
                }
                Err(e) => self.failures.push(format!("{change} on A: {e}")),
            }
        }
        for (i, name, task) in pollers {
            match task.await.expect("a poller ran") {
                Ok((took, asked)) => {
                    line.push_str(&format!(" | {name} {}: {} ms ({asked} asks)", NAMES[i], took.as_millis()));
                    self.worst = self.worst.max(took);
                    if took > ONE_SECOND {
                        self.failures.push(format!("{change}: {name} on {} refused only after {took:?}", NAMES[i]));
                    }
                }
                Err(e) => {
                    line.push_str(&format!(" | {name} {}: NEVER", NAMES[i]));
                    self.failures.push(format!("{change} on {}: {e}", NAMES[i]))
                }
            }
        }
        eprintln!("{line}");
    }

    /// What a change must not end: still accepted on every instance.
    async fn still_accepted(&mut self, change: &str, probes: &[Probe]) {
        for (i, app) in self.apps.iter().enumerate() {
            for p in probes {
                match p.refused(app, &self.introspector).await {
                    Ok(false) => {}
                    Ok(true) => self.failures.push(format!(
                        "{change}: {} refused on {} though it should live",
                        p.name(),
                        NAMES[i]
                    )),
                    Err(e) => self.failures.push(format!("{change}, what should live, on {}: {e}", NAMES[i])),
                }
            }
        }
    }

    fn verdict(&self) {
        eprintln!("revocation: the slowest instance took {} ms", self.worst.as_millis());
        assert!(self.failures.is_empty(), "revocations not seen in time:\n{}", self.failures.join("\n"));
    }
}

/// The newest reset link mailed to `email`, from whichever instance's mail sink got it (any
/// instance's outbox worker may send it).
async fn reset_link_from_any(apps: &[Arc<TestApp>], email: &str) -> String {
    const MARK: &str = "reset-password?token=";
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        for app in apps {
            if let Some(mail) = app.smtp.all_for(email).into_iter().rfind(|m| m.data.contains(MARK)) {
                let at = mail.data.find(MARK).unwrap() + MARK.len();
                return mail.data[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect();
            }
        }
        assert!(Instant::now() < deadline, "no reset link for {email} within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn client_credentials_token(app: &TestApp, id: &str, secret: &str) -> String {
    let r = Reply::from(
        app.client
            .post(app.url("/oauth/token"))
            .header("authorization", basic(id, secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["access_token"].as_str().expect("access token").to_string()
}

fn access_and_refresh(r: &Reply) -> (String, String) {
    assert_eq!(r.status, 200, "{}", r.text);
    (r.body["access_token"].as_str().expect("at").into(), r.body["refresh_token"].as_str().expect("rt").into())
}

// ---------------------------------------------------------------------------------------------
// 1. Every kind of revocation, under load

/// Each change is made on `apps[0]` (A) while every instance serves a bystander's `GET /me`
/// without pause; A refuses at once, the others within 1 s.
async fn every_kind_of_revocation_under_load(apps: Vec<Arc<TestApp>>) {
    let a = apps[0].clone();
    let on = |i: usize| apps[i % apps.len()].clone();
    let admin = a.admin_token().await;
    let introspector = a.introspector(&admin).await;

    // Everything that needs a password hash or a mail is prepared before the load starts.
    let (bystander_id, email, password) = a.create_agent(&admin, "bystander").await;
    let (bystander, _) = on(1).sign_in(&email, &password).await;
    let mut victims = Vec::new();
    for name in ["signout", "others", "disabled", "deleted", "promoted", "reset", "reused"] {
        victims.push(a.create_agent(&admin, name).await);
    }
    let [signout, others, disabled, deleted, promoted, reset, reused] = <[_; 7]>::try_from(victims).unwrap();
    let (signout_at, signout_rt) = on(2).sign_in(&signout.1, &signout.2).await;
    let (others_kept, _) = on(1).sign_in(&others.1, &others.2).await;
    let (others_ended, _) = on(2).sign_in(&others.1, &others.2).await;
    let (disabled_at, _) = on(1).sign_in(&disabled.1, &disabled.2).await;
    let (deleted_at, _) = on(2).sign_in(&deleted.1, &deleted.2).await;
    let (promoted_at, _) = on(1).sign_in(&promoted.1, &promoted.2).await;
    let (reset_at, _) = on(2).sign_in(&reset.1, &reset.2).await;
    assert_eq!(
        on(2).post("/api/v1/auth/password/forgot", json!({"tenant": TENANT, "email": reset.1})).await.status,
        202
    );
    let link = reset_link_from_any(&apps, &reset.1).await;
    let (reused_first_at, reused_rt) = on(1).sign_in(&reused.1, &reused.2).await;
    let (reused_at, _) = access_and_refresh(
        &on(2).post("/api/v1/auth/token/refresh", json!({"refresh_token": reused_rt, "token_delivery": "body"})).await,
    );
    let r = a
        .post_auth("/api/v1/admin/service-clients", &admin, json!({"name": "billing", "scopes": ["users:read"]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let billing =
        (r.body["client_id"].as_str().unwrap().to_string(), r.body["client_secret"].as_str().unwrap().to_string());
    let billing_token = client_credentials_token(&on(1), &billing.0, &billing.1).await;

    let mut m = Measure::new(apps.clone(), introspector);
    let user_probes = |t: &str| vec![Probe::Me(t.into()), Probe::Introspect(t.into())];
    let load = Load::start(&apps, &bystander, LOAD_PER_INSTANCE);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Sign-out.
    let probes = user_probes(&signout_at);
    m.accepted_everywhere("sign-out", &probes).await;
    let r = a.post("/api/v1/auth/logout", json!({"refresh_token": signout_rt})).await;
    let since = Instant::now();
    assert_eq!(r.status, 204, "{}", r.text);
    m.revoked("sign-out", since, &probes).await;

    // Sign out other devices: the other session ends, this one lives.
    let probes = user_probes(&others_ended);
    m.accepted_everywhere("sign out other devices", &probes).await;
    let r = a.post_auth("/api/v1/me/sessions/revoke-others", &others_kept, json!({})).await;
    let since = Instant::now();
    assert_eq!(r.status, 204, "{}", r.text);
    m.revoked("sign out other devices", since, &probes).await;
    m.still_accepted("sign out other devices", &user_probes(&others_kept)).await;

    // An admin disables the user.
    let probes = user_probes(&disabled_at);
    m.accepted_everywhere("disable", &probes).await;
    let r = a.patch_auth(&format!("/api/v1/admin/users/{}", disabled.0), &admin, json!({"disabled": true})).await;
    let since = Instant::now();
    assert_eq!(r.status, 200, "{}", r.text);
    m.revoked("disable", since, &probes).await;

    // An admin deletes the user.
    let probes = user_probes(&deleted_at);
    m.accepted_everywhere("delete", &probes).await;
    let r = a.delete_auth(&format!("/api/v1/admin/users/{}", deleted.0), &admin).await;
    let since = Instant::now();
    assert_eq!(r.status, 204, "{}", r.text);
    m.revoked("delete", since, &probes).await;

    // An admin changes the role: the user's sessions end.
    let probes = user_probes(&promoted_at);
    m.accepted_everywhere("role change", &probes).await;
    let r = a.patch_auth(&format!("/api/v1/admin/users/{}", promoted.0), &admin, json!({"role": "admin"})).await;
    let since = Instant::now();
    assert_eq!(r.status, 200, "{}", r.text);
    m.revoked("role change", since, &probes).await;

    // A password reset through the mailed link ends every session.
    let probes = user_probes(&reset_at);
    m.accepted_everywhere("password reset", &probes).await;
    let r = a.post("/api/v1/auth/password/reset", json!({"token": link, "new_password": "reset-Fresh-Pass-61"})).await;
    let since = Instant::now();
    assert_eq!(r.status, 204, "{}", r.text);
    m.revoked("password reset", since, &probes).await;

    // A rotated refresh token presented again ends its family: both access tokens die.
    let probes = [user_probes(&reused_at), user_probes(&reused_first_at)].concat();
    m.accepted_everywhere("refresh-token reuse", &probes).await;
    let r = a.post("/api/v1/auth/token/refresh", json!({"refresh_token": reused_rt, "token_delivery": "body"})).await;
    let since = Instant::now();
    r.assert_problem(401, "invalid_refresh_token");
    m.revoked("refresh-token reuse", since, &probes).await;

    // A service client deleted: its token is inactive, its credentials refused.
    let probes = vec![
        Probe::Introspect(billing_token.clone()),
        Probe::ServiceBearer(billing_token.clone(), bystander_id.clone()),
        Probe::ClientCredentials(billing.0.clone(), billing.1.clone()),
    ];
    m.accepted_everywhere("service client deletion", &probes).await;
    let r = a.delete_auth(&format!("/api/v1/admin/service-clients/{}", billing.0), &admin).await;
    let since = Instant::now();
    assert_eq!(r.status, 204, "{}", r.text);
    m.revoked("service client deletion", since, &probes).await;

    let (sent, per_second) = load.finish().await;
    eprintln!(
        "revocation: {} instance(s) served {sent} bystander GET /me ({per_second:.0}/s) while the changes were measured",
        apps.len()
    );
    m.verdict();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revocation_reaches_every_instance_within_one_second_under_load() {
    let (_db, apps) = spawn_instances(3).await;
    every_kind_of_revocation_under_load(apps.into_iter().map(Arc::new).collect()).await;
}

/// One instance on SQLite (its view updates in process): the very next request is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revocation_is_refused_at_once_under_load_sqlite() {
    let app = spawn_app(Backend::Sqlite).await;
    every_kind_of_revocation_under_load(vec![Arc::new(app)]).await;
}

// ---------------------------------------------------------------------------------------------
// 2. Thirty at once

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_parallel_revocations_are_all_seen_by_every_instance() {
    const SESSIONS: usize = 30;
    let (_db, apps) = spawn_instances(3).await;
    let apps: Vec<Arc<TestApp>> = apps.into_iter().map(Arc::new).collect();
    let admin = apps[0].admin_token().await;
    let introspector = apps[0].introspector(&admin).await;
    let mut users = Vec::new();
    for i in 0..6 {
        users.push(apps[0].create_agent(&admin, &format!("many{i}")).await);
    }
    let mut signing_in = Vec::new();
    for i in 0..SESSIONS {
        let (app, (_, email, password)) = (apps[i % 3].clone(), users[i % users.len()].clone());
        signing_in.push(tokio::spawn(async move { app.sign_in(&email, &password).await }));
    }
    let mut sessions = Vec::new();
    for s in signing_in {
        sessions.push(s.await.expect("a sign-in ran"));
    }
    // Every token works everywhere first (and is in every instance's view).
    let mut checks = Vec::new();
    for (at, _) in &sessions {
        for app in &apps {
            let (app, at) = (app.clone(), at.clone());
            checks.push(tokio::spawn(async move { app.get_auth("/api/v1/me", &at).await.status }));
        }
    }
    for c in checks {
        assert_eq!(c.await.unwrap(), 200);
    }

    // Thirty sign-outs at once, spread over the three instances.
    let gate = Arc::new(tokio::sync::Barrier::new(SESSIONS));
    let mut signing_out = Vec::new();
    for (i, (_, rt)) in sessions.iter().enumerate() {
        let (app, rt, gate) = (apps[i % 3].clone(), rt.clone(), gate.clone());
        signing_out.push(tokio::spawn(async move {
            gate.wait().await;
            let r = app.post("/api/v1/auth/logout", json!({"refresh_token": rt})).await;
            (r.status.as_u16(), Instant::now())
        }));
    }
    let mut answered = Vec::new();
    for s in signing_out {
        let (status, at) = s.await.unwrap();
        assert_eq!(status, 204);
        answered.push(at);
    }

    let mut pollers = Vec::new();
    for (i, (at, _)) in sessions.iter().enumerate() {
        for (j, app) in apps.iter().enumerate() {
            let task = first_refusal(
                app.clone(),
                introspector.clone(),
                Probe::Me(at.clone()),
                answered[i],
                Duration::from_millis(10),
            );
            pollers.push((i, j, tokio::spawn(task)));
        }
    }
    let (mut failures, mut worst) = (Vec::new(), Duration::ZERO);
    for (i, j, p) in pollers {
        match p.await.unwrap() {
            Ok((took, asked)) => {
                worst = worst.max(took);
                if took > ONE_SECOND {
                    failures.push(format!("session {i} on {}: refused after {took:?}", NAMES[j]));
                }
                if j == i % 3 && asked > 1 {
                    failures
                        .push(format!("session {i}: accepted on {}, which signed it out, after the answer", NAMES[j]));
                }
            }
            Err(e) => failures.push(format!("session {i} on {}: {e}", NAMES[j])),
        }
    }
    eprintln!(
        "revocation: {SESSIONS} parallel sign-outs, the slowest refusal came {} ms after its answer",
        worst.as_millis()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// 3. The listening connection killed

#[derive(diesel::QueryableByName, Debug)]
struct Killed {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    killed: bool,
}

/// `pg_terminate_backend` on every listening connection of the database; their pids.
async fn kill_listeners(url: &str, database: &str) -> Vec<i32> {
    let (url, sql) = (
        url.to_string(),
        format!(
            "SELECT pid, pg_terminate_backend(pid) AS killed FROM pg_stat_activity \
             WHERE application_name = '{LISTENER}' AND datname = '{database}'"
        ),
    );
    let rows: Vec<Killed> = tokio::task::spawn_blocking(move || {
        use diesel::RunQueryDsl;
        let mut conn = cloudcx_auth::db::pg_establish(&url).expect("connect");
        diesel::sql_query(&sql).load(&mut conn).unwrap_or_else(|e| panic!("{sql}: {e}"))
    })
    .await
    .unwrap();
    assert!(rows.iter().all(|r| r.killed), "{rows:?}");
    rows.into_iter().map(|r| r.pid).collect()
}

/// Listening backends on `database` other than `except`.
async fn listeners(url: &str, database: &str, except: &[i32]) -> i64 {
    let except = if except.is_empty() {
        String::new()
    } else {
        format!(" AND pid NOT IN ({})", except.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(","))
    };
    pg_count(
        url,
        &format!(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = '{LISTENER}' \
             AND datname = '{database}'{except}"
        ),
    )
    .await
}

/// Waits until `n` listening backends (not among `except`) are connected; how long it took.
async fn wait_for_listeners(url: &str, database: &str, n: i64, except: &[i32], within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let now = listeners(url, database, except).await;
        if now == n {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "{now} listening connection(s), not {n}, {within:?} on");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_listening_connection_reconnects_and_misses_nothing() {
    let (db, apps) = spawn_instances(3).await;
    let apps: Vec<Arc<TestApp>> = apps.into_iter().map(Arc::new).collect();
    let (url, name) = (db.postgres_url().unwrap().to_string(), db.postgres_name().unwrap());
    wait_for_listeners(&url, &name, 3, &[], Duration::from_secs(5)).await;

    let a = &apps[0];
    let admin = a.admin_token().await;
    let introspector = a.introspector(&admin).await;
    let (_, email, password) = a.create_agent(&admin, "cut").await;
    let (cut_at, cut_rt) = apps[1].sign_in(&email, &password).await;
    let (later_id, later_email, later_password) = a.create_agent(&admin, "later").await;
    let (later_at, _) = apps[2].sign_in(&later_email, &later_password).await;
    let mut m = Measure::new(apps.clone(), introspector);
    let (cut, later) = (
        vec![Probe::Me(cut_at.clone()), Probe::Introspect(cut_at)],
        vec![Probe::Me(later_at.clone()), Probe::Introspect(later_at)],
    );
    m.accepted_everywhere("sign-out while disconnected", &cut).await;
    m.accepted_everywhere("disable after the reconnection", &later).await;

    // Every instance's listening connection is cut; a revocation follows at once.
    let killed = kill_listeners(&url, &name).await;
    assert_eq!(killed.len(), 3, "one listening connection per instance: {killed:?}");
    let r = a.post("/api/v1/auth/logout", json!({"refresh_token": cut_rt})).await;
    let since = Instant::now();
    assert_eq!(r.status, 204, "{}", r.text);
    m.revoked("sign-out while disconnected", since, &cut).await;

    // They connect again, and notifications flow again.
    let back = wait_for_listeners(&url, &name, 3, &killed, Duration::from_secs(5)).await;
    eprintln!("revocation: the 3 listening connections were back {} ms after the kill", back.as_millis());
    let r = a.patch_auth(&format!("/api/v1/admin/users/{later_id}"), &admin, json!({"disabled": true})).await;
    let since = Instant::now();
    assert_eq!(r.status, 200, "{}", r.text);
    m.revoked("disable after the reconnection", since, &later).await;
    m.verdict();
}

// ---------------------------------------------------------------------------------------------
// 4. PostgreSQL stopped: never a stale answer

/// `GET /me` with a timeout (nothing may hang while the database is down): (status, code, took).
async fn me(app: &TestApp, token: &str) -> (u16, String, Duration) {
    let started = Instant::now();
    let resp = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(token)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("an answer within 10 s");
    let r = Reply::from(resp).await;
    (r.status.as_u16(), r.body["code"].as_str().unwrap_or_default().to_string(), started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stale_view_is_never_trusted_postgres_stopped_and_restarted() {
    let cluster = Arc::new(tokio::task::spawn_blocking(|| PrivateCluster::start(REVOCATION_PG_PORT)).await.unwrap());
    let (_db, apps) = spawn_instances_on(TestDb::new_on(&cluster.url), 2, |c| c.revocation_stale_ms = 500).await;
    let (a, b) = (&apps[0], &apps[1]);
    let admin = a.admin_token().await;
    let (_, email, password) = a.create_agent(&admin, "stale").await;
    let (token, rt) = a.sign_in(&email, &password).await;
    for x in [a, b] {
        assert_eq!(me(x, &token).await.0, 200);
    }

    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.stop_server()).await.unwrap();
    let stopped = Instant::now();
    tokio::time::sleep(Duration::from_millis(800)).await;
    // From 0.8 s on (the view last confirmed at most 0.5 s before the stop), never a 200.
    // Both instances at once, at least three rounds (the first may wait for a connection).
    let mut answers = Vec::new();
    let mut rounds = 0;
    while rounds < 3 || stopped.elapsed() < Duration::from_millis(2500) {
        let sent = stopped.elapsed().as_millis();
        let ((sa, ca, ta), (sb, cb, tb)) = tokio::join!(me(a, &token), me(b, &token));
        answers.push(("A", sent, sa, ca, ta));
        answers.push(("B", sent, sb, cb, tb));
        rounds += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "revocation: with PostgreSQL stopped, GET /me answered (instance, asked ms after the stop, status, code, took): {answers:?}"
    );
    for (name, sent, status, code, took) in &answers {
        assert!(
            *status == 503 && code == "service_unavailable",
            "{name}, asked {sent} ms after the stop: {status} {code} (a stale view must not be trusted)"
        );
        assert!(*took < Duration::from_secs(4), "{name}: an answer took {took:?}");
    }

    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.start_server()).await.unwrap();
    let started = Instant::now();
    for (i, x) in [a, b].into_iter().enumerate() {
        loop {
            let (status, code, _) = me(x, &token).await;
            if status == 200 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{}: GET /me is not 200 within 5 s of the database's return: {status} {code}",
                NAMES[i]
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    eprintln!("revocation: GET /me was 200 again on both {} ms after the restart", started.elapsed().as_millis());

    // A sign-out through B after the restart reaches A within 1 s (its listening connection or
    // its poll is back).
    let r = b.post("/api/v1/auth/logout", json!({"refresh_token": rt})).await;
    let since = Instant::now();
    assert_eq!(r.status, 204, "{}", r.text);
    let (b_status, _, _) = me(b, &token).await;
    assert_eq!(b_status, 401, "B, which signed out, refuses at once");
    let introspector = (String::new(), String::new());
    let apps: Vec<Arc<TestApp>> = apps.into_iter().map(Arc::new).collect();
    let (took, _) = first_refusal(apps[0].clone(), introspector, Probe::Me(token), since, POLL_EVERY)
        .await
        .unwrap_or_else(|e| panic!("A after the restart: {e}"));
    eprintln!("revocation: after the restart, a sign-out on B was refused on A {} ms later", took.as_millis());
    assert!(took <= ONE_SECOND, "A refused only after {took:?}");
    drop(apps);
    drop(_db);
    drop(cluster);
}

// ---------------------------------------------------------------------------------------------
// 5. The pool gives idle connections back

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_pool_connections_are_closed() {
    let app = Arc::new(
        spawn_app_with(Backend::Postgres, |c| {
            c.db_min_idle = 1;
            c.db_idle_timeout_secs = 1;
        })
        .await,
    );
    let (url, name) = (app.db.postgres_url().unwrap().to_string(), app.db.postgres_name().unwrap());
    let pooled =
        format!("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = '{POOL}' AND datname = '{name}'");
    let admin = app.admin_token().await;
    // Rounds of 40 requests at once, each needing the database.
    for _ in 0..5 {
        let mut all = Vec::new();
        for _ in 0..40 {
            let (app, admin) = (app.clone(), admin.clone());
            all.push(tokio::spawn(async move { app.get_auth("/api/v1/me/sessions", &admin).await.status }));
        }
        for r in all {
            assert_eq!(r.await.unwrap(), 200);
        }
    }
    let after_load = pg_count(&url, &pooled).await;
    let load_ended = Instant::now();
    assert!(after_load > 1, "the load opened several pool connections ({after_load})");
    let deadline = Duration::from_secs(45);
    let mut seen = vec![after_load];
    loop {
        let now = pg_count(&url, &pooled).await;
        if now <= 2 {
            eprintln!(
                "revocation: {after_load} pool connections after the load, {now} after {} s",
                load_ended.elapsed().as_secs()
            );
            break;
        }
        seen.push(now);
        assert!(load_ended.elapsed() < deadline, "still {now} pool connections {deadline:?} after the load: {seen:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The steady state: checks answered from memory

/// Waits until the instance's view has read the log (its listener's first read).
async fn view_trusted(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !app.state.db.view().trusted() {
        assert!(Instant::now() < deadline, "the revocation view was not confirmed within 5 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Once the account, the site and the client are cached, a bearer check, an introspection and a
/// client-credentials token go to the database for nothing (the view's count of database
/// look-ups stays where it was), and the answers are still right.
async fn checks_run_no_database_look_up_once_cached(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "stella").await;
    let (token, _) = app.sign_in(&email, &password).await;
    let svc = app.introspector(&admin).await;
    view_trusted(&app).await;
    // First use fills the caches.
    assert_eq!(app.get_auth("/api/v1/me", &token).await.status, 200);
    assert_eq!(app.introspect(&svc, &token).await["active"], json!(true));
    client_credentials_token(&app, &svc.0, &svc.1).await;
    let before = app.state.db.view().db_lookups();
    for _ in 0..30 {
        assert_eq!(app.get_auth("/api/v1/me", &token).await.body["email"], json!(email));
        let answer = app.introspect(&svc, &token).await;
        assert_eq!((answer["active"].clone(), answer["role"].clone()), (json!(true), json!("agent")));
        client_credentials_token(&app, &svc.0, &svc.1).await;
    }
    assert_eq!(app.state.db.view().db_lookups(), before, "a check went to the database in the steady state");
    // …and the view still refuses what is revoked.
    assert_eq!(app.post_auth("/api/v1/auth/logout", &token, json!({})).await.status, 204);
    app.get_auth("/api/v1/me", &token).await.assert_problem(401, "unauthenticated");
    assert_eq!(app.introspect(&svc, &token).await, json!({"active": false}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checks_run_no_database_look_up_once_cached_postgres() {
    checks_run_no_database_look_up_once_cached(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checks_run_no_database_look_up_once_cached_sqlite() {
    checks_run_no_database_look_up_once_cached(Backend::Sqlite).await;
}

/// A site that starts requiring 2FA reaches a cached account at once: the token's holder without
/// a second factor is sent to set it up on the very next request.
async fn a_site_setting_change_reaches_cached_accounts(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "tess").await;
    let (token, _) = app.sign_in(&email, &password).await;
    view_trusted(&app).await;
    assert_eq!(app.get_auth("/api/v1/me", &token).await.body["mfa_setup_required"], json!(false));
    let r = app.patch_auth("/api/v1/admin/settings", &admin, json!({"require_2fa": true})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.get_auth("/api/v1/me", &token).await.body["mfa_setup_required"], json!(true));
    app.get_auth("/api/v1/me/sessions", &token).await.assert_problem(403, "mfa_setup_required");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_site_setting_change_reaches_cached_accounts_postgres() {
    a_site_setting_change_reaches_cached_accounts(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_site_setting_change_reaches_cached_accounts_sqlite() {
    a_site_setting_change_reaches_cached_accounts(Backend::Sqlite).await;
}

/// One instance (the only way SQLite runs; PostgreSQL too): thirty sign-outs committed at once
/// each land in the log, and each token is refused on the very next request.
async fn thirty_parallel_sign_outs_are_each_refused_at_once(b: Backend) {
    const SESSIONS: usize = 30;
    let app = Arc::new(spawn_app(b).await);
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "thirty").await;
    let mut sessions = Vec::new();
    for _ in 0..SESSIONS {
        sessions.push(app.sign_in(&email, &password).await);
    }
    view_trusted(&app).await;
    for (at, _) in &sessions {
        assert_eq!(app.get_auth("/api/v1/me", at).await.status, 200);
    }
    let gate = Arc::new(tokio::sync::Barrier::new(SESSIONS));
    let mut signing_out = Vec::new();
    for (at, rt) in sessions.clone() {
        let (app, gate) = (app.clone(), gate.clone());
        signing_out.push(tokio::spawn(async move {
            gate.wait().await;
            let status = app.post("/api/v1/auth/logout", json!({"refresh_token": rt})).await.status;
            // The very next request after the answer.
            (status, app.get_auth("/api/v1/me", &at).await.status)
        }));
    }
    for s in signing_out {
        let (out, me) = s.await.unwrap();
        assert_eq!((out.as_u16(), me.as_u16()), (204, 401));
    }
    let logged: i64 = app
        .with_db(|conn| {
            use cloudcx_auth::db::schema::revocations;
            use diesel::prelude::*;
            revocations::table.filter(revocations::kind.eq("session")).count().get_result(conn)
        })
        .await;
    assert_eq!(logged, SESSIONS as i64, "one log row per ended session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_parallel_sign_outs_are_each_refused_at_once_postgres() {
    thirty_parallel_sign_outs_are_each_refused_at_once(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_parallel_sign_outs_are_each_refused_at_once_sqlite() {
    thirty_parallel_sign_outs_are_each_refused_at_once(Backend::Sqlite).await;
}
