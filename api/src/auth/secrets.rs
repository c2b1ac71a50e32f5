//! Secrets at rest and one-time codes: AES-256-GCM under `AUTH_DATA_KEY`, keyed hashes
//! derived from it, backup codes, e-mail codes, salts and constant-time comparison.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use anyhow::{anyhow, Context};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// AES-GCM nonce length (96 bits).
const NONCE_LEN: usize = 12;

/// Label of the subkey that keys the backup-code hashes (domain separation from encryption).
const BACKUP_CODE_SUBKEY_LABEL: &[u8] = b"cloudcx-auth/v1/backup-codes";

/// Backup-code alphabet: 32 symbols, so 5 random bits each. No `0`, `o`, `l` or `i`; `1` stays
/// (it cannot be confused with a letter that is in the alphabet) and `l`/`i` typed by a user
/// are read as `1`. Lowercase letters a-z minus i/l/o (23) and digits 1-9 (9).
const BACKUP_ALPHABET: &[u8; 32] = b"123456789abcdefghjkmnpqrstuvwxyz";

/// Random symbols in a backup code (10 × 5 = 50 bits).
const BACKUP_CODE_SYMBOLS: usize = 10;

/// AES-256-GCM under AUTH_DATA_KEY, and keyed hashes derived from it.
#[derive(Clone)]
pub struct DataKey {
    cipher: Aes256Gcm,
    /// HMAC-SHA256 keyed with the backup-code subkey, cloned for each hash.
    backup_code_mac: HmacSha256,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey([redacted])")
    }
}

impl DataKey {
    /// A data key from its 32 raw bytes (`AUTH_DATA_KEY`, base64-decoded).
    pub fn new(key: [u8; 32]) -> Self {
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key));
        // HMAC-SHA256 as a PRF (HKDF-Expand with one block): subkey = HMAC(key, label || 0x01).
        let mut prf = hmac_sha256(&key);
        prf.update(BACKUP_CODE_SUBKEY_LABEL);
        prf.update(&[1]);
        let backup_code_mac = hmac_sha256(&prf.finalize().into_bytes());
        Self { cipher, backup_code_mac }
    }

    /// base64(nonce 12 bytes || ciphertext+tag); `aad` binds the value to its row/purpose
    /// (e.g. user id + "totp"). The nonce is random (96 bits from the OS CSPRNG).
    ///
    /// # Panics
    /// Only for a plaintext over 64 GiB, which AES-GCM cannot encrypt.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = match self.cipher.encrypt(&nonce, Payload { msg: plaintext, aad }) {
            Ok(ciphertext) => ciphertext,
            Err(_) => unreachable!("AES-GCM fails only for plaintexts over 64 GiB"),
        };
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        STANDARD.encode(out)
    }

    /// Inverse of [`DataKey::seal`]; fails for malformed input, another key, another `aad` or
    /// any tampering.
    pub fn open(&self, sealed: &str, aad: &[u8]) -> anyhow::Result<Vec<u8>> {
        let raw = STANDARD.decode(sealed.trim()).context("sealed value is not base64")?;
        if raw.len() < NONCE_LEN + 16 {
            return Err(anyhow!("sealed value is too short"));
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad })
            .map_err(|_| anyhow!("sealed value does not open under this key and context"))
    }

    /// HMAC-SHA256 under a subkey derived from the data key for "backup-codes", over
    /// salt || code; lowercase hex. The salt is length-prefixed (8 bytes, big-endian) so that
    /// no (salt, code) pair collides with another. Pass the canonical code (as returned by
    /// [`new_backup_code`] or [`normalize_backup_code`]).
    pub fn backup_code_hash(&self, salt: &str, code: &str) -> String {
        let mut mac = self.backup_code_mac.clone();
        mac.update(&(salt.len() as u64).to_be_bytes());
        mac.update(salt.as_bytes());
        mac.update(code.as_bytes());
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// HMAC-SHA256 keyed with `key` (HMAC accepts keys of any length).
fn hmac_sha256(key: &[u8]) -> HmacSha256 {
    match <HmacSha256 as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

/// A new backup code, `xxxxx-xxxxx`: 10 symbols from a 32-symbol alphabet (50 bits), from the
/// OS CSPRNG, unbiased (each random byte's low 5 bits pick a symbol; 256 is a multiple of 32).
pub fn new_backup_code() -> String {
    let mut bytes = [0u8; BACKUP_CODE_SYMBOLS];
    OsRng.fill_bytes(&mut bytes);
    let mut code = String::with_capacity(BACKUP_CODE_SYMBOLS + 1);
    for (i, b) in bytes.iter().enumerate() {
        if i == BACKUP_CODE_SYMBOLS / 2 {
            code.push('-');
        }
        code.push(char::from(BACKUP_ALPHABET[usize::from(b & 0x1f)]));
    }
    code
}

/// The canonical `xxxxx-xxxxx` form of what a user typed: trims, lowercases, accepts the code
/// with or without the hyphen or with spaces, reads `l` and `i` as `1`, then checks the alphabet
/// and the length. `None` when it cannot be a backup code.
pub fn normalize_backup_code(input: &str) -> Option<String> {
    let input = input.trim();
    if input.len() > 64 {
        return None;
    }
    let mut symbols = Vec::with_capacity(BACKUP_CODE_SYMBOLS);
    for c in input.chars() {
        let c = match c.to_ascii_lowercase() {
            '-' | ' ' => continue,
            'l' | 'i' => '1',
            c => c,
        };
        if !c.is_ascii() || !BACKUP_ALPHABET.contains(&(c as u8)) {
            return None;
        }
        symbols.push(c);
    }
    if symbols.len() != BACKUP_CODE_SYMBOLS {
        return None;
    }
    let (left, right) = symbols.split_at(BACKUP_CODE_SYMBOLS / 2);
    Some(format!("{}-{}", left.iter().collect::<String>(), right.iter().collect::<String>()))
}

/// A new 6-digit e-mail code, uniform over 000000..=999999 (rejection sampling on `u32`),
/// from the OS CSPRNG.
pub fn new_email_code() -> String {
    // The largest multiple of 1 000 000 that fits in u32 arithmetic: 4 294 000 000.
    const LIMIT: u32 = u32::MAX - (u32::MAX % 1_000_000);
    loop {
        let x = OsRng.next_u32();
        if x < LIMIT {
            return format!("{:06}", x % 1_000_000);
        }
    }
}

/// Exactly 6 ASCII digits.
pub fn is_six_digits(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// Constant-time string equality (subtle); only the lengths can leak.
pub fn ct_eq(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A new salt: 16 random bytes from the OS CSPRNG, base64url without padding.
pub fn new_salt() -> String {
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    URL_SAFE_NO_PAD.encode(salt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> DataKey {
        DataKey::new([byte; 32])
    }

    #[test]
    fn seal_open_round_trip() {
        let k = key(7);
        let sealed = k.seal(b"JBSWY3DPEHPK3PXP", b"user-1/totp");
        assert_eq!(k.open(&sealed, b"user-1/totp").expect("open"), b"JBSWY3DPEHPK3PXP");
        let raw = STANDARD.decode(&sealed).expect("b64");
        assert_eq!(raw.len(), 12 + 16 + 16, "nonce || ciphertext || tag");
        assert_eq!(k.open(&k.seal(b"", b""), b"").expect("empty"), b"");
    }

    #[test]
    fn wrong_aad_tampering_and_wrong_key_fail() {
        let k = key(7);
        let sealed = k.seal(b"secret", b"user-1/totp");
        assert!(k.open(&sealed, b"user-2/totp").is_err(), "another row");
        assert!(k.open(&sealed, b"user-1/backup-codes").is_err(), "another purpose");
        assert!(key(8).open(&sealed, b"user-1/totp").is_err(), "another key");
        let mut raw = STANDARD.decode(&sealed).expect("b64");
        for i in [0, 12, raw.len() - 1] {
            raw[i] ^= 1;
            assert!(k.open(&STANDARD.encode(&raw), b"user-1/totp").is_err(), "flipped byte {i}");
            raw[i] ^= 1;
        }
        assert!(k.open(&STANDARD.encode(&raw[..raw.len() - 1]), b"user-1/totp").is_err(), "truncated");
        assert!(k.open("", b"").is_err());
        assert!(k.open("not base64!", b"").is_err());
        assert!(k.open(&STANDARD.encode([0u8; 20]), b"").is_err());
    }

    #[test]
    fn nonces_differ() {
        let k = key(1);
        let a = k.seal(b"same", b"aad");
        let b = k.seal(b"same", b"aad");
        assert_ne!(a, b);
        let na = &STANDARD.decode(&a).expect("b64")[..12];
        let nb = &STANDARD.decode(&b).expect("b64")[..12];
        assert_ne!(na, nb);
    }

    #[test]
    fn debug_is_redacted() {
        let printed = format!("{:?}", key(0x41));
        assert_eq!(printed, "DataKey([redacted])");
        assert!(!printed.contains("41") && !printed.contains("65"));
    }

    #[test]
    fn backup_code_hash_is_keyed_and_salted() {
        let k = key(3);
        let salt = new_salt();
        let h = k.backup_code_hash(&salt, "abcde-fghjk");
        assert_eq!(h.len(), 64);
        assert!(h.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(h, k.backup_code_hash(&salt, "abcde-fghjk"));
        assert_ne!(h, k.backup_code_hash(&new_salt(), "abcde-fghjk"), "salt");
        assert_ne!(h, key(4).backup_code_hash(&salt, "abcde-fghjk"), "key");
        assert_ne!(h, k.backup_code_hash(&salt, "abcde-fghjm"), "code");
        // Shifting characters between salt and code does not collide.
        assert_ne!(k.backup_code_hash("ab", "cd"), k.backup_code_hash("a", "bcd"));
    }

    #[test]
    fn backup_codes_have_50_bits_and_normalize() {
        assert_eq!(BACKUP_ALPHABET.len(), 32, "5 bits a symbol, 10 symbols: 50 bits");
        let mut unique = std::collections::HashSet::new();
        for b in BACKUP_ALPHABET {
            assert!(unique.insert(b), "duplicate symbol");
            assert!(!b"0oli".contains(b), "confusable symbol {}", char::from(*b));
        }
        let mut seen = std::collections::HashSet::new();
        let mut symbols_seen = std::collections::HashSet::new();
        for _ in 0..500 {
            let code = new_backup_code();
            assert_eq!(code.len(), 11);
            assert_eq!(code.as_bytes()[5], b'-');
            for b in code.bytes().filter(|b| *b != b'-') {
                assert!(BACKUP_ALPHABET.contains(&b));
                symbols_seen.insert(b);
            }
            assert_eq!(normalize_backup_code(&code).as_deref(), Some(code.as_str()));
            assert!(seen.insert(code), "collision");
        }
        assert_eq!(symbols_seen.len(), 32, "every symbol is used");

        assert_eq!(normalize_backup_code("  ABCDE-FGHJK ").as_deref(), Some("abcde-fghjk"));
        assert_eq!(normalize_backup_code("abcdefghjk").as_deref(), Some("abcde-fghjk"));
        assert_eq!(normalize_backup_code("abcde fghjk").as_deref(), Some("abcde-fghjk"));
        assert_eq!(normalize_backup_code("ab cde-fg hjk").as_deref(), Some("abcde-fghjk"));
        assert_eq!(normalize_backup_code("abcdL-fghjI").as_deref(), Some("abcd1-fghj1"));
        for bad in ["", "abcde-fghj", "abcde-fghjkm", "abcde-fghj0", "abcde-fghjo", "abcde_fghjk", "abcdé-fghjk"] {
            assert_eq!(normalize_backup_code(bad), None, "{bad:?}");
        }
        assert_eq!(normalize_backup_code(&"a".repeat(1000)), None);
    }

    #[test]
    fn email_codes_are_always_six_digits() {
        let mut leading_zero = false;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..5000 {
            let code = new_email_code();
            assert!(is_six_digits(&code), "{code}");
            leading_zero |= code.starts_with('0');
            seen.insert(code);
        }
        assert!(leading_zero, "zero-padded codes occur (about 10%)");
        assert!(seen.len() > 4900, "codes are spread out");
    }

    #[test]
    fn six_digit_rule_and_constant_time_eq() {
        assert!(is_six_digits("081804"));
        for bad in ["81804", "0818040", " 081804", "08180a", "", "０８１８０４"] {
            assert!(!is_six_digits(bad), "{bad:?}");
        }
        assert!(ct_eq("abc", "abc"));
        assert!(!ct_eq("abc", "abd"));
        assert!(!ct_eq("abc", "abcd"));
        assert!(ct_eq("", ""));
    }

    #[test]
    fn salts_are_16_random_bytes() {
        let s = new_salt();
        assert_eq!(URL_SAFE_NO_PAD.decode(&s).expect("b64url").len(), 16);
        assert_ne!(s, new_salt());
    }
}
