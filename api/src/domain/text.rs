//! Human-readable names, and the characters that must never hide in them or in addresses.

/// A name people read (a user's or an SSO application's `display_name`): trimmed, 1 to `max`
/// characters, printable only. Such names reach mail subjects and headers, the audit log and
/// other people's screens, so a line break (header injection), a NUL (which SQLite stores and
/// PostgreSQL refuses) or a direction override (text that reads differently from what it is) is
/// refused, the same way on both databases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// A user's name: at most 100 characters.
    pub const USER_MAX: usize = 100;
    /// An SSO application's name (a button label): at most 60 characters.
    pub const SSO_APPLICATION_MAX: usize = 60;

    /// The message for an empty or too long name, as the API has always answered it.
    pub fn length_rule(max: usize) -> String {
        format!("1 to {max} characters")
    }

    pub fn parse(input: &str, max: usize) -> Result<Self, String> {
        let s = input.trim();
        if s.is_empty() || s.chars().count() > max {
            return Err(Self::length_rule(max));
        }
        if s.chars().any(|c| c.is_control() || is_line_separator(c) || is_bidi_control(c)) {
            return Err("printable characters only: no line breaks, control or text-direction characters".into());
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR: line breaks that are not `Cc`.
fn is_line_separator(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
}

/// The explicit bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069)
/// and the marks U+200E, U+200F, U+061C.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}')
}

/// A character that shows nothing: general category `Cf` (format) or `Default_Ignorable_Code_Point`
/// (Unicode 16.0, `DerivedGeneralCategory.txt` and `DerivedCoreProperties.txt`): zero-width
/// spaces and joiners, the soft hyphen, direction marks, word joiners, the BOM, Hangul fillers,
/// variation selectors, tags… Two addresses that differ only by one of them look identical.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{34f}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{890}'..='\u{891}'
            | '\u{8e2}'
            | '\u{115f}'..='\u{1160}'
            | '\u{17b4}'..='\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff0}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e0fff}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Ana María  ", 100).map(DisplayName::into_string), Ok("Ana María".into()));
        assert!(DisplayName::parse("   ", 100).is_err());
        assert!(DisplayName::parse(&"x".repeat(61), 60).is_err());
        assert!(DisplayName::parse(&"é".repeat(60), 60).is_ok());
    }

    #[test]
    fn names_refuse_what_does_not_print() {
        for bad in [
            "Google\r\nBcc: x@evil.example",
            "Go\nogle",
            "Go\0ogle",
            "Go\togle",
            "Go\u{7f}ogle",
            "Go\u{85}ogle",
            "Go\u{2028}ogle",
            "Office \u{202e}563",
            "Office \u{2066}365\u{2069}",
        ] {
            assert!(DisplayName::parse(bad, 100).is_err(), "{bad:?}");
        }
        for good in ["Office 365", "Google Workspace (ACME)", "北京 SSO", "Ünïcödé — “quoted”", "שלום"]
        {
            assert!(DisplayName::parse(good, 100).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn invisible_characters_are_known() {
        for c in ['\u{200b}', '\u{200d}', '\u{2060}', '\u{2064}', '\u{feff}', '\u{ad}', '\u{180e}', '\u{e0041}'] {
            assert!(is_invisible(c), "U+{:04X}", c as u32);
        }
        for c in ['a', 'é', ' ', '-', '.', '@', '中'] {
            assert!(!is_invisible(c), "U+{:04X}", c as u32);
        }
    }
}
