/// An e-mail address: trimmed, lower-cased, one `@`, a dotted domain, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let s = input.trim().to_lowercase();
        if s.is_empty() || s.chars().count() > 254 {
            return Err("an e-mail address of at most 254 characters");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err("an e-mail address such as agent@example.com");
        };
        let valid = !local.is_empty()
            && local.len() <= 64
            && !domain.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !s
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '(' | ')' | ',' | ';' | '"'));
        if !valid {
            return Err("an e-mail address such as agent@example.com");
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn valid_addresses_are_normalised() {
        assert_eq!(Email::parse("  Agent@Example.COM ").map(|e| e.0), Ok("agent@example.com".to_string()));
    }

    #[test]
    fn invalid_addresses_are_refused() {
        for bad in ["", "plain", "@x.com", "a@", "a@b", "a b@x.com", "a@@x.com", "a@x.com.", "<a>@x.com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert!(Email::parse(&format!("{}@x.com", "a".repeat(65))).is_err());
    }
}
