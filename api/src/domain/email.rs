use unicode_normalization::UnicodeNormalization as _;

use super::text::is_invisible;

/// An e-mail address in its one normal form: trimmed, NFC, case-folded (in Rust, so SQLite and
/// PostgreSQL compare the same bytes — neither database's `lower()` is involved), one `@`, a
/// dotted domain, at most 254 characters, no invisible or formatting character.
///
/// Every store and every lookup of an address goes through [`Email::parse`]: an address typed
/// with a decomposed `é` or in capitals finds the account created with a composed one in
/// lower case, and two accounts can never differ only by such spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let trimmed = input.trim();
        // Refused before normalising: NFC and folding keep these, but say so in the address's terms.
        if trimmed.chars().any(is_invisible) {
            return Err("an e-mail address without invisible or formatting characters (such as a zero-width space)");
        }
        let s = normal_form(trimmed);
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

/// NFC, then Unicode simple case folding of each character's lower-case form, then NFC again
/// (a lower-case mapping may decompose, `İ` → `i̇`). Lower-casing first keeps every address that
/// `to_lowercase` already matched (all that were stored before) in one class; folding after it
/// adds what lower-casing misses (`ς`/`σ`, `ϑ`/`θ`, `ſ`/`s`…). Simple folding, not full: `ß`
/// stays `ß` — the stored form is also where mail goes, and `strasse@` is another mailbox.
fn normal_form(input: &str) -> String {
    input
        .nfc()
        .flat_map(char::to_lowercase)
        .map(|c| unicode_case_mapping::case_folded(c).and_then(|f| char::from_u32(f.get())).unwrap_or(c))
        .nfc()
        .collect()
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

    #[test]
    fn composed_and_decomposed_spellings_are_one_address() {
        let composed = Email::parse("\u{c9}b\u{e9}@example.com").expect("composed");
        let decomposed = Email::parse("E\u{301}be\u{301}@example.com").expect("decomposed");
        assert_eq!(composed, decomposed);
        assert_eq!(composed.as_str(), "\u{e9}b\u{e9}@example.com");
    }

    #[test]
    fn case_is_folded_beyond_ascii() {
        let one = |s: &str| Email::parse(s).expect(s).0;
        assert_eq!(one("\u{c0}DMIN@example.com"), one("\u{e0}dmin@example.com"));
        // Final and medial sigma are one letter.
        assert_eq!(one("\u{39f}\u{394}\u{3a5}\u{3a3}@example.gr"), one("\u{3bf}\u{3b4}\u{3c5}\u{3c3}@example.gr"));
        assert_eq!(one("\u{3bf}\u{3b4}\u{3c5}\u{3c2}@example.gr"), one("\u{3bf}\u{3b4}\u{3c5}\u{3c3}@example.gr"));
        // Capital sharp s folds to ß, which stays (another mailbox than "ss").
        assert_eq!(one("stra\u{1e9e}e@example.de"), "stra\u{df}e@example.de");
    }

    #[test]
    fn the_normal_form_is_stable() {
        for s in ["\u{130}stanbul@example.com", "\u{3a3}\u{3c2}@x.gr", "\u{13a0}\u{ab70}@x.com", "K\u{212a}@x.com"] {
            let once = Email::parse(s).expect(s);
            assert_eq!(Email::parse(once.as_str()).as_ref(), Ok(&once), "{s}");
        }
    }

    #[test]
    fn invisible_characters_are_refused() {
        for c in
            ['\u{200b}', '\u{200c}', '\u{200d}', '\u{200e}', '\u{2060}', '\u{feff}', '\u{ad}', '\u{180e}', '\u{202e}']
        {
            assert!(Email::parse(&format!("ag{c}ent@example.com")).is_err(), "U+{:04X}", c as u32);
        }
    }
}
