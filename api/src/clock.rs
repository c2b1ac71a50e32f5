//! The one source of time. The program uses the system clock; tests inject a [`TestClock`].

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Unix seconds, as stored in the database.
    fn unix(&self) -> i64 {
        self.now().timestamp()
    }
}

#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// System time plus an offset that only moves forward when a test says so.
#[derive(Debug, Default)]
pub struct TestClock {
    offset_secs: AtomicI64,
}

impl TestClock {
    pub fn advance(&self, seconds: i64) {
        self.offset_secs.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.offset_secs.load(Ordering::SeqCst))
    }
}

/// RFC 3339 UTC for a stored Unix time.
pub fn rfc3339(unix: i64) -> String {
    DateTime::<Utc>::from_timestamp(unix, 0).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
