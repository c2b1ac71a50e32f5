use std::collections::HashSet;
use std::sync::OnceLock;

use super::Secret;

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

const COMMON_PASSWORDS: &str = include_str!("common-passwords.txt");

fn common_passwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON_PASSWORDS.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).collect())
}

/// Why a new password is refused (422 `weak_password`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRejection {
    TooShort,
    TooLong,
    Common,
}

impl std::fmt::Display for PasswordRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::TooShort => "use at least 8 characters",
            Self::TooLong => "use at most 128 characters",
            Self::Common => "this password is on the list of common passwords",
        })
    }
}

/// A password that passes the policy: 8–128 characters and not a common password.
#[derive(Debug, Clone)]
pub struct NewPassword(Secret<String>);

impl NewPassword {
    pub fn parse(input: &str) -> Result<Self, PasswordRejection> {
        let chars = input.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(PasswordRejection::TooShort);
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(PasswordRejection::TooLong);
        }
        if common_passwords().contains(input.to_lowercase().as_str()) {
            return Err(PasswordRejection::Common);
        }
        Ok(Self(Secret::new(input.to_string())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_list_holds_at_least_ten_thousand_passwords() {
        assert!(common_passwords().len() >= 10_000);
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        assert_eq!(NewPassword::parse("password1").unwrap_err(), PasswordRejection::Common);
        assert_eq!(NewPassword::parse("Baseball1").unwrap_err(), PasswordRejection::Common);
    }

    #[test]
    fn length_limits_hold_in_characters() {
        assert_eq!(NewPassword::parse("short").unwrap_err(), PasswordRejection::TooShort);
        assert_eq!(NewPassword::parse(&"é".repeat(129)).unwrap_err(), PasswordRejection::TooLong);
        assert!(NewPassword::parse(&"é".repeat(128)).is_ok());
        assert!(NewPassword::parse("correct horse battery").is_ok());
    }
}
