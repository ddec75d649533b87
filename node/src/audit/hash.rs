//! Vault's audit hashing: every string value is replaced by `hmac-sha256:<hex>` of the value
//! under the device's key, so an operator can match a known value (`sys/audit-hash`) without
//! the log holding any secret.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// HMAC-SHA256 keyed once: the key schedule (two SHA-256 blocks) is done when the line starts,
/// and each value clones that state instead of setting the key up again.
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
        let mut out = String::with_capacity(PREFIX.len() + 2 * digest.len());
        out.push_str(PREFIX);
        out.push_str(&hex::encode(digest));
        out
    }
}

/// `hmac-sha256:<hex>` of `input` under `key`.
pub fn hash_value(key: &[u8], input: &str) -> String {
    Keyed::new(key).hash(input)
}

/// Replace every string in `value` (recursively; object keys stay) by its hash.
pub fn hash_strings(key: &Keyed, value: &mut Value) {
    hash_strings_except(key, value, &[]);
}

/// `hash_strings`, except strings whose nearest object key is in `plain` (a mount's
/// `audit_non_hmac_*_keys`): as in Vault, the key names a value at any depth, and a list under
/// it is kept whole, a map under it is not (its own keys decide).
pub fn hash_strings_except(key: &Keyed, value: &mut Value, plain: &[String]) {
    walk(key, value, plain, false);
}

fn walk(key: &Keyed, value: &mut Value, plain: &[String], keep: bool) {
    match value {
        Value::String(s) if !keep => *s = key.hash(s),
        Value::Array(items) => items.iter_mut().for_each(|v| walk(key, v, plain, keep)),
        Value::Object(map) => map
            .iter_mut()
            .for_each(|(k, v)| walk(key, v, plain, plain.contains(k))),
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
        hash_strings(&Keyed::new(key), &mut v);
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

    #[test]
    fn non_hmac_keys_stay_plain_at_any_depth_and_nothing_else_does() {
        let key = b"k";
        let mut v =
            json!({"a": "1", "b": "2", "n": {"a": ["3"], "m": {"c": "4"}}, "a2": {"c": "5"}});
        hash_strings_except(&Keyed::new(key), &mut v, &["a".into(), "a2".into()]);
        assert_eq!(v["a"], "1");
        assert_eq!(v["n"]["a"][0], "3");
        assert_eq!(v["b"], hash_value(key, "2"));
        assert_eq!(v["n"]["m"]["c"], hash_value(key, "4"));
        assert_eq!(v["a2"]["c"], hash_value(key, "5"));
    }
}
