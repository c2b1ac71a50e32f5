//! The binary itself: its commands, its start-up errors, and what it writes to its logs.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_cloudcx-auth");

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cx-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

fn clean_env(cmd: &mut Command) -> &mut Command {
    for (k, _) in std::env::vars() {
        if k.starts_with("AUTH_") || k == "DATABASE_URL" {
            cmd.env_remove(k);
        }
    }
    cmd
}

#[test]
fn openapi_prints_the_spec_as_yaml() {
    let out = Command::new(BIN).arg("openapi").output().expect("runs");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("openapi: 3.1"));
}

#[test]
fn a_malformed_setting_stops_start_up_with_one_line_naming_it() {
    let dir = temp_dir();
    let out = clean_env(&mut Command::new(BIN))
        .current_dir(&dir)
        .env("AUTH_SESSION_IDLE_MINUTES", "soon")
        .arg("serve")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("AUTH_SESSION_IDLE_MINUTES"), "{stderr}");
    let out = clean_env(&mut Command::new(BIN))
        .current_dir(&dir)
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x")
        .arg("serve")
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&out.stderr).contains("AUTH_DATA_KEY"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn create_admin_takes_the_password_from_standard_input() {
    let dir = temp_dir();
    let mut child = clean_env(&mut Command::new(BIN))
        .current_dir(&dir)
        .args(["create-admin", "--tenant", "acme", "--email", "boss@acme.example"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child.stdin.take().expect("stdin").write_all(b"boss-Secret-Pass-1\n").expect("write");
    let out = child.wait_with_output().expect("waits");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.join("data/cloudcx-auth.db").exists());
    assert!(dir.join("data/jwt-signing-key.pem").exists());
    // A second time: the admin exists already.
    let again = clean_env(&mut Command::new(BIN))
        .current_dir(&dir)
        .env("AUTH_ADMIN_PASSWORD", "boss-Secret-Pass-1")
        .args(["create-admin", "--tenant", "acme", "--email", "boss@acme.example"])
        .output()
        .expect("runs");
    assert!(!again.status.success());
    // A weak password is refused.
    let weak = clean_env(&mut Command::new(BIN))
        .current_dir(&dir)
        .env("AUTH_ADMIN_PASSWORD", "password1")
        .args(["create-admin", "--tenant", "acme", "--email", "other@acme.example"])
        .output()
        .expect("runs");
    assert!(!weak.status.success());
    let _ = std::fs::remove_dir_all(dir);
}

/// Serves on the embedded database, signs in, and checks that neither the password nor any
/// token reaches the log.
#[test]
fn the_logs_never_contain_passwords_tokens_codes_or_secrets() {
    let dir = temp_dir();
    let password = "Bootstrap-Secret-Pass-9";
    let mut child = clean_env(&mut Command::new(BIN))
        .current_dir(&dir)
        .env("AUTH_LISTEN", "127.0.0.1:0")
        .env("AUTH_BOOTSTRAP_TENANT", "acme")
        .env("AUTH_BOOTSTRAP_ADMIN_EMAIL", "boss@acme.example")
        .env("AUTH_BOOTSTRAP_ADMIN_PASSWORD", password)
        .env("RUST_LOG", "debug")
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut log = String::new();
    let address = loop {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).expect("read") > 0, "exited early: {log}");
        log.push_str(&line);
        if line.contains("\"listening\"") {
            let v: serde_json::Value = serde_json::from_str(&line).expect("json log line");
            break v["fields"]["address"].as_str().expect("address").to_string();
        }
    };
    let body =
        format!(r#"{{"tenant":"acme","email":"boss@acme.example","password":"{password}","token_delivery":"body"}}"#);
    let json = http_json(&address, "/api/v1/auth/login", &body, None);
    let (access, refresh) =
        (json["access_token"].as_str().unwrap().to_string(), json["refresh_token"].as_str().unwrap().to_string());
    http_post(&address, "/api/v1/auth/login", &body.replace(password, "Wrong-Secret-Pass-9"), None);

    // Two-factor: the secret, the codes, the backup codes and the mfa_token stay out of the log.
    let setup = http_json(&address, "/api/v1/me/2fa/totp/setup", "{}", Some(&access));
    let secret_b32 = setup["secret"].as_str().expect("secret").to_string();
    let secret = cloudcx_auth::auth::totp::decode_secret(&secret_b32).expect("base32");
    // Confirm with the previous step's code and sign in with the current one (two distinct
    // steps); once more if a step boundary fell in between.
    let (mut step, mut confirm_code, mut enabled) = (0, String::new(), serde_json::Value::Null);
    for _ in 0..2 {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs() as i64;
        step = cloudcx_auth::auth::totp::step_of(now);
        confirm_code = cloudcx_auth::auth::totp::code_at_step(&secret, step - 1);
        enabled = http_json(
            &address,
            "/api/v1/me/2fa/totp/confirm",
            &format!(r#"{{"code":"{confirm_code}"}}"#),
            Some(&access),
        );
        if enabled["backup_codes"].is_array() {
            break;
        }
    }
    let backup: Vec<String> =
        enabled["backup_codes"].as_array().expect("codes").iter().map(|c| c.as_str().unwrap().to_string()).collect();
    let challenge = http_json(&address, "/api/v1/auth/login", &body, None);
    let mfa_token = challenge["mfa_token"].as_str().expect("mfa_token").to_string();
    let sign_in_code = cloudcx_auth::auth::totp::code_at_step(&secret, step);
    let done = http_json(
        &address,
        "/api/v1/auth/mfa/verify",
        &format!(r#"{{"mfa_token":"{mfa_token}","code":"{sign_in_code}","token_delivery":"body"}}"#),
        None,
    );
    assert!(done["access_token"].is_string(), "{done}");
    let wrong = http_json(
        &address,
        "/api/v1/auth/mfa/verify",
        &format!(r#"{{"mfa_token":"{mfa_token}","backup_code":"{}"}}"#, backup[0]),
        None,
    );
    assert!(wrong["code"].is_string());
    std::thread::sleep(Duration::from_millis(300));
    let _ = child.kill();
    let _ = child.wait();
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut stdout, &mut rest);
    log.push_str(&rest);
    assert!(log.contains("\"request\""), "requests are logged: {log}");
    let mut secrets = vec![password.to_string(), "Wrong-Secret-Pass-9".into(), access, refresh, secret_b32, mfa_token];
    secrets.extend(backup);
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "a secret reached the log");
    }
    for code in [confirm_code, sign_in_code] {
        assert!(!log.contains(&format!("\"{code}\"")) && !log.contains(&format!("={code}")), "a code reached the log");
    }
    let _ = std::fs::remove_dir_all(dir);
}

fn http_json(address: &str, path: &str, body: &str, bearer: Option<&str>) -> serde_json::Value {
    let reply = http_post(address, path, body, bearer);
    serde_json::from_str(reply.split("\r\n\r\n").nth(1).unwrap_or("null")).unwrap_or(serde_json::Value::Null)
}

fn http_post(address: &str, path: &str, body: &str, bearer: Option<&str>) -> String {
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let auth = bearer.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("write");
    let mut reply = String::new();
    let _ = std::io::Read::read_to_string(&mut stream, &mut reply);
    reply
}

#[test]
fn without_a_command_the_binary_serves() {
    let dir = temp_dir();
    let mut child = clean_env(&mut Command::new(BIN))
        .current_dir(&dir)
        .env("AUTH_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut seen = String::new();
    let listening = loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).expect("read") == 0 {
            break false;
        }
        seen.push_str(&line);
        if line.contains("\"listening\"") {
            break true;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(listening, "{seen}");
    let _ = std::fs::remove_dir_all(dir);
}

/// SIGTERM under load: requests already in flight finish, new connections are refused, and the
/// process exits within 10 seconds.
#[test]
fn sigterm_lets_in_flight_requests_finish_and_exits_within_ten_seconds() {
    let dir = temp_dir();
    let password = "Shutdown-Secret-Pass-3";
    let mut child = clean_env(&mut Command::new(BIN))
        .current_dir(&dir)
        .env("AUTH_LISTEN", "127.0.0.1:0")
        .env("AUTH_BOOTSTRAP_TENANT", "acme")
        .env("AUTH_BOOTSTRAP_ADMIN_EMAIL", "boss@acme.example")
        .env("AUTH_BOOTSTRAP_ADMIN_PASSWORD", password)
        .env("AUTH_SIGNIN_PER_IP_PER_MIN", "100000")
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let address = loop {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).expect("read") > 0, "exited early");
        if line.contains("\"listening\"") {
            let v: serde_json::Value = serde_json::from_str(&line).expect("json");
            break v["fields"]["address"].as_str().expect("address").to_string();
        }
    };
    // Keep reading the log so the process never blocks on a full pipe; say when a sign-in is done.
    let (first_done, first_done_rx) = std::sync::mpsc::channel::<()>();
    let log = std::thread::spawn(move || {
        let mut sink = String::new();
        let mut line = String::new();
        while stdout.read_line(&mut line).unwrap_or(0) > 0 {
            if line.contains("/api/v1/auth/login") {
                let _ = first_done.send(());
            }
            sink.push_str(&line);
            line.clear();
        }
        sink
    });
    // Serving, not only bound: the workers answer.
    let ready = (0..100).any(|_| {
        let r = http_get(&address, "/readyz");
        r.starts_with("HTTP/1.1 200") || {
            std::thread::sleep(Duration::from_millis(50));
            false
        }
    });
    assert!(ready, "never ready");
    let body =
        format!(r#"{{"tenant":"acme","email":"boss@acme.example","password":"{password}","token_delivery":"body"}}"#);
    // Sixteen sign-ins: each costs an Argon2 hash, so together they keep the server busy. Each is
    // sent before the signal; the replies are read after it.
    let sent = std::sync::Arc::new(std::sync::Barrier::new(17));
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let (address, body, sent) = (address.clone(), body.clone(), sent.clone());
            std::thread::spawn(move || {
                let mut stream = std::net::TcpStream::connect(&address).expect("connect");
                stream.set_read_timeout(Some(Duration::from_secs(15))).expect("timeout");
                let request = format!(
                    "POST /api/v1/auth/login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(request.as_bytes()).expect("write");
                sent.wait();
                let mut reply = String::new();
                let _ = std::io::Read::read_to_string(&mut stream, &mut reply);
                reply
            })
        })
        .collect();
    sent.wait();
    // The batch is being served once the first sign-in has finished; the others are in flight.
    first_done_rx.recv_timeout(Duration::from_secs(10)).expect("a sign-in finishes");
    let started = std::time::Instant::now();
    let term = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(term.success());
    let replies: Vec<String> = workers.into_iter().map(|w| w.join().expect("worker")).collect();
    let finished = replies.iter().filter(|r| r.starts_with("HTTP/1.1 200")).count();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "still running 10 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = log.join().unwrap_or_default();
    assert_eq!(finished, replies.len(), "in-flight requests did not finish; the log:\n{log}");
    assert!(!log.contains("panicked"), "{log}");
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    assert!(std::net::TcpStream::connect(&address).is_err(), "no new connections after shutdown");
    let _ = std::fs::remove_dir_all(dir);
}

fn http_get(address: &str, path: &str) -> String {
    let Ok(mut stream) = std::net::TcpStream::connect(address) else { return String::new() };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").as_bytes());
    let mut reply = String::new();
    let _ = std::io::Read::read_to_string(&mut stream, &mut reply);
    reply
}
