//! Password hashing for userpass: Argon2id (the `argon2` crate's defaults) with a random 16-byte
//! salt from `ids`, stored as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`).
//! The password itself is never stored, not even behind the barrier.

use crate::off_worker::off_worker;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("hashing the password failed: {0}")]
pub struct HashError(String);

/// Hash `password` with a fresh salt.
pub fn hash(password: &str) -> Result<String, HashError> {
    let salt = SaltString::encode_b64(&crate::ids::random_bytes(16))
        .map_err(|e| HashError(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches the stored `phc` string (a malformed one matches nothing).
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spend the time a real check takes, so an unknown user answers as slowly as a wrong password.
pub fn verify_nothing(password: &str) {
    let _ = verify(password, DUMMY);
}

/// [`hash`] on the blocking pool ([`off_worker`]): Argon2id spends tens of milliseconds of CPU
/// by design.
pub async fn hash_off_worker(password: String) -> Result<String, HashError> {
    let hashing = off_worker(move || hash(&password));
    hashing.await.map_err(|e| HashError(e.to_string()))?
}

/// [`verify`] against `phc` on the blocking pool, or [`verify_nothing`] when there is no user
/// (`None`), so both cost the same; false unless the password matches.
pub async fn verify_off_worker(password: String, phc: Option<String>) -> bool {
    let check = move || match phc {
        Some(phc) => verify(&password, &phc),
        None => {
            verify_nothing(&password);
            false
        }
    };
    off_worker(check).await.unwrap_or(false)
}

/// A well-formed hash of nothing anyone knows, for `verify_nothing`.
const DUMMY: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Y8z9Jr8xYDSUPfC0vBwJ6UjnwSdu9f0m8bYyJnVbXfM";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_never_contain_the_password() {
        let h = hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("correct horse"));
        assert!(verify("correct horse", &h));
        assert!(!verify("wrong horse", &h));
    }

    #[tokio::test]
    async fn off_worker_forms_agree_with_the_direct_ones() {
        let h = hash_off_worker("pw".into()).await.unwrap();
        assert!(verify("pw", &h));
        assert!(verify_off_worker("pw".into(), Some(h.clone())).await);
        assert!(!verify_off_worker("nope".into(), Some(h)).await);
        assert!(!verify_off_worker("pw".into(), None).await);
    }

    #[test]
    fn salts_differ_and_garbage_never_verifies() {
        assert_ne!(hash("pw").unwrap(), hash("pw").unwrap());
        assert!(!verify("pw", "plain-text-pw"));
        assert!(!verify("", ""));
        verify_nothing("pw");
        assert!(
            PasswordHash::new(DUMMY).is_ok(),
            "the dummy must cost a real check"
        );
    }
}
