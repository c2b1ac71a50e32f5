//! Outgoing mail: lettre over SMTP when `AUTH_SMTP_URL` is set, else `.eml` files in a
//! directory (`data/outbox/`). Bodies carry one-time codes and links: they are never logged.
//! What each mail says, in each language: [`letters`], from the catalogs of [`catalog`].

pub mod catalog;
pub mod letters;

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How long one SMTP hand-over may take (connect, and each command's answer).
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// One message to one recipient, plain text.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body (secret: never logged).
    pub text: String,
}

/// Why a message was not handed over.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The server refused the message, did not answer in time, or could not be reached (for
    /// the directory transport: the file could not be written; also an unusable recipient).
    #[error("mail server refused or unreachable: {0}")]
    Delivery(String),
}

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    /// An SMTP server (`AUTH_SMTP_URL`).
    Smtp {
        /// lettre's async transport (no pool: one connection a message).
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// The `From:` mailbox (also the envelope sender).
        from: Mailbox,
    },
    /// One `.eml` file per message in this directory.
    Dir {
        /// The directory (created on first use).
        dir: PathBuf,
        /// The `From:` mailbox.
        from: Mailbox,
    },
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Smtp { from, .. } => f.debug_struct("Mailer::Smtp").field("from", &from.to_string()).finish(),
            Self::Dir { dir, from } => {
                f.debug_struct("Mailer::Dir").field("dir", dir).field("from", &from.to_string()).finish()
            }
        }
    }
}

impl Mailer {
    /// `AUTH_SMTP_URL` (smtp://host:port, lettre URL syntax, plain/no TLS when the URL says so)
    /// or, when None, files in `dir`. `from` is a mailbox such as
    /// `CloudCX <no-reply@cloudcx.local>`.
    ///
    /// URL forms (lettre): `smtp://host:port` plain SMTP, `smtp://host:port?tls=required`
    /// STARTTLS, `smtps://host:port` TLS from the first byte; `user:pass@` adds credentials.
    pub fn new(smtp_url: Option<&str>, dir: PathBuf, from: &str) -> anyhow::Result<Self> {
        let from: Mailbox = from.parse().map_err(|e| anyhow::anyhow!("mail sender {from:?}: {e}"))?;
        match smtp_url {
            Some(url) => {
                // Do not echo the URL: it may carry a password.
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| anyhow::anyhow!("AUTH_SMTP_URL is not a usable SMTP URL: {e}"))?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build();
                Ok(Self::Smtp { transport, from })
            }
            None => Ok(Self::Dir { dir, from }),
        }
    }

    /// Hands the message to the server (10 s timeout for the whole conversation, on a fresh
    /// connection) or writes it as one .eml file (unique name, 0600). Never logs the body.
    pub async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let from = match self {
            Self::Smtp { from, .. } | Self::Dir { from, .. } => from.clone(),
        };
        let message = build(from, mail)?;
        match self {
            // One connection a message (lettre built without its pool: the pool spawns tasks on
            // the runtime that built it and again when dropped, which panics outside a runtime).
            // lettre's timeout bounds the connection and each answer; the outer one the whole
            // conversation, so a server that answers drop by drop cannot hold a request either.
            Self::Smtp { transport, .. } => match tokio::time::timeout(SMTP_TIMEOUT, transport.send(message)).await {
                Ok(Ok(_response)) => Ok(()),
                Ok(Err(e)) => Err(MailError::Delivery(e.to_string())),
                Err(_) => Err(MailError::Delivery("the mail server did not answer within 10 s".into())),
            },
            Self::Dir { dir, .. } => {
                let dir = dir.clone();
                let bytes = message.formatted();
                tokio::task::spawn_blocking(move || write_eml(&dir, &bytes))
                    .await
                    .map_err(|e| MailError::Delivery(format!("mail file writer stopped: {e}")))?
            }
        }
    }
}

/// The message as lettre builds it (Date, Message-ID, MIME headers and body encoding).
fn build(from: Mailbox, mail: &OutgoingMail) -> Result<Message, MailError> {
    let to: Mailbox = mail.to.parse().map_err(|_| MailError::Delivery("the recipient address is not usable".into()))?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(mail.text.clone())
        .map_err(|e| MailError::Delivery(format!("the message could not be built: {e}")))
}

/// Writes one message as `{unix-millis}-{uuid}.eml`, created exclusively, mode 0600.
fn write_eml(dir: &Path, bytes: &[u8]) -> Result<(), MailError> {
    use std::io::Write;

    let fail = |what: &str, e: std::io::Error| MailError::Delivery(format!("{what} {}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(|e| fail("cannot create the mail directory", e))?;
    let millis =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
    let name = format!("{millis}-{}.eml", uuid::Uuid::new_v4());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let path = dir.join(name);
    let mut file = options.open(&path).map_err(|e| fail("cannot create a mail file in", e))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|e| fail("cannot write a mail file in", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail() -> OutgoingMail {
        OutgoingMail {
            to: "alice@acme.example".into(),
            subject: "Your CloudCX sign-in code".into(),
            text: "Your code is 123456".into(),
        }
    }

    #[test]
    fn urls_and_senders_are_checked() {
        let dir = std::env::temp_dir();
        assert!(Mailer::new(Some("smtp://127.0.0.1:2525"), dir.clone(), "CloudCX <no-reply@cloudcx.local>").is_ok());
        assert!(Mailer::new(Some("smtp://127.0.0.1:2525?tls=required"), dir.clone(), "no-reply@cloudcx.local").is_ok());
        assert!(Mailer::new(Some("smtps://mail.example.com"), dir.clone(), "no-reply@cloudcx.local").is_ok());
        assert!(Mailer::new(Some("http://mail"), dir.clone(), "no-reply@cloudcx.local").is_err());
        assert!(Mailer::new(Some("not a url"), dir.clone(), "no-reply@cloudcx.local").is_err());
        assert!(Mailer::new(None, dir, "not an address").is_err());
    }

    #[tokio::test]
    async fn directory_transport_writes_one_private_file() {
        let dir = std::env::temp_dir().join(format!("cloudcx-mail-{}", uuid::Uuid::new_v4()));
        let mailer = Mailer::new(None, dir.clone(), "CloudCX <no-reply@cloudcx.local>").expect("mailer");
        mailer.send(&mail()).await.expect("send");
        mailer.send(&mail()).await.expect("send again");
        let files: Vec<_> = std::fs::read_dir(&dir).expect("dir").map(|e| e.expect("entry").path()).collect();
        assert_eq!(files.len(), 2, "one file a message");
        let text = std::fs::read_to_string(&files[0]).expect("read");
        assert!(text.contains("To: alice@acme.example"));
        assert!(text.contains("123456"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&files[0]).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[tokio::test]
    async fn an_unusable_recipient_is_an_error() {
        let dir = std::env::temp_dir().join(format!("cloudcx-mail-{}", uuid::Uuid::new_v4()));
        let mailer = Mailer::new(None, dir.clone(), "no-reply@cloudcx.local").expect("mailer");
        let bad = OutgoingMail { to: "not an address".into(), ..mail() };
        assert!(mailer.send(&bad).await.is_err());
        assert!(!dir.exists());
    }
}
