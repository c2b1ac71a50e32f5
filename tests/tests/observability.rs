//! Every answer names its request: the `X-Request-Id` header, the `request_id` of a 5xx problem,
//! and the log lines written while serving it. This binary installs the service's own log
//! subscriber once, writing into a buffer the tests read.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use cloudcx_auth_tests::*;
use serde_json::{json, Value};

both_databases!(a_5xx_problem_carries_the_request_id_of_its_answer);

/// The log lines of this test process, as the service writes them (JSON, one a line).
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        cloudcx_auth::telemetry::init_with_writer(move || Capture(sink.clone()));
        logs
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The captured lines that mention `needle`, parsed.
fn lines_with(needle: &str) -> Vec<Value> {
    let logs = logs();
    let text = String::from_utf8_lossy(&logs.lock().expect("logs")).into_owned();
    text.lines().filter(|l| l.contains(needle)).filter_map(|l| serde_json::from_str(l).ok()).collect()
}

async fn send(request: reqwest::RequestBuilder) -> Reply {
    Reply::from(request.send().await.expect("request")).await
}

fn request_id(r: &Reply) -> String {
    r.header("x-request-id").unwrap_or_else(|| panic!("no X-Request-Id on {} {}", r.status, r.text)).to_string()
}

fn is_uuid(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_a_request_id() {
    let app = spawn_app(Backend::Sqlite).await;
    let c = &app.client;
    let answers = [
        send(c.get(app.url("/healthz"))).await,
        send(c.get(app.url("/readyz"))).await,
        send(c.get(app.url("/metrics"))).await,
        send(c.get(app.url("/.well-known/jwks.json"))).await,
        send(c.get(app.url("/api/v1/nowhere"))).await,
        send(c.delete(app.url("/api/v1/auth/login"))).await,
        send(c.post(app.url("/api/v1/auth/login")).header("content-type", "application/json").body("{")).await,
        send(
            c.post(app.url("/api/v1/auth/login"))
                .json(&json!({"tenant": TENANT, "email": ADMIN_EMAIL, "password": "wrong-password-1"})),
        )
        .await,
        send(c.get(app.url("/api/v1/me")).bearer_auth("garbage")).await,
        // Refused by a middleware before any handler (a NUL in the path).
        send(c.get(app.url("/api/v1/users/%00"))).await,
        send(c.post(app.url("/oauth/token")).form(&[("grant_type", "client_credentials")])).await,
        send(c.get(app.url("/oauth/nowhere"))).await,
        send(c.get(app.url("/some/client/route"))).await,
        send(c.get(app.url("/api-docs/openapi.json"))).await,
    ];
    let mut seen = std::collections::HashSet::new();
    for r in &answers {
        let id = request_id(r);
        assert!(is_uuid(&id), "a generated id is a UUID: {id}");
        assert!(seen.insert(id), "each answer has its own id");
    }
    assert!(answers.iter().any(|r| r.status == 400) && answers.iter().any(|r| r.status == 200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_safe_incoming_request_id_is_kept_and_an_unsafe_one_replaced() {
    let app = spawn_app(Backend::Sqlite).await;
    let max = "a".repeat(64);
    for (path, kept) in [
        ("/healthz", "trace-1.A_b"),
        ("/api/v1/nowhere", "0af7651916cd43dd8448eb211c80319c"),
        ("/healthz", max.as_str()),
    ] {
        let r = send(app.client.get(app.url(path)).header("x-request-id", kept)).await;
        assert_eq!(request_id(&r), kept, "{path}");
    }
    let too_long = "a".repeat(65);
    for unsafe_id in ["has space", "<script>", "a,b", "a\"b", "line\tbreak", "", too_long.as_str()] {
        let r = send(app.client.get(app.url("/api/v1/nowhere")).header("x-request-id", unsafe_id)).await;
        let id = request_id(&r);
        assert_ne!(id, unsafe_id);
        assert!(is_uuid(&id), "{unsafe_id:?} is replaced by a fresh id, not {id:?}");
    }
    let r = send(app.client.get(app.url("/healthz")).header("x-request-id", "\u{e9}t\u{e9}".as_bytes())).await;
    assert!(is_uuid(&request_id(&r)), "a non-ASCII id is replaced");
}

/// A real 500: the users table is gone under the running service (renamed: every foreign key
/// follows it on both databases). On PostgreSQL, a real 503 too: the database is dropped.
async fn a_5xx_problem_carries_the_request_id_of_its_answer(b: Backend) {
    let mut app = spawn_app(b).await;
    app.with_db(|c| diesel::RunQueryDsl::execute(diesel::sql_query("ALTER TABLE users RENAME TO users_gone"), c)).await;
    let login = json!({"tenant": TENANT, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD});
    let r = app.post("/api/v1/auth/login", login.clone()).await;
    r.assert_problem(500, "internal_error");
    assert_eq!(r.body["detail"], "internal error", "nothing of the cause reaches the client");
    assert!(is_uuid(&request_id(&r)));
    assert_eq!(r.body["request_id"], request_id(&r), "{}", r.text);

    let r =
        send(app.client.post(app.url("/api/v1/auth/login")).header("x-request-id", "support-ticket-7").json(&login))
            .await;
    assert_eq!(r.status, 500, "{}", r.text);
    assert_eq!((request_id(&r).as_str(), &r.body["request_id"]), ("support-ticket-7", &json!("support-ticket-7")));

    if b == Backend::Postgres {
        app.db.drop_now();
        let r = app.get("/readyz").await;
        r.assert_problem(503, "service_unavailable");
        assert_eq!(r.body["request_id"], request_id(&r), "{}", r.text);
        let r = app.post("/api/v1/auth/login", login).await;
        r.assert_problem(503, "service_unavailable");
        assert_eq!(r.body["request_id"], request_id(&r), "{}", r.text);
    }
}

/// A 4xx is the client's business: its body stays as docs/API.md ("Errors") shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4xx_problem_has_the_header_but_no_request_id_field() {
    let app = spawn_app(Backend::Sqlite).await;
    let r = app.get("/api/v1/nowhere").await;
    r.assert_problem(404, "not_found");
    assert!(is_uuid(&request_id(&r)));
    assert!(r.body.get("request_id").is_none(), "{}", r.text);
}

/// The line that logs a 500 carries the request id (from the request's span), the route pattern
/// and the cause — and the line of every request carries the id too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_line_of_a_500_names_its_request_its_route_and_its_cause() {
    logs();
    let app = spawn_app(Backend::Sqlite).await;
    app.with_db(|c| diesel::RunQueryDsl::execute(diesel::sql_query("ALTER TABLE users RENAME TO users_gone"), c)).await;
    let id = format!("log-{}", uuid::Uuid::new_v4().simple());
    let login = json!({"tenant": TENANT, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD});
    let r = send(app.client.post(app.url("/api/v1/auth/login")).header("x-request-id", &id).json(&login)).await;
    assert_eq!(r.status, 500, "{}", r.text);

    let lines = lines_with(&id);
    let error = lines
        .iter()
        .find(|l| l["level"] == "ERROR")
        .unwrap_or_else(|| panic!("no error line with the request id among {lines:#?}"));
    let span = &error["spans"][0];
    assert_eq!(span["request_id"], id.as_str());
    assert_eq!(span["route"], "/api/v1/auth/login");
    assert_eq!(span["method"], "POST");
    let cause = error["fields"]["error"].as_str().expect("an error field");
    assert!(cause.contains("users"), "the cause names what failed: {cause}");
    assert!(!error.to_string().contains(ADMIN_PASSWORD), "no secret in the log");

    let request_line = lines.iter().find(|l| l["fields"]["message"] == "request").expect("the request's own line");
    assert_eq!(request_line["fields"]["status"], 500);
}
