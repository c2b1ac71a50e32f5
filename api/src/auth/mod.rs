//! Security mechanics, free of actix and diesel.

pub mod jwt;
pub mod password;
pub mod session;
pub mod tokens;
