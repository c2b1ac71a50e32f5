//! The sign-in flows, free of actix: password, the second-factor challenge, SSO and
//! re-authentication. Each is a step that takes typed input and returns an outcome enum that a
//! handler maps to HTTP; every guess is reserved in the database before it is checked.

pub mod sso;
