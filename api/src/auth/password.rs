//! Argon2id hashing on its own bounded pool, so hashing can never starve database calls.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::domain::Secret;

/// OWASP's Argon2id floor: m = 19 MiB, t = 2, p = 1.
fn argon2() -> Argon2<'static> {
    #[expect(clippy::unwrap_used, reason = "constant, valid parameters")]
    let params = Params::new(19_456, 2, 1, None).unwrap();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Runs Argon2id with at most one hash per core at a time; waiting callers queue asynchronously
/// and hold no blocking thread.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    dummy_hash: Arc<String>,
}

impl PasswordHasher {
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Self {
            permits: Arc::new(Semaphore::new(cores)),
            // Verified against when the account does not exist, so that an unknown user costs
            // the same time as a wrong password.
            dummy_hash: Arc::new(hash_now("not a real password; only spends time").unwrap_or_default()),
        }
    }

    pub async fn hash(&self, password: Secret<String>) -> anyhow::Result<String> {
        self.on_pool(move || hash_now(password.expose())).await?
    }

    /// Verifies `password` against `hash`, or against the dummy hash when there is none.
    /// A missing hash always answers `false`, after the same work.
    pub async fn verify(&self, password: Secret<String>, hash: Option<String>) -> anyhow::Result<bool> {
        let real = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.as_ref().clone());
        let ok = self
            .on_pool(move || {
                PasswordHash::new(&hash)
                    .map(|parsed| argon2().verify_password(password.expose().as_bytes(), &parsed).is_ok())
                    .unwrap_or(false)
            })
            .await?;
        Ok(ok && real)
    }

    async fn on_pool<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
        let _permit = self.permits.acquire().await?;
        Ok(tokio::task::spawn_blocking(f).await?)
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

/// Hashes synchronously (CLI and start-up).
pub fn hash_now(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Ok(argon2().hash_password(password.as_bytes(), &salt).map_err(|e| anyhow::anyhow!("argon2: {e}"))?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_the_owasp_parameters() {
        let h = hash_now("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
    }

    #[tokio::test]
    async fn verification_accepts_the_password_and_nothing_else() {
        let hasher = PasswordHasher::new();
        let h = hasher.hash(Secret::new("correct horse battery".into())).await.expect("hash");
        assert!(hasher.verify(Secret::new("correct horse battery".into()), Some(h.clone())).await.expect("v"));
        assert!(!hasher.verify(Secret::new("wrong horse battery".into()), Some(h)).await.expect("v"));
        assert!(!hasher.verify(Secret::new("anything".into()), None).await.expect("v"));
    }
}
