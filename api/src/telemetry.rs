//! Logs on stdout, in one of two formats (`AUTH_LOG_FORMAT`): JSON lines for log collectors, or
//! readable lines for a person at a terminal. No secret is ever a field: handlers log ids and
//! outcomes.
//!
//! Every line logged while a request is served carries its request's span: `route` (the
//! pattern, never the raw path with its ids), `method` and `request_id` (the `X-Request-Id` of
//! the answer) — in JSON, in its `spans`.

use std::io::IsTerminal as _;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::EnvFilter;

use crate::config::ConfigError;

/// The setting that chooses the format.
pub const LOG_FORMAT_VAR: &str = "AUTH_LOG_FORMAT";

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object a line (what log collectors keep).
    Json,
    /// One readable line an event, with colours only on a terminal.
    Text {
        /// ANSI colour codes: only when the lines go to a terminal.
        ansi: bool,
    },
}

impl LogFormat {
    /// `AUTH_LOG_FORMAT` is `json`, `text` or `pretty` (the same as `text`), in any case; unset
    /// or empty, the format follows where stdout goes: readable on a terminal, JSON otherwise.
    pub fn choose(value: Option<&str>, stdout_is_terminal: bool) -> Result<Self, ConfigError> {
        let value = value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_ascii_lowercase);
        match value.as_deref() {
            None if stdout_is_terminal => Ok(Self::Text { ansi: true }),
            None | Some("json") => Ok(Self::Json),
            Some("text" | "pretty") => Ok(Self::Text { ansi: stdout_is_terminal }),
            Some(_) => Err(ConfigError { var: LOG_FORMAT_VAR, expects: "json, text or pretty".into() }),
        }
    }

    /// From the process environment and the process's stdout.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::choose(std::env::var(LOG_FORMAT_VAR).ok().as_deref(), std::io::stdout().is_terminal())
    }
}

/// JSON lines to stdout, filtered by `RUST_LOG` (default `info,actix_server=warn`).
pub fn init() {
    init_with_writer(std::io::stdout);
}

/// Lines in `format` to stdout (the program: `format` from [`LogFormat::from_env`]).
pub fn init_as(format: LogFormat) {
    match format {
        LogFormat::Json => init(),
        LogFormat::Text { ansi } => {
            let _ = text_subscriber(std::io::stdout, ansi).try_init();
        }
    }
}

/// JSON lines to `writer` instead (tests that read the log lines). The first call in a process wins.
pub fn init_with_writer<W>(writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    // `try_init` also routes the `log` records of dependencies into the same lines.
    let _ = subscriber(writer).try_init();
}

fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"))
}

/// The subscriber [`init`] installs, writing JSON lines to `writer`.
pub fn subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter())
        .with_current_span(false)
        .with_span_list(true)
        .with_writer(writer)
        .finish()
}

/// The readable subscriber: time, level, message and fields on one line, the request's span
/// fields in front of the message.
pub fn text_subscriber<W>(writer: W, ansi: bool) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .compact()
        .with_ansi(ansi)
        .with_target(false)
        .with_env_filter(filter())
        .with_writer(writer)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_the_format_follows_where_stdout_goes() {
        assert_eq!(LogFormat::choose(None, true), Ok(LogFormat::Text { ansi: true }));
        assert_eq!(LogFormat::choose(None, false), Ok(LogFormat::Json));
        assert_eq!(LogFormat::choose(Some("  "), true), Ok(LogFormat::Text { ansi: true }));
        assert_eq!(LogFormat::choose(Some(""), false), Ok(LogFormat::Json));
    }

    #[test]
    fn json_is_json_on_a_terminal_too() {
        assert_eq!(LogFormat::choose(Some("json"), true), Ok(LogFormat::Json));
        assert_eq!(LogFormat::choose(Some("JSON"), false), Ok(LogFormat::Json));
    }

    #[test]
    fn text_has_colours_only_on_a_terminal() {
        for value in ["text", "pretty", "Text"] {
            assert_eq!(LogFormat::choose(Some(value), true), Ok(LogFormat::Text { ansi: true }), "{value}");
            assert_eq!(LogFormat::choose(Some(value), false), Ok(LogFormat::Text { ansi: false }), "{value}");
        }
    }

    #[test]
    fn another_format_is_refused_naming_the_variable() {
        for terminal in [true, false] {
            let e = LogFormat::choose(Some("yaml"), terminal).unwrap_err();
            assert_eq!(e.var, "AUTH_LOG_FORMAT");
            assert_eq!(e.to_string(), "AUTH_LOG_FORMAT: json, text or pretty");
        }
    }

    #[test]
    fn a_text_line_is_readable_and_carries_no_colour_codes_off_a_terminal() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().expect("buffer").extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        tracing::subscriber::with_default(text_subscriber(move || writer.clone(), false), || {
            let span = tracing::info_span!("request", method = "GET", route = "/healthz", request_id = "req-7");
            let _in = span.enter();
            tracing::info!(status = 200, "answered");
        });
        let logged = String::from_utf8(buffer.0.lock().expect("buffer").clone()).expect("utf-8");
        let line = logged.lines().find(|l| l.contains("answered")).expect("the line");
        assert!(serde_json::from_str::<serde_json::Value>(line).is_err(), "{line}");
        assert!(!line.contains('\u{1b}'), "no ANSI codes: {line:?}");
        assert!(line.contains("INFO") && line.contains("status=200"), "{line}");
        assert!(line.contains("req-7") && line.contains("/healthz"), "the request's span: {line}");
    }
}
