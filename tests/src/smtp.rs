//! A real SMTP sink on loopback for the black-box tests: the application's mailer (lettre) holds
//! a true SMTP conversation with it, and the tests read the delivered mail (and the codes in it)
//! back out. It can also play an outage: `set_refusing(true)` answers 554 to `MAIL FROM`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// How long `next_code_for` waits for a new message.
const CODE_TIMEOUT: Duration = Duration::from_secs(10);
/// Poll interval of the waiting helpers.
const POLL: Duration = Duration::from_millis(20);
/// A message larger than this is refused (552) rather than buffered.
const MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;

/// One delivered message.
#[derive(Debug, Clone)]
pub struct Received {
    /// The envelope recipients (`RCPT TO`), as sent.
    pub to: Vec<String>,
    /// The full message, headers included, with a quoted-printable or base64 body decoded
    /// (the headers are left as they came, `Content-Transfer-Encoding` included).
    pub data: String,
}

impl Received {
    /// Whether `address` is among the envelope recipients (case-insensitive).
    pub fn is_for(&self, address: &str) -> bool {
        self.to.iter().any(|t| t.eq_ignore_ascii_case(address))
    }

    /// The (decoded) body: everything after the first blank line.
    pub fn body(&self) -> &str {
        split_message(&self.data).1
    }

    /// The first value of header `name` (case-insensitive), unfolded and trimmed.
    pub fn header(&self, name: &str) -> Option<String> {
        header_value(split_message(&self.data).0, name)
    }

    /// The `Subject:` header (as sent: an encoded word stays encoded).
    pub fn subject(&self) -> String {
        self.header("subject").unwrap_or_default()
    }

    /// The first standalone 6-digit number in the body.
    pub fn code(&self) -> Option<String> {
        first_six_digits(self.body())
    }
}

#[derive(Default)]
struct Inner {
    messages: Mutex<Vec<Received>>,
    refusing: AtomicBool,
    /// Lowercased address → how many of its messages `next_code_for` has already looked at.
    cursors: Mutex<HashMap<String, usize>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An SMTP server on `127.0.0.1`, on a free port, that keeps every message it accepts.
pub struct SmtpSink {
    /// The port it listens on.
    pub port: u16,
    inner: Arc<Inner>,
    accept_task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

impl SmtpSink {
    /// Binds `127.0.0.1:0` and starts accepting (each connection on its own task).
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the SMTP sink");
        let port = listener.local_addr().expect("SMTP sink address").port();
        let inner = Arc::new(Inner::default());
        let shared = inner.clone();
        let accept_task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    // A client that hangs up mid-conversation is not the sink's problem.
                    let _ = serve(stream, shared).await;
                });
            }
        });
        SmtpSink { port, inner, accept_task }
    }

    /// `smtp://127.0.0.1:PORT` (plain SMTP, lettre URL syntax): the value for `AUTH_SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// When true, `MAIL FROM` is answered 554 (a mail outage); false delivers again.
    pub fn set_refusing(&self, refuse: bool) {
        self.inner.refusing.store(refuse, Ordering::SeqCst);
    }

    /// Every message accepted so far, oldest first.
    pub fn all(&self) -> Vec<Received> {
        lock(&self.inner.messages).clone()
    }

    /// Every message accepted so far for `to`, oldest first.
    pub fn all_for(&self, to: &str) -> Vec<Received> {
        lock(&self.inner.messages).iter().filter(|m| m.is_for(to)).cloned().collect()
    }

    /// The oldest message for `to` that `matching` accepts, waiting up to `timeout` for it.
    /// Panics on timeout, listing what did arrive.
    pub async fn wait_for(&self, to: &str, matching: impl Fn(&Received) -> bool, timeout: Duration) -> Received {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(found) = self.all_for(to).into_iter().find(|m| matching(m)) {
                return found;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!("no matching mail for {to} within {timeout:?}; received: {}", self.summary());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits (10 s) for a NEW message to `to` since the last call for that address and returns
    /// the first 6-digit number in its text. "New" counts every message for `to` that arrived
    /// since the previous call; among them the newest one that carries a code wins (a resend
    /// voids the older code; notices without a code are passed over). Panics on timeout.
    pub async fn next_code_for(&self, to: &str) -> String {
        let key = to.to_ascii_lowercase();
        let deadline = tokio::time::Instant::now() + CODE_TIMEOUT;
        loop {
            let seen = lock(&self.inner.cursors).get(&key).copied().unwrap_or(0);
            let mine = self.all_for(to);
            let newest_code = mine.iter().skip(seen).rev().find_map(Received::code);
            if let Some(code) = newest_code {
                lock(&self.inner.cursors).insert(key, mine.len());
                return code;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "no new mail with a 6-digit code for {to} within {CODE_TIMEOUT:?} ({seen} already read); received: {}",
                    self.summary()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    fn summary(&self) -> String {
        let all = self.all();
        if all.is_empty() {
            return "nothing".into();
        }
        all.iter().map(|m| format!("[to {:?}: {:?}]", m.to, m.subject())).collect::<Vec<_>>().join(", ")
    }
}

/// One SMTP session (RFC 5321, the subset lettre uses; no AUTH, no STARTTLS).
async fn serve(stream: TcpStream, inner: Arc<Inner>) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    writer.write_all(b"220 sink.cloudcx.test ESMTP CloudCX test sink\r\n").await?;

    let mut mail_from: Option<String> = None;
    let mut rcpts: Vec<String> = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let command = text.trim_end_matches(['\r', '\n']);
        let verb = command.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink.cloudcx.test greets you\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760\r\n",
            "HELO" => b"250 sink.cloudcx.test\r\n",
            "MAIL" => {
                if inner.refusing.load(Ordering::SeqCst) {
                    b"554 5.3.0 mail service unavailable (test outage)\r\n"
                } else if let Some(from) = path_arg(command, "FROM:") {
                    mail_from = Some(from);
                    rcpts.clear();
                    b"250 2.1.0 OK\r\n"
                } else {
                    b"501 5.5.4 syntax: MAIL FROM:<address>\r\n"
                }
            }
            "RCPT" => match (&mail_from, path_arg(command, "TO:")) {
                (None, _) => b"503 5.5.1 MAIL first\r\n",
                (Some(_), Some(to)) if !to.is_empty() => {
                    rcpts.push(to);
                    b"250 2.1.5 OK\r\n"
                }
                (Some(_), _) => b"501 5.5.4 syntax: RCPT TO:<address>\r\n",
            },
            "DATA" => {
                if mail_from.is_none() || rcpts.is_empty() {
                    b"503 5.5.1 RCPT first\r\n"
                } else {
                    writer.write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n").await?;
                    match read_data(&mut reader).await? {
                        Some(raw) => {
                            let received = Received { to: std::mem::take(&mut rcpts), data: decode_message(&raw) };
                            mail_from = None;
                            lock(&inner.messages).push(received);
                            b"250 2.0.0 OK queued\r\n"
                        }
                        None => {
                            mail_from = None;
                            rcpts.clear();
                            b"552 5.3.4 message too big\r\n"
                        }
                    }
                }
            }
            "RSET" => {
                mail_from = None;
                rcpts.clear();
                b"250 2.0.0 OK\r\n"
            }
            "NOOP" => b"250 2.0.0 OK\r\n",
            "VRFY" => b"252 2.5.2 cannot verify\r\n",
            "QUIT" => {
                writer.write_all(b"221 2.0.0 bye\r\n").await?;
                writer.shutdown().await?;
                return Ok(());
            }
            _ => b"502 5.5.2 command not recognized\r\n",
        };
        writer.write_all(reply).await?;
    }
}

/// `<address>` after `MAIL FROM:` / `RCPT TO:` (parameters after it ignored). `Some("")` for
/// the null path `<>`.
fn path_arg(command: &str, keyword: &str) -> Option<String> {
    let rest = command.get(5..)?.trim_start();
    if !rest.get(..keyword.len())?.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = rest[keyword.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some(inner[..end].to_string())
}

/// The message lines up to the lone `.`, dot-stuffing undone, CRLF kept. `None` when over
/// the size limit (the rest is still read, so the session stays in step).
async fn read_data<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    let mut data = Vec::new();
    let mut too_big = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed in DATA"));
        }
        let content = line.strip_suffix(b"\n").map(|l| l.strip_suffix(b"\r").unwrap_or(l)).unwrap_or(&line);
        if content == b"." {
            return Ok(if too_big { None } else { Some(data) });
        }
        let unstuffed = if line.starts_with(b"..") { &line[1..] } else { &line[..] };
        if data.len() + unstuffed.len() > MAX_MESSAGE_BYTES {
            too_big = true;
            data.clear();
        }
        if !too_big {
            data.extend_from_slice(unstuffed);
        }
    }
}

/// Headers and body of a message, split at the first blank line.
fn split_message(data: &str) -> (&str, &str) {
    for sep in ["\r\n\r\n", "\n\n"] {
        if let Some(i) = data.find(sep) {
            return (&data[..i], &data[i + sep.len()..]);
        }
    }
    (data, "")
}

/// The first value of header `name`, continuation lines unfolded.
fn header_value(headers: &str, name: &str) -> Option<String> {
    let mut value: Option<String> = None;
    for line in headers.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(v) = value.as_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if value.is_some() {
            break;
        }
        if let Some((key, v)) = line.split_once(':') {
            if key.trim().eq_ignore_ascii_case(name) {
                value = Some(v.trim().to_string());
            }
        }
    }
    value
}

/// The raw message with its body decoded per `Content-Transfer-Encoding` (7bit/8bit as is,
/// quoted-printable, base64), as text.
fn decode_message(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (headers, body) = split_message(&text);
    let encoding = header_value(headers, "content-transfer-encoding").unwrap_or_default().to_ascii_lowercase();
    let decoded = match encoding.as_str() {
        "quoted-printable" => quoted_printable::decode(body.as_bytes(), quoted_printable::ParseMode::Robust)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .ok(),
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .ok()
        }
        _ => None,
    };
    match decoded {
        Some(body) => format!("{headers}\r\n\r\n{body}"),
        None => text,
    }
}

/// The first run of exactly six ASCII digits.
fn first_six_digits(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 6 {
                return Some(text[start..i].to_string());
            }
        } else {
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_digit_runs_only() {
        assert_eq!(first_six_digits("code 1234567 then 081804."), Some("081804".into()));
        assert_eq!(first_six_digits("2026-11-27 12345"), None);
        assert_eq!(first_six_digits("123456"), Some("123456".into()));
    }

    #[test]
    fn bodies_are_decoded() {
        let qp =
            b"Subject: x\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nYour code is =\r\n123456 =3D ok\r\n";
        let m = Received { to: vec!["a@b.c".into()], data: decode_message(qp) };
        assert!(m.body().contains("Your code is 123456 = ok"), "{}", m.data);
        assert_eq!(m.code().as_deref(), Some("123456"));
        let b64 = b"Subject: y\r\nContent-Transfer-Encoding: base64\r\n\r\nWW91ciBjb2RlIGlz\r\nIDA4MTgwNA==\r\n";
        let m = Received { to: vec!["a@b.c".into()], data: decode_message(b64) };
        assert_eq!(m.body(), "Your code is 081804");
        assert_eq!(m.subject(), "y");
    }

    #[test]
    fn paths_are_parsed() {
        assert_eq!(path_arg("MAIL FROM:<a@b.c> BODY=8BITMIME", "FROM:"), Some("a@b.c".into()));
        assert_eq!(path_arg("mail from: <a@b.c>", "FROM:"), Some("a@b.c".into()));
        assert_eq!(path_arg("RCPT TO:<x@y.z>", "TO:"), Some("x@y.z".into()));
        assert_eq!(path_arg("MAIL FROM:<>", "FROM:"), Some(String::new()));
        assert_eq!(path_arg("RCPT TO:x@y.z", "TO:"), None);
    }
}
