//! Structured logs (JSON lines on stdout). No secret is ever a field: handlers log ids and outcomes.
//!
//! Every line logged while a request is served carries, in its `spans`, the request's span:
//! `route` (the pattern, never the raw path with its ids), `method` and `request_id` (the
//! `X-Request-Id` of the answer).

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::EnvFilter;

/// Logs to stdout, filtered by `RUST_LOG` (default `info,actix_server=warn`).
pub fn init() {
    init_with_writer(std::io::stdout);
}

/// Logs to `writer` instead (tests that read the log lines). The first call in a process wins.
pub fn init_with_writer<W>(writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    // `try_init` also routes the `log` records of dependencies into the same lines.
    let _ = subscriber(writer).try_init();
}

/// The subscriber [`init`] installs, writing JSON lines to `writer`.
pub fn subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(true)
        .with_writer(writer)
        .finish()
}
