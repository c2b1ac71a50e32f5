//! Every mail the service writes, and the messages of the catalog ([`super::catalog`]) it is
//! made of. No mail text lives anywhere else.

use crate::db::users::User;
use crate::domain::Locale;

use super::catalog::text;

/// Who a mail goes to, and in which language.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    pub email: &'a str,
    pub locale: Locale,
}

impl<'a> Recipient<'a> {
    /// `user`, written to in their language: their account's choice, else `browser` (the
    /// preferred language of the request that caused the mail — `None` when the request was not
    /// theirs, e.g. an administrator's), else English.
    pub fn user(user: &'a User, browser: Option<Locale>) -> Self {
        Self { email: &user.email, locale: Locale::for_mail(user.locale.as_deref(), browser) }
    }
}

/// What a one-time code mailed to the user is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    /// The second step of a sign-in.
    SignIn,
    /// Re-authentication inside a session (`/auth/reauth`).
    Confirmation,
    /// Setting up e-mail codes as the 2FA method.
    Verification,
}

impl CodePurpose {
    /// The selector the catalog's `code-*` messages choose by (and, in English, the word shown).
    fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign-in",
            Self::Confirmation => "confirmation",
            Self::Verification => "verification",
        }
    }
}

/// The security notices with no details of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    TwoFactorEnabled,
    TwoFactorDisabled,
    BackupCodesRegenerated,
    BackupCodesRunningLow,
    TwoFactorResetByAdmin,
    SecondFactorGuessed,
}

impl Notice {
    /// The catalog's message ids: (subject, body).
    fn ids(self) -> (&'static str, &'static str) {
        match self {
            Self::TwoFactorEnabled => ("two-factor-enabled-subject", "two-factor-enabled-body"),
            Self::TwoFactorDisabled => ("two-factor-disabled-subject", "two-factor-disabled-body"),
            Self::BackupCodesRegenerated => ("backup-codes-regenerated-subject", "backup-codes-regenerated-body"),
            Self::BackupCodesRunningLow => ("backup-codes-running-low-subject", "backup-codes-running-low-body"),
            Self::TwoFactorResetByAdmin => ("two-factor-reset-by-admin-subject", "two-factor-reset-by-admin-body"),
            Self::SecondFactorGuessed => ("second-factor-guessed-subject", "second-factor-guessed-body"),
        }
    }
}

/// An SSO connection as a reset mail names it: the application's display name and the external
/// account's e-mail, if the provider gave one.
#[derive(Debug, Clone)]
pub struct ConnectionLine {
    pub application: String,
    pub email: Option<String>,
}

/// One mail's content, before its language is known.
#[derive(Debug, Clone, Copy)]
pub enum Letter<'a> {
    /// A one-time code.
    Code {
        purpose: CodePurpose,
        code: &'a str,
    },
    Notice(Notice),
    /// A sign-in from a new device and address; `at` in RFC 3339.
    NewSignIn {
        device: &'a str,
        address: Option<&'a str>,
        at: &'a str,
    },
    PasswordChanged,
    /// A password reset link (secret: the mail is sealed in the outbox).
    ResetLink {
        link: &'a str,
    },
    /// After a reset with a link: every device was signed out; the SSO connections made since the
    /// previous password was set were removed (someone who knew that password could have made
    /// them) and are named; the remaining ones are listed with how to disconnect each.
    PasswordReset {
        removed: &'a [ConnectionLine],
        kept: &'a [ConnectionLine],
    },
    PasskeyAdded {
        name: &'a str,
    },
    PasskeyRemoved {
        name: &'a str,
    },
    SsoConnected {
        application: &'a str,
        email: Option<&'a str>,
    },
    /// `application` is `None` when the application was deleted meanwhile.
    SsoDisconnected {
        application: Option<&'a str>,
        email: Option<&'a str>,
    },
}

/// A mail's subject and plain text in one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub subject: String,
    pub text: String,
}

impl Letter<'_> {
    /// The mail in `locale`.
    pub fn compose(&self, locale: Locale) -> Composed {
        let t = |id: &str, args: &[(&str, &str)]| text(locale, id, args);
        let (subject, text) = match *self {
            Self::Code { purpose, code } => {
                let p = ("purpose", purpose.as_str());
                (t("code-subject", &[p]), t("code-body", &[p, ("code", code)]))
            }
            Self::Notice(n) => {
                let (s, b) = n.ids();
                (t(s, &[]), t(b, &[]))
            }
            Self::NewSignIn { device, address, at } => {
                let unknown = t("unknown-address", &[]);
                let address = address.unwrap_or(&unknown);
                let args = [("device", device), ("address", address), ("time", at)];
                (t("new-sign-in-subject", &[]), t("new-sign-in-body", &args))
            }
            Self::PasswordChanged => (t("password-changed-subject", &[]), t("password-changed-body", &[])),
            Self::ResetLink { link } => (t("reset-link-subject", &[]), t("reset-link-body", &[("link", link)])),
            Self::PasswordReset { removed, kept } => {
                (t("password-reset-subject", &[]), password_reset_text(locale, removed, kept))
            }
            Self::PasskeyAdded { name } => {
                (t("passkey-added-subject", &[]), t("passkey-added-body", &[("name", name)]))
            }
            Self::PasskeyRemoved { name } => {
                (t("passkey-removed-subject", &[]), t("passkey-removed-body", &[("name", name)]))
            }
            Self::SsoConnected { application, email } => {
                let app = ("application", application);
                let body = match email {
                    Some(e) => t("sso-connected-body", &[app, ("email", e)]),
                    None => t("sso-connected-body-no-email", &[app]),
                };
                (t("sso-connected-subject", &[app]), body)
            }
            Self::SsoDisconnected { application, email } => {
                let unknown = t("sso-unknown-application", &[]);
                let app = ("application", application.unwrap_or(&unknown));
                let body = match email.filter(|e| !e.is_empty()) {
                    Some(e) => t("sso-disconnected-body", &[app, ("email", e)]),
                    None => t("sso-disconnected-body-no-email", &[app]),
                };
                (t("sso-disconnected-subject", &[app]), body)
            }
        };
        Composed { subject, text }
    }
}

fn password_reset_text(locale: Locale, removed: &[ConnectionLine], kept: &[ConnectionLine]) -> String {
    let t = |id: &str| text(locale, id, &[]);
    let lines = |list: &[ConnectionLine]| {
        list.iter()
            .map(|c| match &c.email {
                Some(e) => text(locale, "connection-line-with-email", &[("application", &c.application), ("email", e)]),
                None => text(locale, "connection-line", &[("application", &c.application)]),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut out = t("password-reset-body");
    if !removed.is_empty() {
        out.push_str(&format!("\n\n{}\n{}", t("password-reset-removed"), lines(removed)));
    }
    if !kept.is_empty() {
        out.push_str(&format!("\n\n{}\n{}\n{}", t("password-reset-kept"), lines(kept), t("password-reset-kept-how")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_letter() -> Vec<Letter<'static>> {
        static LINES: std::sync::LazyLock<Vec<ConnectionLine>> = std::sync::LazyLock::new(|| {
            vec![
                ConnectionLine { application: "Google".into(), email: Some("alice@gmail.example".into()) },
                ConnectionLine { application: "Office 365".into(), email: None },
            ]
        });
        let mut all = vec![
            Letter::Code { purpose: CodePurpose::SignIn, code: "123456" },
            Letter::Code { purpose: CodePurpose::Confirmation, code: "123456" },
            Letter::Code { purpose: CodePurpose::Verification, code: "123456" },
            Letter::NewSignIn { device: "Firefox on Linux", address: Some("192.0.2.1"), at: "2026-12-06T10:00:00Z" },
            Letter::NewSignIn { device: "Firefox on Linux", address: None, at: "2026-12-06T10:00:00Z" },
            Letter::PasswordChanged,
            Letter::ResetLink { link: "https://auth.example/reset-password?token=abc" },
            Letter::PasswordReset { removed: &[], kept: &[] },
            Letter::PasswordReset { removed: &LINES, kept: &LINES },
            Letter::PasskeyAdded { name: "YubiKey" },
            Letter::PasskeyRemoved { name: "YubiKey" },
            Letter::SsoConnected { application: "Google", email: Some("alice@gmail.example") },
            Letter::SsoConnected { application: "Google", email: None },
            Letter::SsoDisconnected { application: Some("Google"), email: Some("alice@gmail.example") },
            Letter::SsoDisconnected { application: None, email: None },
        ];
        all.extend(
            [
                Notice::TwoFactorEnabled,
                Notice::TwoFactorDisabled,
                Notice::BackupCodesRegenerated,
                Notice::BackupCodesRunningLow,
                Notice::TwoFactorResetByAdmin,
                Notice::SecondFactorGuessed,
            ]
            .map(Letter::Notice),
        );
        all
    }

    #[test]
    fn every_mail_is_whole_in_every_language() {
        for locale in Locale::ALL {
            for letter in every_letter() {
                let Composed { subject, text } = letter.compose(locale);
                for part in [&subject, &text] {
                    assert!(!part.trim().is_empty(), "{locale}: {letter:?}");
                    // A raw message id is lower-case words joined by hyphens, never a sentence.
                    assert!(!part.contains("-subject") && !part.contains("-body"), "{locale}: {letter:?}: {part}");
                    assert!(!part.contains(['{', '}', '\u{2068}', '\u{2069}']), "{locale}: {letter:?}: {part}");
                }
                assert!(!subject.contains('\n'), "{locale}: one-line subject: {subject:?}");
            }
        }
    }

    #[test]
    fn chinese_mails_are_in_chinese() {
        let is_han = |c: char| ('\u{4e00}'..='\u{9fff}').contains(&c);
        for letter in every_letter() {
            let Composed { subject, text } = letter.compose(Locale::ZhCn);
            assert!(subject.chars().any(is_han) && text.chars().any(is_han), "{letter:?}: {subject} / {text}");
        }
        let code = Letter::Code { purpose: CodePurpose::SignIn, code: "123456" }.compose(Locale::ZhCn);
        assert_eq!(code.subject, "您的 CloudCX 登录验证码");
        assert!(code.text.starts_with("您的 CloudCX 登录验证码是：123456\n\n"), "{}", code.text);
    }

    #[test]
    fn the_english_words_stay_as_they_were() {
        let code = Letter::Code { purpose: CodePurpose::SignIn, code: "123456" }.compose(Locale::En);
        assert_eq!(code.subject, "Your CloudCX sign-in code");
        let reset = Letter::PasswordReset {
            removed: &[ConnectionLine { application: "Google".into(), email: Some("a@g.example".into()) }],
            kept: &[ConnectionLine { application: "Office 365".into(), email: None }],
        }
        .compose(Locale::En);
        assert_eq!(
            reset.text,
            "The password of your CloudCX account was reset with a link and every device was signed out. If this was not you, contact your administrator at once.\n\n\
             These single sign-on accounts were connected since your previous password was set, so someone who knew it could have connected them. They were disconnected; connect them again from Security Settings if they are yours:\n\
             - Google (a@g.example)\n\n\
             These single sign-on accounts remain connected and can still sign you in:\n\
             - Office 365\n\
             If one of them is not yours, sign in and disconnect it: Security Settings > Single Sign-On (SSO) > Disconnect."
        );
        let link = Letter::ResetLink { link: "https://x.example/r?token=t" }.compose(Locale::En);
        assert_eq!(
            link.text,
            "Someone asked to reset the password of your CloudCX account.\n\nTo choose a new one, open this link within 30 minutes:\nhttps://x.example/r?token=t\n\nIf this was not you, ignore this e-mail: your password stays as it is."
        );
    }

    #[test]
    fn the_accounts_language_wins_over_the_browsers() {
        let mut user = User {
            id: "u".into(),
            tenant_id: "t".into(),
            email: "a@acme.example".into(),
            display_name: "A".into(),
            password_hash: String::new(),
            role: "agent".into(),
            disabled: false,
            created_at: 0,
            last_sign_in_at: None,
            locale: Some("en".into()),
        };
        assert_eq!(Recipient::user(&user, Some(Locale::ZhCn)).locale, Locale::En);
        user.locale = None;
        assert_eq!(Recipient::user(&user, Some(Locale::ZhCn)).locale, Locale::ZhCn);
        assert_eq!(Recipient::user(&user, None).locale, Locale::En);
    }
}
