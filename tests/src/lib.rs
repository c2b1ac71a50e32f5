//! Test harness: the real application, in-process on port 0, against a fresh SQLite file or a
//! fresh PostgreSQL database, with a clock the test controls.

pub mod hostile_idp;
pub mod mfa;
pub mod oidc;
pub mod pg_cluster;
pub mod smtp;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use cloudcx_auth::clock::TestClock;
use cloudcx_auth::config::Config;
use cloudcx_auth::db::DbTarget;
use cloudcx_auth::domain::Secret;
use cloudcx_auth::startup::{Application, Stopper};
use cloudcx_auth::state::AppState;
use diesel::RunQueryDsl;
use serde_json::{json, Value};

pub use reqwest::StatusCode;

pub const TENANT: &str = "acme";
pub const ADMIN_EMAIL: &str = "admin@acme.example";
pub const ADMIN_PASSWORD: &str = "admin-pass-Correct-7";

/// Generates one test body per database: `mod NAME { fn sqlite(); fn postgres(); }`.
#[macro_export]
macro_rules! both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::Backend::Postgres).await
                }
            }
        )*
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server for tests: `TEST_DATABASE_URL`, else the local one on 5432.
pub fn postgres_base_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn with_database(base: &str, name: &str) -> String {
    let (head, query) = match base.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (base, None),
    };
    let root = head.rsplit_once('/').map(|(r, _)| r).unwrap_or(head);
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

/// A throwaway database, dropped with this guard.
pub struct TestDb {
    pub target: DbTarget,
    pg_name: Option<String>,
    /// The server that holds `pg_name`.
    pg_base: String,
    dir: Option<PathBuf>,
}

impl TestDb {
    pub fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let id = uuid::Uuid::new_v4().simple().to_string();
                let dir = std::env::temp_dir().join(format!("cloudcx-test-{id}"));
                std::fs::create_dir_all(&dir).expect("temp dir");
                let path = dir.join("auth.db");
                Self {
                    target: DbTarget::Sqlite(path.display().to_string()),
                    pg_name: None,
                    pg_base: String::new(),
                    dir: Some(dir),
                }
            }
            Backend::Postgres => Self::new_on(&postgres_base_url()),
        }
    }

    /// A fresh database on the PostgreSQL server at `base` (a private cluster of a fault test).
    pub fn new_on(base: &str) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let base = base.to_string();
        let name = format!("cxtest_{id}");
        let mut admin = cloudcx_auth::db::pg_establish(&base).unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is required for the tests and is not reachable at {base}: {e}. \
                 Run `make test` (it starts one) or set TEST_DATABASE_URL."
            )
        });
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).expect("create database");
        Self { target: DbTarget::Postgres(with_database(&base, &name)), pg_name: Some(name), pg_base: base, dir: None }
    }

    /// The PostgreSQL URL of this database; `None` on SQLite.
    pub fn postgres_url(&self) -> Option<&str> {
        match &self.target {
            DbTarget::Postgres(url) => Some(url),
            DbTarget::Sqlite(_) => None,
        }
    }

    /// The PostgreSQL database's name, as `pg_stat_activity.datname` shows it; `None` on SQLite.
    pub fn postgres_name(&self) -> Option<String> {
        let url = self.postgres_url()?;
        let head = url.split_once('?').map(|(h, _)| h).unwrap_or(url);
        head.rsplit_once('/').map(|(_, name)| name.to_string())
    }

    /// A handle on a database another guard owns (several instances on one database).
    pub fn borrowed(target: DbTarget) -> Self {
        Self { target, pg_name: None, pg_base: String::new(), dir: None }
    }

    /// Drops the PostgreSQL database now (the outage test), leaving the guard with nothing to do.
    pub fn drop_now(&mut self) {
        if let Some(name) = self.pg_name.take() {
            if let Ok(mut admin) = cloudcx_auth::db::pg_establish(&self.pg_base) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin);
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.drop_now();
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// One RSA key for the whole test process (generating one per test would cost seconds).
pub fn test_signing_key() -> &'static str {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| cloudcx_auth::auth::jwt::generate_rsa_pem().expect("rsa key"))
}

/// The configuration every test starts from: defaults, a fresh database, port 0, no limits in the way.
pub fn test_config(target: DbTarget) -> Config {
    let mut config = Config::from_lookup(|_| None).expect("defaults");
    config.database = target;
    config.listen = "127.0.0.1:0".parse().expect("addr");
    config.data_key = Some(Secret::new([42u8; 32]));
    config.jwt_key_pem = Some(Secret::new(test_signing_key().to_string()));
    config.signin_per_ip_per_min = 100_000;
    config.bootstrap_tenant = Some(TENANT.into());
    config.bootstrap_admin_email = Some(ADMIN_EMAIL.into());
    config.bootstrap_admin_password = Some(Secret::new(ADMIN_PASSWORD.into()));
    config.web_dir = PathBuf::from("/nonexistent-web-dir");
    config
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub backend: Backend,
    pub clock: Arc<TestClock>,
    pub state: AppState,
    /// Keeps cookies, as a browser would.
    pub client: reqwest::Client,
    pub db: TestDb,
    /// The mail server the app talks to: a real SMTP conversation on loopback.
    pub smtp: smtp::SmtpSink,
    stopper: Stopper,
}

/// The app stops with its test, and its worker threads are done before the test returns: the
/// process never exits while one of them is still closing database connections.
impl Drop for TestApp {
    fn drop(&mut self) {
        if !self.stopper.stop_and_wait() {
            eprintln!("the app's workers still held its state 5 s after the stop");
        }
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// The one public URL of replicas behind a load balancer (nothing listens there: tests send each
/// request to an instance of their choice).
pub const LOAD_BALANCER_URL: &str = "http://127.0.0.1:9";

/// `n` instances started at the same moment on one fresh PostgreSQL database, sharing the
/// signing key, the data key and `AUTH_PUBLIC_URL` (as replicas behind a load balancer do).
pub async fn spawn_instances(n: usize) -> (TestDb, Vec<TestApp>) {
    spawn_instances_with(n, |_| {}).await
}

/// [`spawn_instances`], each instance's configuration changed by `tweak` last.
pub async fn spawn_instances_with(
    n: usize,
    tweak: impl Fn(&mut Config) + Clone + Send + 'static,
) -> (TestDb, Vec<TestApp>) {
    spawn_instances_on(TestDb::new(Backend::Postgres), n, tweak).await
}

/// [`spawn_instances_with`] on a PostgreSQL database the caller made (e.g. [`TestDb::new_on`] a
/// private cluster); the guard comes back to be dropped after the instances.
pub async fn spawn_instances_on(
    db: TestDb,
    n: usize,
    tweak: impl Fn(&mut Config) + Clone + Send + 'static,
) -> (TestDb, Vec<TestApp>) {
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let target = db.target.clone();
            let tweak = tweak.clone();
            tokio::spawn(async move {
                spawn_on(TestDb::borrowed(target), Backend::Postgres, move |c| {
                    c.allow_insecure_issuers = true;
                    c.public_url = Some(LOAD_BALANCER_URL.into());
                    tweak(c);
                })
                .await
            })
        })
        .collect();
    let mut apps = Vec::new();
    for h in handles {
        apps.push(h.await.expect("instance starts"));
    }
    (db, apps)
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// `SELECT count(*) AS n …` (any statement answering one row with a bigint `n`) on the
/// PostgreSQL database at `url`, over a connection of its own (no `application_name`).
pub async fn pg_count(url: &str, sql: &str) -> i64 {
    let (url, sql) = (url.to_string(), sql.to_string());
    tokio::task::spawn_blocking(move || {
        let mut conn = cloudcx_auth::db::pg_establish(&url).expect("connect");
        diesel::sql_query(&sql).get_result::<Count>(&mut conn).unwrap_or_else(|e| panic!("{sql}: {e}")).n
    })
    .await
    .expect("the query's thread")
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_on(TestDb::new(backend), backend, tweak).await
}

/// The app on a database the caller made (e.g. [`TestDb::new_on`] a private cluster).
pub async fn spawn_on(db: TestDb, backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let smtp = smtp::SmtpSink::start().await;
    let mut config = test_config(db.target.clone());
    config.smtp_url = Some(smtp.url());
    tweak(&mut config);
    let clock = Arc::new(TestClock::default());
    let app = Application::build(config, clock.clone()).await.expect("application starts");
    let port = app.port();
    let state = app.state().clone();
    let stopper = app.stopper();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    TestApp { address: format!("http://127.0.0.1:{port}"), port, backend, clock, state, client, db, smtp, stopper }
}

/// A response read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub async fn from(resp: reqwest::Response) -> Self {
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self { status, headers, body, text }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 9457 answer with this status and code.
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "status of {}", self.text);
        assert_eq!(self.header("content-type"), Some("application/problem+json"), "content type of {}", self.text);
        assert_eq!(self.body["code"], code, "code of {}", self.text);
        assert_eq!(self.body["status"], status);
        for field in ["type", "title", "detail"] {
            assert!(self.body[field].is_string(), "{field} missing in {}", self.text);
        }
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok().map(str::to_string)).collect()
    }
}

impl TestApp {
    /// Stops the app (its `Drop` does too).
    pub fn stopper(&self) -> &Stopper {
        &self.stopper
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        Reply::from(self.client.post(self.url(path)).json(&body).send().await.expect("request")).await
    }

    pub async fn post_auth(&self, path: &str, token: &str, body: Value) -> Reply {
        Reply::from(self.client.post(self.url(path)).bearer_auth(token).json(&body).send().await.expect("request"))
            .await
    }

    pub async fn patch_auth(&self, path: &str, token: &str, body: Value) -> Reply {
        Reply::from(self.client.patch(self.url(path)).bearer_auth(token).json(&body).send().await.expect("request"))
            .await
    }

    pub async fn delete_auth(&self, path: &str, token: &str) -> Reply {
        Reply::from(self.client.delete(self.url(path)).bearer_auth(token).send().await.expect("request")).await
    }

    /// A service client allowed to introspect tokens, registered by `admin`: (client id, secret).
    pub async fn introspector(&self, admin: &str) -> (String, String) {
        let r = self
            .post_auth(
                "/api/v1/admin/service-clients",
                admin,
                json!({"name": "inspector", "scopes": ["tokens:introspect"]}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        (r.body["client_id"].as_str().expect("id").into(), r.body["client_secret"].as_str().expect("secret").into())
    }

    /// `POST /oauth/introspect` of `token`, as the service client `client` (HTTP Basic); the body.
    pub async fn introspect(&self, client: &(String, String), token: &str) -> Value {
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", client.0, client.1));
        let req = self
            .client
            .post(self.url("/oauth/introspect"))
            .header("authorization", format!("Basic {basic}"))
            .header("content-type", "application/x-www-form-urlencoded")
            // A JWT is URL-safe as it is.
            .body(format!("token={token}"));
        Reply::from(req.send().await.expect("request")).await.body
    }

    pub async fn get(&self, path: &str) -> Reply {
        Reply::from(self.client.get(self.url(path)).send().await.expect("request")).await
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> Reply {
        Reply::from(self.client.get(self.url(path)).bearer_auth(token).send().await.expect("request")).await
    }

    /// Runs setup work directly on the test's database (for states no endpoint makes yet).
    pub async fn with_db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut cloudcx_auth::db::AnyConnection) -> diesel::QueryResult<T> + Send + 'static,
    ) -> T {
        self.state.db.run(move |conn| f(conn).map_err(cloudcx_auth::db::DbError::from)).await.expect("database work")
    }

    /// The application's clock, in Unix seconds.
    pub fn clock_now(&self) -> i64 {
        use cloudcx_auth::clock::Clock;
        self.clock.unix()
    }

    /// `POST /auth/login` with the refresh token in the body.
    pub async fn login(&self, tenant: &str, email: &str, password: &str) -> Reply {
        self.post(
            "/api/v1/auth/login",
            json!({"tenant": tenant, "email": email, "password": password, "token_delivery": "body"}),
        )
        .await
    }

    /// Signs in and returns (access token, refresh token); panics unless it works.
    pub async fn sign_in(&self, email: &str, password: &str) -> (String, String) {
        let r = self.login(TENANT, email, password).await;
        assert_eq!(r.status, 200, "sign-in failed: {}", r.text);
        (r.body["access_token"].as_str().expect("at").into(), r.body["refresh_token"].as_str().expect("rt").into())
    }

    pub async fn admin_token(&self) -> String {
        self.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.0
    }

    /// Creates an agent through the admin API; returns (id, email, password).
    pub async fn create_agent(&self, admin_token: &str, name: &str) -> (String, String, String) {
        let email = format!("{name}@acme.example");
        let password = format!("{name}-Secret-Pass-42");
        let r = self
            .post_auth(
                "/api/v1/admin/users",
                admin_token,
                json!({"email": email, "display_name": name, "password": password, "role": "agent"}),
            )
            .await;
        assert_eq!(r.status, 201, "create user: {}", r.text);
        (r.body["id"].as_str().expect("id").into(), email, password)
    }

    /// The site's audit events of one kind, newest first.
    pub async fn audit(&self, admin_token: &str, kind: &str) -> Vec<Value> {
        let r = self.get_auth(&format!("/api/v1/admin/audit-events?kind={kind}&limit=200"), admin_token).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["events"].as_array().cloned().unwrap_or_default()
    }
}

/// Decodes a JWT's payload without checking anything (to read claims in assertions).
pub fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("b64");
    serde_json::from_slice(&bytes).expect("json")
}
