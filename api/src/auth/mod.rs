//! Security mechanics, free of actix: pure primitives (jwt, password, totp, secrets, tokens)
//! and the transactional steps built on them (session, mfa).

pub mod jwt;
pub mod mfa;
pub mod oidc;
pub mod passkeys;
pub mod password;
pub mod secrets;
pub mod session;
pub mod signin;
pub mod tokens;
pub mod totp;
