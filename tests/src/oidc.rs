//! A real OpenID Provider for the SSO tests: npm `oidc-provider` (a certified implementation),
//! run from `tests/oidc-provider/provider.mjs` as a child process on loopback, plus a
//! browser-less driver of its login pages.
//!
//! `npm ci` must have been run in `tests/oidc-provider` (`make test` does it).
//!
//! The provider's accounts: any login name signs in with any password; the login is the `sub`;
//! `email` is the login when it contains '@', else `{login}@example.com`; `name` is the part
//! before any '@'; `email_verified` is true unless started with [`OidcProvider::start_with`]
//! and `email_verified = false`. Consent is granted automatically. PKCE (S256) is required, the
//! ID token is RS256 and carries `email`, `email_verified`, `name` and `nonce`, and the
//! clients authenticate at the token endpoint with `client_secret_basic`.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use url::Url;

/// How long the provider may take to print its ready line.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Most requests [`login_at_provider`] makes before giving up (a loop, or an unexpected page).
const MAX_STEPS: usize = 20;
/// The password typed into the provider's login form (any password is accepted).
pub const PROVIDER_PASSWORD: &str = "anything";
/// How much of the provider's stderr is kept for failure messages.
const MAX_LOG: usize = 64 * 1024;

/// The folder of the Node provider (`tests/oidc-provider`).
pub fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oidc-provider")
}

/// A running `oidc-provider` on `http://127.0.0.1:PORT`, killed when dropped.
pub struct OidcProvider {
    /// `http://127.0.0.1:PORT`: the issuer, and the discovery base.
    pub issuer: String,
    child: Child,
    log: Arc<Mutex<String>>,
}

impl OidcProvider {
    /// Starts a provider that knows these clients `(client_id, client_secret, redirect_uri)`,
    /// with verified e-mail addresses. Panics (with the provider's stderr) if it does not start.
    pub async fn start(clients: &[(&str, &str, &str)]) -> Self {
        Self::start_with(clients, true).await
    }

    /// As [`OidcProvider::start`], choosing the `email_verified` claim of every account.
    pub async fn start_with(clients: &[(&str, &str, &str)], email_verified: bool) -> Self {
        let dir = provider_dir();
        assert!(
            dir.join("node_modules/oidc-provider").is_dir(),
            "{} has no node_modules: run `npm ci` there (make test does)",
            dir.display()
        );
        let clients_json = serde_json::Value::Array(
            clients
                .iter()
                .map(|(id, secret, redirect)| {
                    serde_json::json!({"client_id": id, "client_secret": secret, "redirect_uris": [redirect]})
                })
                .collect(),
        );
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(&dir)
            .env("PORT", "0")
            .env("CLIENTS", clients_json.to_string())
            .env("CLAIMS_EMAIL_VERIFIED", if email_verified { "true" } else { "false" })
            .env("EXIT_ON_STDIN_EOF", "1")
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start `node provider.mjs` (is Node installed?)");

        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        tokio::spawn(collect(stderr, log.clone()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();

        let issuer = tokio::time::timeout(START_TIMEOUT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                    if v["ready"] == true {
                        if let Some(issuer) = v["issuer"].as_str() {
                            return Some(issuer.to_string());
                        }
                    }
                }
            }
            None
        })
        .await;
        let issuer = match issuer {
            Ok(Some(issuer)) => issuer,
            Ok(None) => {
                let status = child.wait().await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                panic!("oidc-provider exited before it was ready ({status:?}): {}", snapshot(&log));
            }
            Err(_) => panic!("oidc-provider not ready after {START_TIMEOUT:?}: {}", snapshot(&log)),
        };
        // Keep draining stdout so the provider never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { issuer, child, log }
    }

    /// `{issuer}/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer)
    }

    /// What the provider has written to stderr so far (its warnings), for failure messages.
    pub fn log(&self) -> String {
        snapshot(&self.log)
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn collect(mut from: impl AsyncRead + Unpin, into: Arc<Mutex<String>>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let mut log = into.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() < MAX_LOG {
            log.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
}

fn snapshot(log: &Mutex<String>) -> String {
    log.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// A fresh PKCE pair `(code_verifier, code_challenge)` for S256 (RFC 7636).
pub fn pkce_pair() -> (String, String) {
    let verifier = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    (verifier.clone(), pkce_challenge(&verifier))
}

/// `BASE64URL(SHA-256(verifier))`, the S256 code challenge.
pub fn pkce_challenge(verifier: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

enum Step {
    Get(Url),
    Post(Url, Vec<(String, String)>),
}

/// Signs in at the provider without a browser, as user `login`, and returns the URL the provider
/// finally sends the browser to (the client's redirect URI with `code` and `state`, or `error`).
///
/// `client` must keep cookies and must not follow redirects (like `TestApp::client`). Starting
/// at `authorization_url`, it follows redirects by hand while they stay on the provider's origin;
/// on an HTML page it submits the page's first form (the devInteractions login form with `login`
/// and [`PROVIDER_PASSWORD`], or a consent form as it is); it stops at the first redirect whose
/// `Location` leaves the provider's origin and returns that `Location` as sent. Panics on any
/// other answer (an error page, a loop).
pub async fn login_at_provider(client: &reqwest::Client, authorization_url: &str, login: &str) -> String {
    let start = Url::parse(authorization_url).expect("authorization URL");
    let origin = start.origin();
    let mut step = Step::Get(start);
    for _ in 0..MAX_STEPS {
        let (here, request) = match step {
            Step::Get(url) => (url.clone(), client.get(url)),
            Step::Post(url, fields) => (url.clone(), client.post(url).form(&fields)),
        };
        let resp = request.send().await.unwrap_or_else(|e| panic!("request to {here} failed: {e}"));
        let status = resp.status();
        if status.is_redirection() {
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("{status} without Location at {here}"))
                .to_string();
            let target = here.join(&location).unwrap_or_else(|e| panic!("bad Location {location:?} at {here}: {e}"));
            if target.origin() != origin {
                return if Url::parse(&location).is_ok() { location } else { target.to_string() };
            }
            step = Step::Get(target);
            continue;
        }
        let body = resp.text().await.unwrap_or_default();
        if status.is_success() {
            if let Some(form) = first_form(&body) {
                let action = here.join(&form.action).unwrap_or_else(|e| panic!("bad form action at {here}: {e}"));
                assert_eq!(action.origin(), origin, "the provider's form posts elsewhere: {action}");
                let fields = form
                    .inputs
                    .into_iter()
                    .map(|(name, value)| match name.as_str() {
                        "login" => (name, login.to_string()),
                        "password" => (name, PROVIDER_PASSWORD.to_string()),
                        _ => (name, value),
                    })
                    .collect();
                step = Step::Post(action, fields);
                continue;
            }
        }
        panic!("unexpected answer from the provider at {here}: {status}: {body}");
    }
    panic!("no redirect away from the provider after {MAX_STEPS} requests")
}

/// A page's first `<form>`: its `action` and its named inputs with their values.
struct Form {
    action: String,
    inputs: Vec<(String, String)>,
}

fn first_form(html: &str) -> Option<Form> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<form")?;
    let tag_end = start + lower[start..].find('>')?;
    let end = lower[tag_end..].find("</form>").map_or(html.len(), |i| tag_end + i);
    let action = attribute(&html[start + 5..tag_end], "action").unwrap_or_default();
    let mut inputs = Vec::new();
    let mut at = tag_end;
    while let Some(i) = lower[at..end].find("<input") {
        let open = at + i + "<input".len();
        let close = open + lower[open..end].find('>')?;
        let tag = &html[open..close];
        if let Some(name) = attribute(tag, "name") {
            inputs.push((name, attribute(tag, "value").unwrap_or_default()));
        }
        at = close;
    }
    Some(Form { action, inputs })
}

/// The (unescaped) value of attribute `name` in the inside of a tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut rest = tag.trim_start_matches('/');
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if rest.is_empty() {
            return None;
        }
        let key_end = rest.find(|c: char| c.is_whitespace() || c == '=' || c == '/').unwrap_or(rest.len());
        let key = &rest[..key_end];
        rest = rest[key_end..].trim_start();
        let value = if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (value, remaining) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let body = &after[1..];
                    let close = body.find(q).unwrap_or(body.len());
                    (&body[..close], body.get(close + 1..).unwrap_or(""))
                }
                _ => {
                    let close = after.find(char::is_whitespace).unwrap_or(after.len());
                    (&after[..close], &after[close..])
                }
            };
            rest = remaining;
            Some(value)
        } else {
            None
        };
        if key.eq_ignore_ascii_case(name) {
            return Some(unescape(value.unwrap_or("")));
        }
        if key.is_empty() {
            // Not an attribute (stray character): skip it.
            rest = rest.get(1..).unwrap_or("");
        }
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2F;", "/")
        .replace("&#47;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_dev_interactions_login_form() {
        let html = r#"<div><form autocomplete="off" action="http://127.0.0.1:1/interaction/abc/login?x=1&amp;y=2" method="post">
  <input type="hidden" name="prompt" value="login"/>
  <input required type="text" name="login" placeholder="Enter any login" autofocus="on">
  <input required type="password" name="password" placeholder="and password" >
  <button type="submit" class="login login-submit">Sign-in</button>
</form></div><form action="/other"><input name="nope"></form>"#;
        let form = first_form(html).expect("form");
        assert_eq!(form.action, "http://127.0.0.1:1/interaction/abc/login?x=1&y=2");
        let names: Vec<_> = form.inputs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        assert_eq!(names, [("prompt", "login"), ("login", ""), ("password", "")]);
    }

    #[test]
    fn pkce_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
