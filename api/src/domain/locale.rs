//! The languages the service speaks to people (its mails; the web app follows the same choice).

use std::fmt;

/// A language of the product. The account's choice (`users.locale`), else the browser's
/// preferred language, else English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub enum Locale {
    /// English.
    #[serde(rename = "en")]
    En,
    /// Simplified Chinese.
    #[serde(rename = "zh-CN")]
    ZhCn,
}

impl Locale {
    /// Every language, English (the fallback) first.
    pub const ALL: [Locale; 2] = [Locale::En, Locale::ZhCn];

    /// The BCP 47 tag as stored and sent: `en`, `zh-CN`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::ZhCn => "zh-CN",
        }
    }

    /// Exactly one of the tags [`Self::as_str`] gives (what the API and the database hold).
    pub fn parse(tag: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == tag)
    }

    /// The language a loosely written tag of a browser asks for: `zh`, `zh-CN`, `zh-Hans`,
    /// `zh-SG` are Simplified Chinese (`zh-TW`, `zh-HK` and `zh-Hant` are not: Traditional
    /// Chinese is not offered); `en-*` is English; anything else is none of ours.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let lower = tag.trim().to_ascii_lowercase().replace('_', "-");
        let mut parts = lower.split('-');
        match parts.next()? {
            "en" => Some(Self::En),
            "zh" => {
                let rest: Vec<&str> = parts.collect();
                let traditional = rest.iter().any(|p| matches!(*p, "hant" | "tw" | "hk" | "mo"));
                let simplified = rest.contains(&"hans");
                (simplified || !traditional).then_some(Self::ZhCn)
            }
            _ => None,
        }
    }

    /// The language of ours an `Accept-Language` header prefers most (RFC 9110 §12.5.4: the
    /// highest `q` wins, the earlier one among equals; `q=0` means "not this one"). `None` when
    /// it names none of ours (a `*` alone says nothing either).
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(Self, u32)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let Some(locale) = parts.next().and_then(Self::from_tag) else { continue };
            // A malformed weight makes the item unreadable: it is passed over.
            let q = match parts.find_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q="))) {
                Some(v) => quality(v),
                None => Some(1000),
            };
            let Some(q) = q else { continue };
            if q > 0 && best.is_none_or(|(_, b)| q > b) {
                best = Some((locale, q));
            }
        }
        best.map(|(l, _)| l)
    }

    /// The language to write to someone in: their account's choice (a stored tag), else the
    /// browser's language of the request that caused the mail, else English.
    pub fn for_mail(account: Option<&str>, browser: Option<Self>) -> Self {
        account.and_then(Self::parse).or(browser).unwrap_or(Self::En)
    }
}

/// A `q` value in thousandths (`0.5` → 500); `None` when malformed.
fn quality(v: &str) -> Option<u32> {
    let v = v.trim();
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u32 = match whole {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    let frac: u32 = format!("{frac:0<3}").parse().ok()?;
    let q = whole * 1000 + frac;
    (q <= 1000).then_some(q)
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Locale;

    #[test]
    fn only_the_exact_tags_parse() {
        assert_eq!(Locale::parse("en"), Some(Locale::En));
        assert_eq!(Locale::parse("zh-CN"), Some(Locale::ZhCn));
        for bad in ["", "EN", "zh", "zh-cn", "fr", "zh-TW", " en"] {
            assert_eq!(Locale::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_browsers_preferred_language_of_ours_wins() {
        let cases = [
            ("zh-CN,zh;q=0.9,en;q=0.8", Some(Locale::ZhCn)),
            ("en-US,en;q=0.9,zh-CN;q=0.8", Some(Locale::En)),
            ("fr-FR, zh;q=0.5, en;q=0.4", Some(Locale::ZhCn)),
            ("de, fr", None),
            ("*", None),
            ("", None),
            ("zh-TW", None),
            ("zh-Hant-TW, en;q=0.1", Some(Locale::En)),
            ("zh-Hans-SG", Some(Locale::ZhCn)),
            ("en;q=0.2, zh-CN;q=0.9", Some(Locale::ZhCn)),
            ("zh-CN;q=0, en", Some(Locale::En)),
            ("zh-CN;q=2, en;q=0.1", Some(Locale::En)),
            ("zh_CN", Some(Locale::ZhCn)),
        ];
        for (header, want) in cases {
            assert_eq!(Locale::from_accept_language(header), want, "{header:?}");
        }
    }

    #[test]
    fn the_accounts_choice_comes_before_the_browser() {
        assert_eq!(Locale::for_mail(Some("en"), Some(Locale::ZhCn)), Locale::En);
        assert_eq!(Locale::for_mail(None, Some(Locale::ZhCn)), Locale::ZhCn);
        assert_eq!(Locale::for_mail(Some("klingon"), None), Locale::En);
        assert_eq!(Locale::for_mail(None, None), Locale::En);
    }

    #[test]
    fn serde_uses_the_tags() {
        assert_eq!(serde_json::to_string(&Locale::ZhCn).unwrap(), "\"zh-CN\"");
        assert_eq!(serde_json::from_str::<Locale>("\"en\"").unwrap(), Locale::En);
        assert!(serde_json::from_str::<Locale>("\"fr\"").is_err());
    }
}
