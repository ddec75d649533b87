//! `Secret`: key bytes that are zeroized on drop, base64 in the stored JSON and redacted in
//! Debug output.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::{Zeroize, Zeroizing};

/// Secret bytes: zeroized on drop, base64 in the stored JSON, redacted in Debug output.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Take ownership of `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(Zeroizing::new(bytes))
    }

    /// `n` random bytes.
    pub fn random(n: usize) -> Self {
        Secret::new(crate::ids::random_bytes(n))
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let encoded = Zeroizing::new(STANDARD.encode(self.bytes()));
        s.serialize_str(&encoded)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut encoded = String::deserialize(d)?;
        let decoded = STANDARD.decode(&encoded).map_err(serde::de::Error::custom);
        encoded.zeroize();
        decoded.map(Secret::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_serialize_as_base64_and_never_debug_print() {
        let s = Secret::new(vec![1, 2, 3]);
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"AQID\"");
        let back: Secret = serde_json::from_str("\"AQID\"").unwrap();
        assert_eq!(back, s);
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert!(serde_json::from_str::<Secret>("\"!!\"").is_err());
    }
}
