//! Access tokens: signing keys, the JWKS, and verification that pins the algorithm and checks
//! signature, `typ`, `iss`, `aud`, `exp` and `nbf` against the application's clock.

use aws_lc_rs::encoding::AsDer;
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The header `typ` of our access tokens (RFC 9068).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// Clock skew tolerated for `exp` and `nbf`.
pub const LEEWAY_SECS: i64 = 30;

/// The claims of a user or service access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    /// The site id.
    pub tid: String,
    /// Users only; a service token has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// The refresh family (session) the token came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_setup_required: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// The private key, parsed once. (jsonwebtoken's `encode` parses and checks the key again for
/// every token, which cost half of an RS256 signature: docs/PERFORMANCE.md.)
enum Signer {
    Rsa(aws_lc_rs::rsa::KeyPair),
    Ec(aws_lc_rs::signature::EcdsaKeyPair),
}

impl Signer {
    fn from_pem(pem: &str, alg: Algorithm) -> anyhow::Result<Self> {
        let (label, der) = pem_der(pem)?;
        let rejected = |e: aws_lc_rs::error::KeyRejected| anyhow::anyhow!("private key rejected: {e}");
        Ok(match (alg, label.as_str()) {
            (Algorithm::RS256, "RSA PRIVATE KEY") => {
                Self::Rsa(aws_lc_rs::rsa::KeyPair::from_der(&der).map_err(rejected)?)
            }
            (Algorithm::RS256, _) => Self::Rsa(aws_lc_rs::rsa::KeyPair::from_pkcs8(&der).map_err(rejected)?),
            (_, label) => {
                let pkcs8 = if label == "EC PRIVATE KEY" { pem_der(&sec1_to_pkcs8_pem(pem)?)?.1 } else { der };
                Self::Ec(
                    aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
                        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                        &pkcs8,
                    )
                    .map_err(rejected)?,
                )
            }
        })
    }

    fn sign(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match self {
            Self::Rsa(key) => {
                let mut signature = vec![0u8; key.public_modulus_len()];
                key.sign(&aws_lc_rs::signature::RSA_PKCS1_SHA256, &rng, message, &mut signature)
                    .map_err(|_| anyhow::anyhow!("RS256 signing failed"))?;
                Ok(signature)
            }
            Self::Ec(key) => {
                Ok(key.sign(&rng, message).map_err(|_| anyhow::anyhow!("ES256 signing failed"))?.as_ref().to_vec())
            }
        }
    }
}

/// One key pair: signs (if current) and verifies.
pub struct SigningKey {
    pub kid: String,
    pub alg: Algorithm,
    signer: Signer,
    decoding: DecodingKey,
    pub jwk: Jwk,
}

impl SigningKey {
    /// RSA (≥ 2048 bits → RS256) or P-256 (→ ES256), PKCS#1/SEC1/PKCS#8 PEM.
    pub fn from_pem(pem: &str) -> anyhow::Result<Self> {
        let (alg, encoding) = if pem.contains("BEGIN RSA PRIVATE KEY") {
            (Algorithm::RS256, EncodingKey::from_rsa_pem(pem.as_bytes())?)
        } else if pem.contains("BEGIN EC PRIVATE KEY") {
            // SEC1, as `openssl ecparam -genkey` writes it: the signer reads PKCS#8 only.
            (Algorithm::ES256, EncodingKey::from_ec_pem(sec1_to_pkcs8_pem(pem)?.as_bytes())?)
        } else {
            match EncodingKey::from_rsa_pem(pem.as_bytes()) {
                Ok(key) => (Algorithm::RS256, key),
                Err(_) => (Algorithm::ES256, EncodingKey::from_ec_pem(pem.as_bytes())?),
            }
        };
        let mut jwk = Jwk::from_encoding_key(&encoding, alg)
            .map_err(|e| anyhow::anyhow!("not an RSA or P-256 private key: {e}"))?;
        if let jsonwebtoken::jwk::AlgorithmParameters::RSA(rsa) = &jwk.algorithm {
            let bits = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&rsa.n)?.len() * 8;
            anyhow::ensure!(bits >= 2048, "RSA keys must have at least 2048 bits (this one has {bits})");
        }
        let kid = jwk.thumbprint(ThumbprintHash::SHA256);
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(match alg {
            Algorithm::ES256 => KeyAlgorithm::ES256,
            _ => KeyAlgorithm::RS256,
        });
        let decoding = DecodingKey::from_jwk(&jwk)?;
        let signer = Signer::from_pem(pem, alg)?;
        Ok(Self { kid, alg, signer, decoding, jwk })
    }
}

/// The current signing key and the previous ones still accepted and published.
pub struct KeySet {
    pub current: SigningKey,
    pub previous: Vec<SigningKey>,
    issuer: String,
    audience: String,
    /// Tokens whose signature and claims were checked, with their claims: a service that sends the
    /// same token on request after request pays for one RSA verification, not one each (Envoy's
    /// `jwt_cache_config` does the same). Keyed by the whole token, so nothing but the very same
    /// bytes hits; times (`exp`, `nbf`) are checked again on every use. Revocation is not decided
    /// here (the revocation view does it).
    verified: std::sync::RwLock<std::collections::HashMap<Box<str>, Claims>>,
}

/// How many verified tokens [`KeySet`] remembers; a full cache starts again empty (bounded memory:
/// a token and its claims take about 1.5 KB, so at most about 6 MB).
const VERIFIED_CAP: usize = 4096;

/// Why a token was refused. Callers answer all of them the same way (401 `unauthenticated`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("wrong type")]
    WrongType,
    #[error("unknown key")]
    UnknownKey,
    #[error("bad signature or claims: {0}")]
    Invalid(String),
    #[error("expired")]
    Expired,
    #[error("not yet valid")]
    NotYetValid,
}

impl KeySet {
    pub fn new(current_pem: &str, previous_pems: &[&str], issuer: String, audience: String) -> anyhow::Result<Self> {
        Ok(Self {
            current: SigningKey::from_pem(current_pem)?,
            previous: previous_pems.iter().map(|p| SigningKey::from_pem(p)).collect::<anyhow::Result<_>>()?,
            issuer,
            audience,
            verified: Default::default(),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        let mut header = Header::new(self.current.alg);
        header.kid = Some(self.current.kid.clone());
        header.typ = Some(ACCESS_TOKEN_TYP.to_string());
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut token = b64.encode(serde_json::to_vec(&header)?);
        token.push('.');
        token.push_str(&b64.encode(serde_json::to_vec(claims)?));
        let signature = self.current.signer.sign(token.as_bytes())?;
        token.push('.');
        token.push_str(&b64.encode(signature));
        Ok(token)
    }

    /// The JWK Set: current key first, then the previous ones.
    pub fn jwks(&self) -> JwkSet {
        JwkSet { keys: std::iter::once(&self.current).chain(&self.previous).map(|k| k.jwk.clone()).collect() }
    }

    /// Verifies a token at Unix time `now`. The algorithm comes from our key, never from the
    /// token: `alg: none` or an HMAC token signed with the public key cannot pass.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let known = self.verified.read().unwrap_or_else(|e| e.into_inner()).get(token).cloned();
        let claims = match known {
            Some(claims) => claims,
            None => {
                let claims = self.verify_signature_and_claims(token)?;
                let mut verified = self.verified.write().unwrap_or_else(|e| e.into_inner());
                if verified.len() >= VERIFIED_CAP {
                    verified.clear();
                }
                verified.insert(token.into(), claims.clone());
                claims
            }
        };
        if claims.exp <= now - LEEWAY_SECS {
            return Err(TokenError::Expired);
        }
        if claims.nbf > now + LEEWAY_SECS {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }

    /// Everything [`Self::verify`] checks but the times (which depend on when it is asked).
    fn verify_signature_and_claims(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
            return Err(TokenError::WrongType);
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.kid == kid)
            .ok_or(TokenError::UnknownKey)?;
        if header.alg != key.alg {
            return Err(TokenError::Invalid("algorithm does not match the key".into()));
        }
        let mut validation = Validation::new(key.alg);
        validation.algorithms = vec![key.alg];
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        // Time is checked by `verify` against the application's clock, not jsonwebtoken's.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims =
            ["exp", "nbf", "iat", "iss", "aud", "sub"].iter().map(|s| s.to_string()).collect();
        let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        Ok(data.claims)
    }
}

/// A new 2048-bit RSA key as PKCS#8 PEM (the generated default for the embedded database).
pub fn generate_rsa_pem() -> anyhow::Result<String> {
    let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
        .map_err(|_| anyhow::anyhow!("RSA key generation failed"))?;
    let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&key)
        .map_err(|_| anyhow::anyhow!("RSA key encoding failed"))?;
    Ok(pem_encode("PRIVATE KEY", der.as_ref()))
}

/// A new P-256 key as PKCS#8 PEM (for ES256).
pub fn generate_p256_pem() -> anyhow::Result<String> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let doc = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &rng,
    )
    .map_err(|_| anyhow::anyhow!("P-256 key generation failed"))?;
    Ok(pem_encode("PRIVATE KEY", doc.as_ref()))
}

/// The label and DER bytes of the first PEM block.
fn pem_der(pem: &str) -> anyhow::Result<(String, Vec<u8>)> {
    let mut lines = pem.lines().map(str::trim).skip_while(|l| !l.starts_with("-----BEGIN "));
    let label = lines
        .next()
        .and_then(|l| l.strip_prefix("-----BEGIN "))
        .and_then(|l| l.strip_suffix("-----"))
        .ok_or_else(|| anyhow::anyhow!("not a PEM key"))?
        .to_string();
    let body: String = lines.take_while(|l| !l.starts_with("-----END")).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(body).map_err(|e| anyhow::anyhow!("PEM: {e}"))?;
    Ok((label, der))
}

/// Wraps a SEC1 `EC PRIVATE KEY` (P-256) in a PKCS#8 `PrivateKeyInfo` (RFC 5208, RFC 5915).
fn sec1_to_pkcs8_pem(pem: &str) -> anyhow::Result<String> {
    let (label, sec1) = pem_der(pem)?;
    anyhow::ensure!(label == "EC PRIVATE KEY", "not an EC PRIVATE KEY");
    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match content.len() {
            n @ 0..=0x7f => out.push(n as u8),
            n @ 0x80..=0xff => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(content);
        out
    }
    // SEQUENCE { OID id-ecPublicKey, OID prime256v1 }
    const P256_ALGORITHM: [u8; 21] = [
        0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
        0x03, 0x01, 0x07,
    ];
    let mut info = vec![0x02, 0x01, 0x00];
    info.extend_from_slice(&P256_ALGORITHM);
    info.extend(der(0x04, &sec1));
    Ok(pem_encode("PRIVATE KEY", &der(0x30, &info)))
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(now: i64) -> Claims {
        Claims {
            iss: "http://127.0.0.1:1".into(),
            sub: "u".into(),
            aud: "cloudcx".into(),
            exp: now + 900,
            iat: now,
            nbf: now,
            jti: "j".into(),
            tid: "t".into(),
            role: Some("agent".into()),
            auth_time: Some(now),
            amr: vec!["pwd".into()],
            acr: Some("aal1".into()),
            sid: None,
            mfa_setup_required: None,
            client_id: None,
            scope: None,
        }
    }

    #[test]
    fn rs256_and_es256_keys_sign_and_verify_with_thumbprint_kids() {
        for pem in [generate_rsa_pem().expect("rsa"), generate_p256_pem().expect("ec")] {
            let keys = KeySet::new(&pem, &[], "http://127.0.0.1:1".into(), "cloudcx".into()).expect("keys");
            let token = keys.sign(&claims(1_000_000)).expect("sign");
            assert_eq!(keys.verify(&token, 1_000_000).expect("verify"), claims(1_000_000));
            assert_eq!(keys.current.kid.len(), 43, "base64url SHA-256 thumbprint");
            assert_eq!(keys.verify(&token, 1_000_000 + 900 + LEEWAY_SECS), Err(TokenError::Expired));
            assert_eq!(keys.verify(&token, 1_000_000 - 3600), Err(TokenError::NotYetValid));
        }
    }

    #[test]
    fn a_remembered_token_hits_only_with_its_exact_bytes_and_still_expires() {
        let keys = KeySet::new(&generate_p256_pem().expect("ec"), &[], "http://127.0.0.1:1".into(), "cloudcx".into())
            .expect("keys");
        let token = keys.sign(&claims(1_000_000)).expect("sign");
        assert!(keys.verify(&token, 1_000_000).is_ok());
        let mut tampered = token.clone();
        let last = tampered.pop().expect("a character");
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(matches!(keys.verify(&tampered, 1_000_000), Err(TokenError::Invalid(_))));
        assert_eq!(keys.verify(&token, 1_000_000 + 900 + LEEWAY_SECS), Err(TokenError::Expired));
        assert_eq!(keys.verified.read().expect("lock").len(), 1, "only the verified token is remembered");
    }

    #[test]
    fn the_remembered_tokens_are_bounded() {
        let keys = KeySet::new(&generate_p256_pem().expect("ec"), &[], "http://127.0.0.1:1".into(), "cloudcx".into())
            .expect("keys");
        for i in 0..=VERIFIED_CAP {
            let mut c = claims(1_000_000);
            c.jti = format!("j{i}");
            assert!(keys.verify(&keys.sign(&c).expect("sign"), 1_000_000).is_ok());
        }
        assert!(keys.verified.read().expect("lock").len() <= VERIFIED_CAP);
    }

    #[test]
    fn a_token_of_a_previous_key_still_verifies() {
        let old = generate_p256_pem().expect("ec");
        let old_keys = KeySet::new(&old, &[], "i".into(), "cloudcx".into()).expect("keys");
        let mut c = claims(5_000);
        c.iss = "i".into();
        let token = old_keys.sign(&c).expect("sign");
        let rotated = KeySet::new(&generate_p256_pem().expect("ec"), &[&old], "i".into(), "cloudcx".into()).expect("k");
        assert!(rotated.verify(&token, 5_000).is_ok());
        assert_eq!(rotated.jwks().keys.len(), 2);
    }

    #[test]
    fn small_rsa_keys_are_refused() {
        let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("gen");
        assert!(key.public_modulus_len() * 8 >= 2048);
        assert!(SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").is_err());
    }

    /// `openssl ecparam -name prime256v1 -genkey` writes SEC1: accepted as ES256, same key as its PKCS#8 form.
    #[test]
    fn a_sec1_p256_key_is_accepted_as_es256() {
        let dir = std::env::temp_dir().join(format!("cx-sec1-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let sec1 = dir.join("sec1.pem");
        let made = std::process::Command::new("openssl")
            .args(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out"])
            .arg(&sec1)
            .status()
            .expect("openssl (Debian's openssl package)");
        assert!(made.success());
        let pkcs8 = std::process::Command::new("openssl")
            .args(["pkcs8", "-topk8", "-nocrypt", "-in"])
            .arg(&sec1)
            .output()
            .expect("openssl pkcs8");
        let sec1_pem = std::fs::read_to_string(&sec1).expect("read");
        assert!(sec1_pem.contains("BEGIN EC PRIVATE KEY"));
        let a = SigningKey::from_pem(&sec1_pem).expect("SEC1 accepted");
        let b = SigningKey::from_pem(std::str::from_utf8(&pkcs8.stdout).expect("utf-8")).expect("PKCS#8 accepted");
        assert_eq!(a.alg, Algorithm::ES256);
        assert_eq!(a.kid, b.kid, "the same key either way");
        let _ = std::fs::remove_dir_all(dir);
    }
}
