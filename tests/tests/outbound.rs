//! The service fetches only public `https` URLs (issue 17, item 1): an SSO issuer written in any
//! notation of an internal address — or a name resolving to one — is refused at creation where
//! the text tells, and never contacted by the admin's `/test` nor by the unauthenticated
//! `/auth/sso/{id}/authorize`. A listener on loopback counts the connections it receives.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use cloudcx_auth::auth::signin::sso::client_secret_aad;
use cloudcx_auth::db::sso::{self, Provider};
use cloudcx_auth_tests::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

both_databases!(
    issuers_in_every_notation_of_an_internal_address_are_refused_at_creation,
    stored_internal_issuers_are_never_contacted_by_the_test_or_the_sign_in,
    a_name_resolving_to_loopback_is_refused_at_connect_time,
    a_provider_answer_larger_than_one_mebibyte_is_cut_off,
);

/// The app with the production rule: no `AUTH_ALLOW_INSECURE_ISSUERS`.
async fn strict_app(b: Backend) -> TestApp {
    spawn_app_with(b, |c| c.allow_insecure_issuers = false).await
}

/// A listener that accepts and counts connections (it never answers: a TLS handshake would
/// hang, but the count is taken as soon as the connection is accepted).
struct Listener {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

impl Listener {
    async fn on(addr: &str) -> Option<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await.ok()?;
        let port = listener.local_addr().ok()?.port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let seen = accepted.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                seen.fetch_add(1, Ordering::SeqCst);
                held.push(socket);
            }
        });
        Some(Self { port, accepted })
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// Every notation of an internal address: on the IPv4 listener's port, on the IPv6 one's if
/// this machine has `::1`, and the well-known internal targets of the issue.
fn notations(v4: u16, v6: Option<u16>) -> Vec<String> {
    let mut all: Vec<String> = [
        "https://127.0.0.1:{P}",
        "https://127.1:{P}",
        "https://0x7f.0.0.1:{P}",
        "https://0177.0.0.1:{P}",
        "https://127.0.0.1.:{P}",
        "https://2130706433:{P}",
        "https://[::ffff:127.0.0.1]:{P}",
        "https://[::ffff:7f00:1]:{P}",
        "https://LOCALHOST.:{P}",
        "https://idp.localhost:{P}",
    ]
    .iter()
    .map(|n| n.replace("{P}", &v4.to_string()))
    .collect();
    if let Some(p) = v6 {
        all.push(format!("https://[::1]:{p}"));
        all.push(format!("https://[0:0:0:0:0:0:0:1]:{p}"));
    }
    all.extend(
        ["https://169.254.169.254.", "https://[fe80::1]:443", "https://100.100.100.200", "https://10.0.0.5"]
            .map(String::from),
    );
    all
}

fn provider_body(issuer: &str) -> serde_json::Value {
    json!({"kind": "oidc", "display_name": "Internal", "client_id": "x", "client_secret": "y", "issuer": issuer})
}

/// An application row written directly, as one stored before the rule (or while insecure
/// issuers were allowed) would be.
async fn insert_provider(app: &TestApp, issuer: &str) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let now = app.clock_now();
    let tenant = app.get_auth("/api/v1/me", &app.admin_token().await).await.body["tenant"]["id"]
        .as_str()
        .expect("tenant id")
        .to_string();
    let row = Provider {
        id: id.clone(),
        tenant_id: tenant,
        kind: "oidc".into(),
        display_name: "Internal".into(),
        client_id: "x".into(),
        client_secret_sealed: app.state.data_key.seal(b"y", &client_secret_aad(&id)),
        issuer: issuer.into(),
        microsoft_tenant: None,
        allowed_tenants: String::new(),
        trust_idp_mfa: false,
        enabled: true,
        created_at: now,
        updated_at: now,
    };
    app.with_db(move |conn| sso::insert_provider(conn, &row)).await;
    id
}

const NOT_PUBLIC: &str = "Could not read the provider's settings: the issuer is not on a public address.";

/// `/test` says the address is not public, in plain words that name no address; the sign-in
/// start fails as an SSO failure.
async fn assert_refused_without_contact(app: &TestApp, admin: &str, id: &str, issuer: &str) {
    let test = app.post_auth(&format!("/api/v1/admin/sso-providers/{id}/test"), admin, json!({})).await;
    assert_eq!(test.status, 200, "{issuer}: {}", test.text);
    assert_eq!(test.body, json!({"ok": false, "problems": [NOT_PUBLIC]}), "{issuer}");
    let start = app.post(&format!("/api/v1/auth/sso/{id}/authorize"), json!({"intent": "login"})).await;
    start.assert_problem(400, "sso_failed");
    assert_eq!(start.body["reason"], "provider_error", "{issuer}");
    for text in [&test.text, &start.text] {
        for internal in ["127.0.0.1", "::1", "169.254", "fe80", "100.100", "10.0.0.5", "localhost"] {
            assert!(!text.to_ascii_lowercase().contains(internal), "{issuer}: {internal} echoed in {text}");
        }
    }
}

async fn issuers_in_every_notation_of_an_internal_address_are_refused_at_creation(b: Backend) {
    let app = strict_app(b).await;
    let admin = app.admin_token().await;
    let v4 = Listener::on("127.0.0.1:0").await.expect("loopback listener");
    let v6 = Listener::on("[::1]:0").await;
    for issuer in notations(v4.port, v6.as_ref().map(|l| l.port)) {
        let r = app.post_auth("/api/v1/admin/sso-providers", &admin, provider_body(&issuer)).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "issuer", "{issuer}");
        assert_eq!(r.body["errors"][0]["message"], "the issuer must be on a public address", "{issuer}");
    }
    let listed = app.get_auth("/api/v1/admin/sso-providers", &admin).await;
    assert_eq!(listed.body["providers"], json!([]));
    assert_eq!(v4.accepted() + v6.map_or(0, |l| l.accepted()), 0, "no connection was made");
}

async fn stored_internal_issuers_are_never_contacted_by_the_test_or_the_sign_in(b: Backend) {
    let app = strict_app(b).await;
    let admin = app.admin_token().await;
    let v4 = Listener::on("127.0.0.1:0").await.expect("loopback listener");
    let v6 = Listener::on("[::1]:0").await;
    for issuer in notations(v4.port, v6.as_ref().map(|l| l.port)) {
        let id = insert_provider(&app, &issuer).await;
        assert_refused_without_contact(&app, &admin, &id, &issuer).await;
    }
    assert_eq!(v4.accepted(), 0, "no connection reached 127.0.0.1");
    assert_eq!(v6.map_or(0, |l| l.accepted()), 0, "no connection reached ::1");
}

/// A name this machine resolves to loopback addresses only and that the text of a URL cannot
/// tell apart from a public name (not `localhost` nor `*.localhost`): taken from /etc/hosts
/// (the machine's own host name usually is there), checked with the system resolver.
async fn name_resolving_to_loopback() -> Option<String> {
    let hosts = std::fs::read_to_string("/etc/hosts").ok()?;
    for line in hosts.lines() {
        let mut fields = line.split('#').next().unwrap_or_default().split_whitespace();
        let Some(Ok(ip)) = fields.next().map(str::parse::<std::net::IpAddr>) else { continue };
        if !ip.is_loopback() {
            continue;
        }
        for name in fields {
            let lower = name.to_ascii_lowercase();
            if lower == "localhost"
                || lower.ends_with(".localhost")
                || !lower.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                continue;
            }
            let Ok(addrs) = tokio::net::lookup_host((name, 443)).await else { continue };
            let addrs: Vec<_> = addrs.collect();
            if !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback() || a.ip().to_canonical().is_loopback()) {
                return Some(name.to_string());
            }
        }
    }
    None
}

async fn a_name_resolving_to_loopback_is_refused_at_connect_time(b: Backend) {
    let Some(name) = name_resolving_to_loopback().await else {
        // The resolver's rule is also proven without any name: outbound.rs's unit tests inject
        // the lookup (`the_client_refuses_a_name_resolving_to_loopback_without_connecting`).
        eprintln!("no name in /etc/hosts resolves to loopback only here: the black-box name case is skipped");
        return;
    };
    let app = strict_app(b).await;
    let admin = app.admin_token().await;
    let v4 = Listener::on("127.0.0.1:0").await.expect("loopback listener");
    let v6 = Listener::on(&format!("[::1]:{}", v4.port)).await;
    let issuer = format!("https://{name}:{}", v4.port);
    // The text names no internal address: only the resolved address can tell.
    assert_eq!(cloudcx_auth::auth::oidc::check_issuer(&issuer, false), Ok(()));
    let id = insert_provider(&app, &issuer).await;
    assert_refused_without_contact(&app, &admin, &id, &issuer).await;
    assert_eq!(v4.accepted() + v6.map_or(0, |l| l.accepted()), 0, "{name} was resolved but never connected to");
}

/// A provider on loopback that starts a 5 MiB discovery document (chunked, no length) and
/// stops after 1.5 MiB without ending it: a client reading to the end would wait for its
/// timeout; one that stops at the cap answers at once.
async fn oversized_provider() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b' '; 64 * 1024];
                for _ in 0..24 {
                    let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
                    if socket.write_all(&framed).await.is_err() {
                        return;
                    }
                }
                let _ = socket.read(&mut buf).await;
            });
        }
    });
    port
}

async fn a_provider_answer_larger_than_one_mebibyte_is_cut_off(b: Backend) {
    // Loopback providers need the escape; the cap holds with it.
    let app = spawn_app_with(b, |c| c.allow_insecure_issuers = true).await;
    let admin = app.admin_token().await;
    let port = oversized_provider().await;
    let created =
        app.post_auth("/api/v1/admin/sso-providers", &admin, provider_body(&format!("http://127.0.0.1:{port}"))).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().expect("id");
    let started = std::time::Instant::now();
    let test = app.post_auth(&format!("/api/v1/admin/sso-providers/{id}/test"), &admin, json!({})).await;
    assert_eq!(
        test.body,
        json!({"ok": false, "problems": ["Could not read the provider's settings: the issuer sent an answer larger than 1 MiB."]}),
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "cut off at the cap, not at the timeout");
}
