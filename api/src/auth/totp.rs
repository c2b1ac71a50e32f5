//! Time-based one-time passwords (RFC 6238, HMAC-SHA1, 6 digits, 30-second steps) for
//! authenticator apps. totp-lite computes the codes; the drift window, the exact-format rule
//! and the constant-time comparison are ours. The replay guard (one use per step) lives with
//! the stored `last_step`, not here.

use rand::RngCore;
use subtle::ConstantTimeEq;

/// Length of one TOTP time step, in seconds.
pub const STEP_SECS: u64 = 30;

/// Number of digits of a code.
const DIGITS: u32 = 6;

/// Size of a new secret: 160 bits, the HMAC-SHA1 block-friendly size RFC 4226 recommends.
const SECRET_BYTES: usize = 20;

/// Issuer shown by authenticator apps.
const ISSUER: &str = "CloudCX";

const B32: base32::Alphabet = base32::Alphabet::Rfc4648 { padding: false };

/// A new TOTP secret: 20 bytes (160 bits) from the OS CSPRNG.
pub fn generate_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}

/// The secret as authenticator apps expect it: base32 (RFC 4648 alphabet), no padding.
pub fn encode_secret(secret: &[u8]) -> String {
    base32::encode(B32, secret)
}

/// Inverse of [`encode_secret`]. Lenient about case, spaces and `=` padding (as users and
/// apps write it); `None` for anything else that is not base32 or decodes to nothing.
pub fn decode_secret(b32: &str) -> Option<Vec<u8>> {
    let cleaned: String =
        b32.chars().filter(|c| !c.is_ascii_whitespace()).collect::<String>().trim_end_matches('=').to_ascii_uppercase();
    if cleaned.is_empty() {
        return None;
    }
    base32::decode(B32, &cleaned).filter(|bytes| !bytes.is_empty())
}

/// Percent-encodes everything but RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`).
fn percent_encode(input: &str) -> String {
    let mut out = String::with_capacity(input.len() * 3);
    for byte in input.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The provisioning URI in Google's Key URI format:
/// `otpauth://totp/CloudCX:{email, percent-encoded}?secret={b32}&issuer=CloudCX&algorithm=SHA1&digits=6&period=30`.
pub fn otpauth_uri(email: &str, secret_b32: &str) -> String {
    format!(
        "otpauth://totp/{ISSUER}:{}?secret={}&issuer={ISSUER}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        percent_encode(email),
        percent_encode(secret_b32),
    )
}

/// The URI as a QR code, an SVG document (at least 200×200 px) for the set-up page.
pub fn qr_svg(uri: &str) -> anyhow::Result<String> {
    let code = qrcode::QrCode::new(uri.as_bytes())?;
    Ok(code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).build())
}

/// The TOTP step (counter) that a Unix time falls in.
pub fn step_of(unix: i64) -> i64 {
    unix.div_euclid(STEP_SECS as i64)
}

/// The 6-digit code (zero-padded) of `secret` at `step`. Steps before 1970 (negative) are
/// clamped to step 0.
pub fn code_at_step(secret: &[u8], step: i64) -> String {
    let counter = u64::try_from(step).unwrap_or(0);
    totp_lite::totp_custom::<totp_lite::Sha1>(STEP_SECS, DIGITS, secret, counter.saturating_mul(STEP_SECS))
}

/// The step matched by `code` among the current and the previous step (never two steps away),
/// comparing exact 6-digit strings in constant time (subtle). `081804` works; `81804`,
/// `0818040`, ` 081804` do not. When both steps match (a 1-in-a-million coincidence) the
/// current step is returned, so a replay guard spends both.
pub fn matching_step(secret: &[u8], code: &str, unix: i64) -> Option<i64> {
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_of(unix);
    let previous = current - 1;
    // Compute and compare both before deciding, so timing does not tell which one matched.
    let current_ok = code_at_step(secret, current).as_bytes().ct_eq(code.as_bytes());
    let previous_ok = if previous >= 0 {
        code_at_step(secret, previous).as_bytes().ct_eq(code.as_bytes())
    } else {
        subtle::Choice::from(0)
    };
    if bool::from(current_ok) {
        Some(current)
    } else if bool::from(previous_ok) {
        Some(previous)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use totp_lite::{totp_custom, Sha1, Sha256, Sha512};

    const SEED_SHA1: &[u8] = b"12345678901234567890";
    const SEED_SHA256: &[u8] = b"12345678901234567890123456789012";
    const SEED_SHA512: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    /// RFC 6238 Appendix B: (time, SHA1, SHA256, SHA512), 8 digits, 30-second steps.
    const RFC6238: [(u64, &str, &str, &str); 6] = [
        (59, "94287082", "46119246", "90693936"),
        (1111111109, "07081804", "68084774", "25091201"),
        (1111111111, "14050471", "67062674", "99943326"),
        (1234567890, "89005924", "91819424", "93441116"),
        (2000000000, "69279037", "90698825", "38618901"),
        (20000000000, "65353130", "77737706", "47863826"),
    ];

    #[test]
    fn rfc6238_appendix_b_sha1() {
        for (t, sha1, _, _) in RFC6238 {
            assert_eq!(totp_custom::<Sha1>(30, 8, SEED_SHA1, t), sha1, "t={t}");
        }
    }

    #[test]
    fn rfc6238_appendix_b_sha256() {
        for (t, _, sha256, _) in RFC6238 {
            assert_eq!(totp_custom::<Sha256>(30, 8, SEED_SHA256, t), sha256, "t={t}");
        }
    }

    #[test]
    fn rfc6238_appendix_b_sha512() {
        for (t, _, _, sha512) in RFC6238 {
            assert_eq!(totp_custom::<Sha512>(30, 8, SEED_SHA512, t), sha512, "t={t}");
        }
    }

    #[test]
    fn rfc6238_six_digit_codes_are_the_low_digits() {
        for (t, sha1, _, _) in RFC6238 {
            let step = step_of(t as i64);
            assert_eq!(code_at_step(SEED_SHA1, step), sha1[2..], "t={t}");
        }
    }

    #[test]
    fn rfc4226_appendix_d_hotp() {
        let expected =
            ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
        for (counter, want) in expected.iter().enumerate() {
            // Step 1 with time = counter makes the TOTP counter the HOTP counter.
            assert_eq!(totp_custom::<Sha1>(1, 6, SEED_SHA1, counter as u64), *want, "counter={counter}");
            assert_eq!(code_at_step(SEED_SHA1, counter as i64), *want, "counter={counter}");
        }
    }

    #[test]
    fn drift_window_is_current_and_previous_step_only() {
        let t = 1111111109_i64;
        let step = step_of(t);
        let code = code_at_step(SEED_SHA1, step);
        assert_eq!(code, "081804");
        assert_eq!(matching_step(SEED_SHA1, &code, t), Some(step), "current step");
        assert_eq!(matching_step(SEED_SHA1, &code, t + 30), Some(step), "previous step");
        assert_eq!(matching_step(SEED_SHA1, &code, t + 60), None, "two steps back");
        assert_eq!(matching_step(SEED_SHA1, &code, t - 30), None, "a future step");
        assert_eq!(matching_step(SEED_SHA1, &code, t - 60), None, "two steps ahead");
        let next = code_at_step(SEED_SHA1, step + 1);
        assert_eq!(matching_step(SEED_SHA1, &next, t), None, "the next step's code now");
    }

    #[test]
    fn step_boundaries() {
        assert_eq!(step_of(0), 0);
        assert_eq!(step_of(29), 0);
        assert_eq!(step_of(30), 1);
        assert_eq!(step_of(59), 1);
        assert_eq!(step_of(-1), -1);
        assert_eq!(matching_step(SEED_SHA1, "755224", 0), Some(0));
        assert_eq!(matching_step(SEED_SHA1, "755224", 31), Some(0));
        assert_eq!(matching_step(SEED_SHA1, "000000", -1), None);
    }

    #[test]
    fn codes_are_exact_six_digit_strings() {
        let t = 1111111109_i64;
        assert!(matching_step(SEED_SHA1, "081804", t).is_some());
        for bad in ["81804", "0818040", " 081804", "081804 ", "08180４", "o81804", "+81804", "", "07081804"] {
            assert_eq!(matching_step(SEED_SHA1, bad, t), None, "{bad:?}");
        }
    }

    #[test]
    fn secrets_are_160_random_bits_in_base32() {
        let a = generate_secret();
        assert_eq!(a.len(), 20);
        assert_ne!(a, generate_secret());
        let b32 = encode_secret(&a);
        assert_eq!(b32.len(), 32);
        assert!(b32.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)));
        assert_eq!(decode_secret(&b32), Some(a.clone()));
        assert_eq!(decode_secret(&b32.to_ascii_lowercase()), Some(a));
        assert_eq!(encode_secret(SEED_SHA1), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(decode_secret("GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ").as_deref(), Some(SEED_SHA1));
        assert_eq!(decode_secret(""), None);
        assert_eq!(decode_secret("not base32!"), None);
    }

    #[test]
    fn otpauth_uri_format() {
        let uri = otpauth_uri("alice+2fa@acme.example", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            uri,
            "otpauth://totp/CloudCX:alice%2B2fa%40acme.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=CloudCX&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn qr_code_is_svg() {
        let svg = qr_svg(&otpauth_uri("bob@acme.example", &encode_secret(&generate_secret()))).expect("qr");
        assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.contains("<svg"));
    }
}
