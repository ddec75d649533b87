//! Vault's audit hashing: every string value is replaced by `hmac-sha256:<hex>` of the value
//! under the device's key, so an operator can match a known value (`sys/audit-hash`) without
//! the log holding any secret.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// `hmac-sha256:<hex>` of `input` under `key`.
pub fn hash_value(key: &[u8], input: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(input.as_bytes());
    format!("hmac-sha256:{}", hex::encode(mac.finalize().into_bytes()))
}

/// Replace every string in `value` (recursively; object keys stay) by its hash.
pub fn hash_strings(key: &[u8], value: &mut Value) {
    match value {
        Value::String(s) => *s = hash_value(key, s),
        Value::Array(items) => items.iter_mut().for_each(|v| hash_strings(key, v)),
        Value::Object(map) => map.values_mut().for_each(|v| hash_strings(key, v)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_are_hashed_everywhere_and_nothing_else_changes() {
        let key = b"device key";
        let mut v = json!({"data": {"password": "hunter2", "n": 3, "list": ["a", true]}});
        hash_strings(key, &mut v);
        assert_eq!(v["data"]["password"], hash_value(key, "hunter2"));
        assert_eq!(v["data"]["n"], 3);
        assert_eq!(v["data"]["list"][0], hash_value(key, "a"));
        assert_eq!(v["data"]["list"][1], true);
        assert!(!v.to_string().contains("hunter2"));
        assert_ne!(
            hash_value(b"other key", "hunter2"),
            hash_value(key, "hunter2")
        );
        assert!(hash_value(key, "x").starts_with("hmac-sha256:"));
        assert_eq!(hash_value(key, "x").len(), "hmac-sha256:".len() + 64);
    }
}
