//! What every request can reach: configuration, the database, keys, the hashing pool, the clock.

use std::sync::Arc;

use crate::auth::jwt::KeySet;
use crate::auth::password::PasswordHasher;
use crate::auth::secrets::DataKey;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::mail::Mailer;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// `AUTH_PUBLIC_URL`, or `http://{bound address}`, without a trailing slash.
    pub public_url: Arc<str>,
    pub db: Db,
    pub keys: Arc<KeySet>,
    pub hasher: PasswordHasher,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    /// `AUTH_DATA_KEY`: seals secrets at rest and keys the code hashes.
    pub data_key: DataKey,
    pub mailer: Mailer,
    /// Wakes the outbox sender after a notice is queued.
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// OpenID Connect client with its discovery cache.
    pub oidc: Arc<crate::auth::oidc::OidcClient>,
    /// What the public URL's scheme and host decide (`Secure` cookies, HSTS), judged once.
    pub transport: crate::config::Transport,
    /// The WebAuthn relying party of `AUTH_PUBLIC_URL`, built once at start-up; `None` when its
    /// host is an IP address (WebAuthn needs a domain): passkeys are then unavailable.
    pub webauthn: Option<Arc<webauthn_rs::Webauthn>>,
}

impl AppState {
    pub fn now(&self) -> i64 {
        self.clock.unix()
    }

    /// Access tokens live 15 minutes.
    pub const ACCESS_TOKEN_SECS: i64 = 15 * 60;

    pub fn session_max_secs(&self) -> i64 {
        self.config.session_max_hours * 3600
    }

    pub fn session_idle_secs(&self) -> i64 {
        self.config.session_idle_minutes * 60
    }

    /// Cookies drop `Secure` only for plain-http development on the loopback ([`crate::config::Transport`]).
    pub fn cookies_secure(&self) -> bool {
        self.transport.cookies_secure
    }
}
