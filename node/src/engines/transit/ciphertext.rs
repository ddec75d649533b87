//! The versioned string format of transit's ciphertexts, signatures and HMACs:
//! `vault:v<N>:<base64>`, where `N` is the key version that made it. For AEAD ciphertexts the
//! base64 body is `nonce | ciphertext | tag`, nonce first, as Vault lays it out.

use super::error::TransitError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

const PREFIX: &str = "vault:v";

/// What a versioned value holds; it only changes the wording of errors (Vault's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ciphertext,
    Signature,
    Hmac,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Ciphertext => "ciphertext",
            Kind::Signature => "signature",
            Kind::Hmac => "HMAC",
        }
    }
}

/// `vault:v<version>:<body>` with `body` as given (already encoded).
pub fn format(version: u32, body: &str) -> String {
    format!("{PREFIX}{version}:{body}")
}

/// `vault:v<version>:` + standard base64 of `bytes`.
pub fn format_bytes(version: u32, bytes: &[u8]) -> String {
    format(version, &STANDARD.encode(bytes))
}

/// Split a versioned value into its version and its (still encoded) body. Version 0 is read as
/// 1, as Vault does for values from before versions started at 1.
pub fn parse(value: &str, kind: Kind) -> Result<(u32, &str), TransitError> {
    let noun = kind.noun();
    let rest = value
        .strip_prefix(PREFIX)
        .ok_or_else(|| TransitError::user(format!("invalid {noun}: no prefix")))?;
    let (version, body) = rest
        .split_once(':')
        .ok_or_else(|| TransitError::user(format!("invalid {noun}: wrong number of fields")))?;
    let version: u32 = version.parse().map_err(|_| {
        TransitError::user(format!(
            "invalid {noun}: version number could not be decoded"
        ))
    })?;
    Ok((version.max(1), body))
}

/// `parse`, then the body decoded as standard base64 (endpoints check the version between
/// the two steps, as Vault orders its errors).
#[cfg(test)]
pub fn parse_bytes(value: &str, kind: Kind) -> Result<(u32, Vec<u8>), TransitError> {
    let (version, body) = parse(value, kind)?;
    let bytes = STANDARD.decode(body).map_err(|_| {
        TransitError::user(format!("invalid {}: could not decode base64", kind.noun()))
    })?;
    Ok((version, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_and_parses() {
        let s = format_bytes(3, b"\x00\x01hello");
        assert_eq!(s, "vault:v3:AAFoZWxsbw==");
        assert_eq!(
            parse_bytes(&s, Kind::Ciphertext).unwrap(),
            (3, b"\x00\x01hello".to_vec())
        );
        assert_eq!(parse("vault:v0:abc", Kind::Signature).unwrap(), (1, "abc"));
        // The body may itself contain colons (it is split once).
        assert_eq!(parse("vault:v2:a:b", Kind::Hmac).unwrap(), (2, "a:b"));
    }

    #[test]
    fn rejects_malformed_values_with_vaults_messages() {
        let e = |v: &str, k| parse_bytes(v, k).unwrap_err().to_string();
        assert_eq!(e("abc", Kind::Ciphertext), "invalid ciphertext: no prefix");
        assert_eq!(
            e("vault:v1", Kind::Ciphertext),
            "invalid ciphertext: wrong number of fields"
        );
        assert_eq!(
            e("vault:vx:AA==", Kind::Signature),
            "invalid signature: version number could not be decoded"
        );
        assert_eq!(
            e("vault:v1:!!", Kind::Ciphertext),
            "invalid ciphertext: could not decode base64"
        );
        assert_eq!(
            e("vault:v-1:AA==", Kind::Hmac),
            "invalid HMAC: version number could not be decoded"
        );
    }
}
