//! Pure types and rules: no actix, no diesel. Parse, don't validate.

mod email;
mod locale;
mod password;
mod text;

pub use email::Email;
pub use locale::Locale;
pub use password::{NewPassword, PasswordRejection, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
pub use text::{is_invisible, DisplayName};

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

/// A two-factor method: a code sent by e-mail, or one from an authenticator app.
// The answers carry the stored text (the database allows only these values) and name this type
// as their schema, so the OpenAPI document and the web app's types list the methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TwoFactorMethod {
    Email,
    Totp,
}

/// The kind of an SSO application: Google, Microsoft (Office 365) or any OpenID Connect provider.
// As for `TwoFactorMethod`: the schema of the stored text, which the database limits to these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Google,
    Microsoft,
    Oidc,
}

/// The scopes a service client may be granted (client credentials, `/oauth/*`).
pub const KNOWN_SCOPES: [&str; 2] = ["users:read", "tokens:introspect"];

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

/// A readable device name from a User-Agent: "Chrome on Windows", "Safari on iPhone"…
pub fn device_name(user_agent: &str) -> String {
    let ua = user_agent;
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("OPR/") || ua.contains("Opera") {
        "Opera"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") || ua.contains("CriOS/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else if ua.is_empty() {
        "Unknown browser"
    } else {
        "An app"
    };
    let os = if ua.contains("iPhone") {
        "iPhone"
    } else if ua.contains("iPad") {
        "iPad"
    } else if ua.contains("Android") {
        "Android"
    } else if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        "macOS"
    } else if ua.contains("Linux") {
        "Linux"
    } else {
        "an unknown system"
    };
    format!("{browser} on {os}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn device_names_are_readable() {
        use super::device_name;
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
        assert_eq!(device_name(chrome), "Chrome on Windows");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(device_name(safari), "Safari on iPhone");
        assert_eq!(device_name(""), "Unknown browser on an unknown system");
    }

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
