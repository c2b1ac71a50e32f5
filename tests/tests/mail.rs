//! The mailer against a real SMTP conversation (the harness's sink), an outage, and the
//! directory fallback.

use std::time::{Duration, Instant};

use cloudcx_auth::mail::{Mailer, OutgoingMail};
use cloudcx_auth_tests::smtp::SmtpSink;

const FROM: &str = "CloudCX <no-reply@cloudcx.local>";

fn code_mail(to: &str, code: &str) -> OutgoingMail {
    OutgoingMail {
        to: to.into(),
        subject: "Your CloudCX sign-in code".into(),
        // Over 78 characters a line: lettre encodes it quoted-printable, which the sink decodes.
        text: format!(
            "Your CloudCX sign-in code is {code}\n\nIt expires in 10 minutes. If you did not ask for it, someone may know your password: change it.\n.a line that starts with a dot\n"
        ),
    }
}

fn temp_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("cloudcx-outbox-{}", uuid::Uuid::new_v4()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_travels_over_smtp_to_the_sink() {
    let sink = SmtpSink::start().await;
    let mailer = Mailer::new(Some(&sink.url()), temp_dir(), FROM).expect("mailer");

    mailer.send(&code_mail("alice@acme.example", "123456")).await.expect("send");
    assert_eq!(sink.next_code_for("alice@acme.example").await, "123456");

    let all = sink.all();
    assert_eq!(all.len(), 1);
    let m = &all[0];
    assert_eq!(m.to, vec!["alice@acme.example".to_string()]);
    assert_eq!(m.subject(), "Your CloudCX sign-in code");
    assert!(m.header("from").is_some_and(|f| f.contains("no-reply@cloudcx.local")));
    assert!(m.body().contains("someone may know your password: change it."), "decoded body: {}", m.body());
    assert!(m.body().contains("\n.a line that starts with a dot"), "dot-stuffing undone: {}", m.body());
    // lettre 0.11 sends long lines quoted-printable: the sink's decoding is what made the
    // assertions above see plain text.
    assert_eq!(m.header("content-transfer-encoding").as_deref(), Some("quoted-printable"));

    // A second code on a fresh connection; the next call sees only the new message.
    mailer.send(&code_mail("Alice@Acme.example", "081804")).await.expect("send again");
    mailer.send(&code_mail("bob@acme.example", "654321")).await.expect("send to bob");
    assert_eq!(sink.next_code_for("alice@acme.example").await, "081804");
    assert_eq!(sink.next_code_for("bob@acme.example").await, "654321");
    let bob = sink.wait_for("bob@acme.example", |m| m.body().contains("654321"), Duration::from_secs(1)).await;
    assert!(bob.is_for("BOB@acme.example"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_server_is_an_error_quickly_and_recovery_works() {
    let sink = SmtpSink::start().await;
    let mailer = Mailer::new(Some(&sink.url()), temp_dir(), FROM).expect("mailer");

    sink.set_refusing(true);
    let started = Instant::now();
    let err = mailer.send(&code_mail("carol@acme.example", "111111")).await.expect_err("refused");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert!(err.to_string().starts_with("mail server refused or unreachable"), "{err}");
    assert!(sink.all().is_empty());

    sink.set_refusing(false);
    mailer.send(&code_mail("carol@acme.example", "222222")).await.expect("delivered after the outage");
    assert_eq!(sink.next_code_for("carol@acme.example").await, "222222");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_an_error() {
    // Bind and drop to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let mailer = Mailer::new(Some(&format!("smtp://127.0.0.1:{port}")), temp_dir(), FROM).expect("mailer");
    let started = Instant::now();
    assert!(mailer.send(&code_mail("dave@acme.example", "333333")).await.is_err());
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_smtp_each_mail_is_one_file() {
    let dir = temp_dir();
    let mailer = Mailer::new(None, dir.clone(), FROM).expect("mailer");
    mailer.send(&code_mail("erin@acme.example", "444444")).await.expect("write");

    let files: Vec<_> = std::fs::read_dir(&dir).expect("outbox dir").map(|e| e.expect("entry").path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
    let text = std::fs::read_to_string(&files[0]).expect("read");
    assert!(text.contains("To: erin@acme.example"));
    assert!(text.contains("444444"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&files[0]).expect("meta").permissions().mode() & 0o777, 0o600);
    }
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
