//! Pure types and rules: no actix, no diesel. Parse, don't validate.

mod email;
mod password;

pub use email::Email;
pub use password::{NewPassword, PasswordRejection, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};

use std::fmt;

/// A value that must never reach a log line: `Debug` prints `[redacted]`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A user's role within a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Agent,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "agent" => Some(Self::Agent),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// A site's slug as typed at sign-in: trimmed and lower-cased, 1–63 of `[a-z0-9-]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSlug(String);

impl TenantSlug {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let s = input.trim().to_ascii_lowercase();
        if s.is_empty() || s.len() > 63 {
            return Err("a site name of 1 to 63 characters");
        }
        if !s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') || s.starts_with('-') {
            return Err("letters, digits and '-' only");
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "[redacted]");
    }

    #[test]
    fn slugs_are_normalised_and_checked() {
        assert_eq!(TenantSlug::parse(" Acme-1 ").map(|s| s.0), Ok("acme-1".to_string()));
        assert!(TenantSlug::parse("").is_err());
        assert!(TenantSlug::parse("a b").is_err());
        assert!(TenantSlug::parse("-x").is_err());
    }
}
