//! CloudCX Auth: the account-security service of CloudCX.

pub mod accounts;
pub mod auth;
pub mod bootstrap;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod grants;
pub mod mail;
pub mod metrics;
pub mod notices;
pub mod openapi;
pub mod outbound;
pub mod request_id;
pub mod revocation;
pub mod routes;
pub mod security_headers;
pub mod startup;
pub mod state;
pub mod telemetry;
