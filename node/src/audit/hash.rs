//! Vault's audit hashing: every string value is replaced by `hmac-sha256:<hex>` of the value
//! under the device's key, so an operator can match a known value (`sys/audit-hash`) without
//! the log holding any secret.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// HMAC-SHA256 keyed once: the key schedule (two SHA-256 blocks) is done when the device is
/// opened, and each value clones that state instead of setting the key up again.
#[derive(Clone)]
pub struct Keyed(Hmac<Sha256>);

impl Keyed {
    pub fn new(key: &[u8]) -> Keyed {
        Keyed(Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length"))
    }

    /// `hmac-sha256:<hex>` of `input`.
    pub fn hash(&self, input: &str) -> String {
        const PREFIX: &str = "hmac-sha256:";
        let mut mac = self.0.clone();
        mac.update(input.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut hex = [0u8; 64];
        hex::encode_to_slice(digest, &mut hex).expect("32 bytes are 64 hex digits");
        let mut out = String::with_capacity(PREFIX.len() + hex.len());
        out.push_str(PREFIX);
        out.push_str(std::str::from_utf8(&hex).expect("hex digits are ASCII"));
        out
    }
}

/// `hmac-sha256:<hex>` of `input` under `key`.
pub fn hash_value(key: &[u8], input: &str) -> String {
    Keyed::new(key).hash(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_the_prefixed_hex_hmac_under_the_device_key() {
        let key = b"device key";
        assert!(hash_value(key, "x").starts_with("hmac-sha256:"));
        assert_eq!(hash_value(key, "x").len(), "hmac-sha256:".len() + 64);
        assert_eq!(hash_value(key, "x"), Keyed::new(key).hash("x"));
        assert_ne!(hash_value(b"other key", "x"), hash_value(key, "x"));
        assert_ne!(hash_value(key, "y"), hash_value(key, "x"));
    }
}
