//! Opaque random tokens, stored only as hashes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// `bytes` random bytes from the OS CSPRNG, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// What the database keeps of a token: SHA-256, hex. The tokens carry ≥ 128 random bits,
/// so a fast hash is enough (no dictionary to guess from).
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A refresh token: 256 bits.
pub fn new_refresh_token() -> String {
    random_token(32)
}

/// Cheap shape check before touching the database: base64url of the expected length.
pub fn looks_like_token(token: &str, bytes: usize) -> bool {
    let len = (bytes * 4).div_ceil(3);
    token.len() == len && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_carry_256_bits_and_are_unique() {
        let a = new_refresh_token();
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).expect("b64").len(), 32);
        assert_ne!(a, new_refresh_token());
        assert!(looks_like_token(&a, 32));
        assert!(!looks_like_token("short", 32));
    }

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
