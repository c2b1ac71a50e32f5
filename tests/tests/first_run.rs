//! The first run as a person sees it (issue 20, §3): readable log lines when asked for (or on a
//! terminal), JSON lines otherwise, and start-up ending with one plain line that says where to
//! open the app and as whom to sign in.
//!
//! Each start-up runs in a child process (this test binary again, as in `edges.rs`) with the
//! program's own steps — `AUTH_LOG_FORMAT` read, the log subscriber installed on the real
//! standard output, the application built, the ready line announced — and is read through a
//! pipe, as a log collector would read it.

use std::io::BufRead as _;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cloudcx_auth::clock::SystemClock;
use cloudcx_auth::db::DbTarget;
use cloudcx_auth::startup::Application;
use cloudcx_auth::telemetry::{self, LogFormat};
use cloudcx_auth_tests::*;

/// Set in the child process: the SQLite file to start on.
const CHILD: &str = "CLOUDCX_FIRST_RUN_CHILD";
/// What the child prints first, so that the parent can tell the test harness's own lines apart.
const MARK: &str = "--- start-up ---";
const READY: &str = "CloudCX Auth is ready: open http://127.0.0.1:";
const DEADLINE: Duration = Duration::from_secs(60);

/// The child: the program's start-up on `path`, then it serves until the parent ends it.
fn start_up(path: String) {
    println!("{MARK}");
    let format = LogFormat::from_env().expect("AUTH_LOG_FORMAT");
    telemetry::init_as(format);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async move {
        let app = Application::build(test_config(DbTarget::Sqlite(path)), std::sync::Arc::new(SystemClock))
            .await
            .expect("start-up");
        app.announce_ready(format);
        drop(app.run_until_stopped().await);
    });
}

/// What a start-up printed, read until `until` matches a line of `stream` (or the deadline).
struct Output {
    stdout: Vec<String>,
    stderr: Vec<String>,
}

/// Starts the child with `AUTH_LOG_FORMAT=format` and reads its two streams until a line of
/// standard output (`on_stdout`) or standard error starts with the ready line, then ends it.
fn start(test: &str, format: &str, on_stdout: bool) -> Output {
    // A first run: a new, empty file (as `make run` on a fresh `data/`), not a copy of the
    // migrated template, so that start-up creates it and switches it to WAL itself.
    let dir = std::env::temp_dir().join(format!("cx-first-run-{}-{}", std::process::id(), test.len()));
    drop(std::fs::remove_dir_all(&dir));
    std::fs::create_dir_all(&dir).expect("a directory for the new database");
    let path = dir.join("auth.db").to_string_lossy().into_owned();
    let me = std::env::current_exe().expect("test binary");
    let mut child = Command::new(&me)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD, &path)
        .env("AUTH_LOG_FORMAT", format)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("child starts");
    let (tx, rx) = mpsc::channel::<(bool, String)>();
    for (is_stdout, stream) in [
        (true, Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>),
        (false, Box::new(child.stderr.take().expect("stderr"))),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stream).lines().map_while(Result::ok) {
                if tx.send((is_stdout, line)).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let started = Instant::now();
    let mut lines = Vec::new();
    let ready = loop {
        let left = DEADLINE.saturating_sub(started.elapsed());
        let Ok((is_stdout, line)) = rx.recv_timeout(left) else { break false };
        let done = is_stdout == on_stdout && line.starts_with(READY);
        lines.push((is_stdout, line));
        if done {
            break true;
        }
    };
    drop(child.kill());
    drop(child.wait());
    drop(std::fs::remove_dir_all(&dir));
    // The rest of what it wrote before it ended (the two pipes are read apart: a line written
    // earlier on the other stream may still be on its way).
    let on_the_way: Vec<_> = rx.iter().collect();
    let (mut stdout, mut stderr, mut marked) = (Vec::new(), Vec::new(), false);
    for (is_stdout, line) in lines.into_iter().chain(on_the_way) {
        match (is_stdout, marked) {
            (false, _) => stderr.push(line),
            (true, true) => stdout.push(line),
            // The harness writes `test NAME ... ` before the test runs, on the same line.
            (true, false) => marked = line.ends_with(MARK),
        }
    }
    assert!(
        ready,
        "no ready line within {DEADLINE:?}:\nstdout:\n{}\nstderr:\n{}",
        stdout.join("\n"),
        stderr.join("\n")
    );
    Output { stdout, stderr }
}

fn ready_line_says_where_to_open_the_app(line: &str) {
    let rest = line.strip_prefix(READY).unwrap_or_else(|| panic!("not the ready line: {line}"));
    let (port, whom) = rest.split_once(' ').unwrap_or((rest, ""));
    assert!(port.parse::<u16>().is_ok_and(|p| p > 0), "the bound port: {line}");
    assert_eq!(whom, format!("and sign in to site \"{TENANT}\" as {ADMIN_EMAIL}"), "{line}");
}

#[test]
fn with_text_logs_the_lines_are_readable_and_start_up_ends_saying_where_to_open_the_app() {
    if let Ok(path) = std::env::var(CHILD) {
        return start_up(path);
    }
    let out =
        start("with_text_logs_the_lines_are_readable_and_start_up_ends_saying_where_to_open_the_app", "text", true);
    let ready = out.stdout.iter().position(|l| l.starts_with(READY)).expect("the ready line on stdout");
    let (last, logs) = out.stdout[..=ready].split_last().expect("start-up lines");
    ready_line_says_where_to_open_the_app(last);
    assert!(
        logs.iter().any(|l| l.contains("INFO") && l.contains("listening")),
        "a readable start-up log before the ready line:\n{}",
        logs.join("\n")
    );
    // A first start on a new database file has nothing to complain about (before, the pool's
    // first connections raced the switch to WAL and r2d2 logged "database is locked").
    assert!(
        !out.stdout.iter().chain(&out.stderr).any(|l| l.contains("ERROR") || l.contains("database is locked")),
        "an error on a first start:\n{}\n{}",
        out.stdout.join("\n"),
        out.stderr.join("\n")
    );
    for line in &out.stdout {
        assert!(serde_json::from_str::<serde_json::Value>(line).is_err(), "a JSON line with text logs: {line}");
        assert!(!line.contains('\u{1b}'), "colour codes on a pipe: {line:?}");
    }
}

#[test]
fn with_json_logs_every_line_on_stdout_is_json_and_the_ready_line_goes_to_stderr() {
    if let Ok(path) = std::env::var(CHILD) {
        return start_up(path);
    }
    let out = start("with_json_logs_every_line_on_stdout_is_json_and_the_ready_line_goes_to_stderr", "json", false);
    let ready = out.stderr.iter().find(|l| l.starts_with(READY)).expect("the ready line on stderr");
    ready_line_says_where_to_open_the_app(ready);
    assert!(!out.stdout.is_empty(), "no log line on stdout");
    for line in &out.stdout {
        let json: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(json["level"].is_string(), "{line}");
    }
    assert!(out.stdout.iter().any(|l| l.contains("\"listening\"")), "{}", out.stdout.join("\n"));
}
