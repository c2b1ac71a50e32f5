//! The sign-in flows, free of actix: password ([`password`]), the second-factor challenge
//! ([`challenge`]), SSO ([`sso`]), re-authentication ([`reauth`]) and passkeys ([`passkey`]). Each is a step that takes
//! typed input and returns an outcome enum that a handler maps to HTTP.
//!
//! Every guess is reserved in the database before it is checked ([`crate::db::attempts`]):
//! Argon2id runs only for a reserved password attempt, and a code is compared only within the
//! user's second-factor budget. A success gives its reservation back.

pub mod challenge;
pub mod passkey;
pub mod password;
pub mod reauth;
pub mod sso;
pub mod trusted;

use std::net::IpAddr;

use crate::auth::session::Lifetimes;
use crate::db::attempts::{Reservation, PASSWORD};
use crate::db::throttle::{self, SignInLookUp};
use crate::db::AnyConnection;
use crate::error::ApiError;
use crate::state::AppState;

/// The lifetimes of what a session hands out, from the configuration.
pub fn lifetimes(state: &AppState) -> Lifetimes {
    Lifetimes {
        access_secs: AppState::ACCESS_TOKEN_SECS,
        family_max_secs: state.session_max_secs(),
        family_idle_secs: state.session_idle_secs(),
    }
}

/// The per-address budget of the sign-in endpoints (`AUTH_SIGNIN_PER_IP_PER_MIN`): one request
/// counted in a fixed one-minute window shared by every instance.
#[derive(Debug, Clone)]
pub struct AddressBudget {
    key: String,
    limit: u32,
    now: i64,
}

impl AddressBudget {
    /// The budget of the client at `ip` (all clients whose address is unknown share one).
    pub fn new(ip: Option<IpAddr>, limit: u32, now: i64) -> Self {
        let ip = ip.map(|ip| ip.to_string()).unwrap_or_else(|| "unknown".into());
        Self { key: format!("signin-ip\n{ip}"), limit, now }
    }

    /// Counts one request; `Err(retry_after)` once the budget is spent.
    pub fn spend(&self, conn: &mut AnyConnection) -> diesel::QueryResult<Result<(), i64>> {
        throttle::hit(conn, &self.key, self.limit, 60, self.now)
    }

    /// [`AddressBudget::spend`], the reservation of a password attempt for `account_key` and
    /// the account behind (`slug`, `email`): one statement on PostgreSQL.
    pub fn spend_looking_up(
        &self,
        conn: &mut AnyConnection,
        account_key: &str,
        slug: &str,
        email: &str,
    ) -> diesel::QueryResult<SignInLookUp> {
        throttle::sign_in_look_up(conn, &self.key, self.limit, 60, self.now, account_key, slug, email)
    }

    /// Counts one request in its own database step.
    pub async fn spend_alone(&self, state: &AppState) -> Result<Result<(), i64>, ApiError> {
        let budget = self.clone();
        state.db.run(move |conn| budget.spend(conn).map_err(ApiError::from)).await
    }
}

/// How long a password attempt waits for the guesses in flight on its account to settle before
/// it is refused, and how often it asks again meanwhile. Only parallel sign-ins of one account
/// wait (a burst of guesses, or many tabs at once); a wrong guess settles within one hash.
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
const BUSY_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// Follows a password reservation for `account_key` to an answer: `Ok` to check the password,
/// `Err(retry_after)` while locked. While the guesses in flight hold the budget it asks again
/// every [`BUSY_POLL`]: they settle either as failures (and their lock refuses this one) or as
/// a success (and the count starts again).
pub async fn admitted(
    state: &AppState,
    account_key: &str,
    mut reservation: Reservation,
) -> Result<Result<(), i64>, ApiError> {
    let started = std::time::Instant::now();
    loop {
        match reservation {
            Reservation::Reserved => return Ok(Ok(())),
            Reservation::Refused { retry_after } => return Ok(Err(retry_after.max(1))),
            Reservation::Busy if started.elapsed() >= BUSY_WAIT => return Ok(Err(1)),
            Reservation::Busy => tokio::time::sleep(BUSY_POLL).await,
        }
        let (key, now) = (account_key.to_string(), state.now());
        reservation = state.db.run(move |conn| PASSWORD.reserve(conn, &key, now).map_err(ApiError::from)).await?;
    }
}

/// A sign-in step's refusal because the client's address spent its budget: counted in the metrics.
pub fn rate_limited(state: &AppState, retry_after: i64) -> ApiError {
    state.metrics.signin("rate_limited");
    ApiError::TooManyAttempts { retry_after: retry_after.max(1) as u64 }
}

#[cfg(test)]
mod tests {
    /// Every file of the flow layer.
    const FLOWS: [(&str, &str); 10] = [
        ("mod.rs", include_str!("mod.rs")),
        ("password.rs", include_str!("password.rs")),
        ("passkey.rs", include_str!("passkey.rs")),
        ("passkey/manage.rs", include_str!("passkey/manage.rs")),
        ("challenge.rs", include_str!("challenge.rs")),
        ("reauth.rs", include_str!("reauth.rs")),
        ("sso.rs", include_str!("sso.rs")),
        ("sso/callback.rs", include_str!("sso/callback.rs")),
        ("sso/link.rs", include_str!("sso/link.rs")),
        ("trusted.rs", include_str!("trusted.rs")),
    ];

    #[test]
    fn the_flow_layer_knows_neither_http_nor_routes_nor_which_database_it_runs_on() {
        // Written in two halves so that this test does not find itself.
        let forbidden = [
            format!("{}{}", "actix", "_web"),
            format!("{}{}", "crate::", "routes"),
            format!("{}{}", "AnyConnection::", "Postgresql"),
            format!("{}{}", "AnyConnection::", "Sqlite"),
            format!("{}{}", "Pg", "Connection"),
        ];
        for (name, source) in FLOWS {
            for word in &forbidden {
                assert!(!source.contains(word.as_str()), "auth/signin/{name} names `{word}`");
            }
        }
    }
}
