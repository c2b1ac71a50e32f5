//! Hostile input to the parsers of codes, backup codes, e-mails, JWTs, SSO values and settings: never a
//! panic, never an acceptance of a malformed value.
#![allow(clippy::unwrap_used)]

use cloudcx_auth::auth::jwt::{generate_rsa_pem, Claims, KeySet};
use cloudcx_auth::auth::signin::sso::{valid_return_to, SSO_TOKEN_BYTES};
use cloudcx_auth::auth::tokens::{looks_like_token, random_token};
use cloudcx_auth::auth::{secrets, totp};
use cloudcx_auth::db::DbTarget;
use cloudcx_auth::domain::{Email, NewPassword, TenantSlug};
use proptest::prelude::*;
use std::sync::OnceLock;

fn keys() -> &'static (KeySet, String) {
    static K: OnceLock<(KeySet, String)> = OnceLock::new();
    K.get_or_init(|| {
        let keys =
            KeySet::new(&generate_rsa_pem().unwrap(), &[], "https://auth.test".into(), "cloudcx".into()).unwrap();
        let claims = Claims {
            iss: "https://auth.test".into(),
            sub: "u".into(),
            aud: "cloudcx".into(),
            exp: 2_000_000_000,
            iat: 1_000_000_000,
            nbf: 1_000_000_000,
            jti: "j".into(),
            tid: "t".into(),
            role: Some("agent".into()),
            auth_time: None,
            amr: vec![],
            acr: None,
            sid: None,
            mfa_setup_required: None,
            client_id: None,
            scope: None,
        };
        let token = keys.sign(&claims).unwrap();
        (keys, token)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn backup_code_parsing_never_accepts_a_malformed_code(input in ".{0,40}") {
        if let Some(code) = secrets::normalize_backup_code(&input) {
            prop_assert_eq!(code.len(), 11);
            prop_assert_eq!(&code[5..6], "-");
            prop_assert!(code.chars().filter(|c| *c != '-').all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
            prop_assert_eq!(secrets::normalize_backup_code(&code), Some(code.clone()));
        }
    }

    #[test]
    fn generated_backup_codes_always_parse(_seed in 0u8..255) {
        let code = secrets::new_backup_code();
        prop_assert_eq!(secrets::normalize_backup_code(&code), Some(code));
    }

    #[test]
    fn six_digit_codes_are_exactly_six_ascii_digits(input in "\\PC{0,10}") {
        let expected = input.len() == 6 && input.bytes().all(|b| b.is_ascii_digit());
        prop_assert_eq!(secrets::is_six_digits(&input), expected);
    }

    #[test]
    fn totp_never_matches_a_code_that_is_not_six_digits(code in "\\PC{0,12}", t in 0i64..4_000_000_000) {
        let secret = [7u8; 20];
        if totp::matching_step(&secret, &code, t).is_some() {
            prop_assert!(secrets::is_six_digits(&code));
        }
    }

    #[test]
    fn otpauth_secrets_round_trip(bytes in proptest::collection::vec(any::<u8>(), 20)) {
        let encoded = totp::encode_secret(&bytes);
        prop_assert_eq!(totp::decode_secret(&encoded), Some(bytes));
        let uri = totp::otpauth_uri("a+b@example.com", &encoded);
        prop_assert!(uri.starts_with("otpauth://totp/CloudCX:"));
        prop_assert!(uri.ends_with("&issuer=CloudCX&algorithm=SHA1&digits=6&period=30"));
    }

    #[test]
    fn emails_and_site_slugs_parse_to_normal_forms(input in "\\PC{0,80}") {
        if let Ok(e) = Email::parse(&input) {
            prop_assert_eq!(e.as_str().matches('@').count(), 1);
            prop_assert_eq!(Email::parse(e.as_str()).unwrap(), e.clone());
        }
        if let Ok(s) = TenantSlug::parse(&input) {
            prop_assert!(s.as_str().chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        }
        let _ = NewPassword::parse(&input);
        let _ = DbTarget::parse(&input);
    }

    #[test]
    fn jwt_verification_never_panics_on_garbage(input in "\\PC{0,300}") {
        prop_assert!(keys().0.verify(&input, 1_500_000_000).is_err());
    }

    #[test]
    fn a_token_with_any_changed_byte_is_refused(pos in 0usize..2000, byte in any::<u8>()) {
        let (keys, token) = keys();
        let mut bytes = token.clone().into_bytes();
        let i = pos % bytes.len();
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let changed = String::from_utf8_lossy(&bytes).into_owned();
        prop_assume!(&changed != token);
        // Base64url has a few spellings of the same final bits; those still verify (same bytes).
        if let Ok(c) = keys.verify(&changed, 1_500_000_000) {
            prop_assert_eq!(c, keys.verify(token, 1_500_000_000).unwrap());
        }
    }

    #[test]
    fn sso_state_result_and_link_token_of_any_other_shape_are_refused(input in "\\PC{0,40}|[A-Za-z0-9_-]{20,24}") {
        let expected = input.len() == 22 && input.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        prop_assert_eq!(looks_like_token(&input, SSO_TOKEN_BYTES), expected);
    }

    #[test]
    fn issued_sso_values_always_have_the_accepted_shape(_seed in 0u8..255) {
        prop_assert!(looks_like_token(&random_token(SSO_TOKEN_BYTES), SSO_TOKEN_BYTES));
    }

    #[test]
    fn sso_return_to_only_accepts_a_path_on_our_own_origin(input in "\\PC{0,40}|/[/\\\\a-z:.@%]{0,20}") {
        if valid_return_to(&input) {
            prop_assert!(input.starts_with('/') && !input.starts_with("//"));
            prop_assert!(!input.contains('\\'));
            prop_assert!(!input.chars().any(|c| c.is_control() || c.is_whitespace()));
        }
    }

    #[test]
    fn a_token_with_any_other_header_is_refused(
        alg in "none|HS256|RS256|RS512|ES256|PS256|[A-Za-z0-9]{0,8}",
        kid in proptest::option::of("[A-Za-z0-9_-]{0,50}"),
        typ in proptest::option::of("JWT|at\\+jwt|[a-z+]{0,8}"),
        extra in proptest::option::of(("[a-z]{1,5}", "\\PC{0,10}")),
    ) {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (keys, token) = keys();
        let mut parts = token.split('.');
        let original: serde_json::Value = serde_json::from_slice(&b64.decode(parts.next().unwrap()).unwrap()).unwrap();
        let (payload, signature) = (parts.next().unwrap(), parts.next().unwrap());
        let mut header = serde_json::json!({"alg": alg});
        if let Some(kid) = kid { header["kid"] = kid.into(); }
        if let Some(typ) = typ { header["typ"] = typ.into(); }
        if let Some((k, v)) = extra { header[k] = v.into(); }
        prop_assume!(header != original);
        let forged = format!("{}.{payload}.{signature}", b64.encode(header.to_string()));
        prop_assert!(keys.verify(&forged, 1_500_000_000).is_err(), "accepted header {}", header);
    }
}
