//! Verifying keys: from PEM (`jwt_validation_pubkeys`: a public key, a PKCS#1 RSA key or a
//! certificate; RSA, P-256, P-384 or Ed25519) or from a JWKS document, and the signature check
//! of a token against a set of them (jsonwebtoken's RustCrypto backend does the mathematics).

use super::token::Unverified;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

/// One verifying key; `kid` is empty for PEM keys (they are tried in turn).
#[derive(Clone)]
pub struct Key {
    pub kid: String,
    /// The algorithm the JWKS pins the key to, if any.
    pub alg: Option<Algorithm>,
    pub key: DecodingKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// The key of a SubjectPublicKeyInfo (DER).
fn from_spki(der: &[u8]) -> Result<DecodingKey, String> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    if let Ok(k) = rsa::RsaPublicKey::from_public_key_der(der) {
        return Ok(DecodingKey::from_rsa_raw_components(
            &k.n().to_bytes_be(),
            &k.e().to_bytes_be(),
        ));
    }
    if let Ok(k) = p256::PublicKey::from_public_key_der(der) {
        return Ok(DecodingKey::from_ec_der(
            k.to_encoded_point(false).as_bytes(),
        ));
    }
    if let Ok(k) = p384::PublicKey::from_public_key_der(der) {
        return Ok(DecodingKey::from_ec_der(
            k.to_encoded_point(false).as_bytes(),
        ));
    }
    if let Ok(k) = ed25519_dalek::VerifyingKey::from_public_key_der(der) {
        return Ok(DecodingKey::from_ed_der(k.as_bytes()));
    }
    Err("unsupported public key type (RSA, P-256, P-384 and Ed25519 keys are)".into())
}

/// A key from one PEM block (`PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE`).
pub fn from_pem(pem: &str) -> Result<Key, String> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.trim().as_bytes())
        .map_err(|_| "data does not contain any valid public keys".to_string())?;
    let key = match block.label.as_str() {
        "PUBLIC KEY" => from_spki(&block.contents)?,
        "RSA PUBLIC KEY" => {
            use rsa::pkcs1::DecodeRsaPublicKey;
            use rsa::traits::PublicKeyParts;
            let k = rsa::RsaPublicKey::from_pkcs1_der(&block.contents)
                .map_err(|e| format!("invalid RSA public key: {e}"))?;
            DecodingKey::from_rsa_raw_components(&k.n().to_bytes_be(), &k.e().to_bytes_be())
        }
        "CERTIFICATE" => {
            let (_, cert) = x509_parser::parse_x509_certificate(&block.contents)
                .map_err(|e| format!("invalid certificate: {e}"))?;
            from_spki(cert.public_key().raw)?
        }
        other => return Err(format!("unsupported PEM block {other:?}")),
    };
    Ok(Key {
        kid: String::new(),
        alg: None,
        key,
    })
}

/// The signing keys of a JWKS document (`{"keys": [...]}`). Keys for encryption, symmetric keys
/// and keys of unknown types are skipped.
pub fn from_jwks(doc: &Value) -> Result<Vec<Key>, String> {
    let Some(items) = doc.get("keys").and_then(Value::as_array) else {
        return Err("the JWKS document has no \"keys\" list".into());
    };
    let mut out = Vec::new();
    for item in items {
        let Ok(jwk) = serde_json::from_value::<Jwk>(item.clone()) else {
            continue;
        };
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption))
            || matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_))
        {
            continue;
        }
        let Ok(key) = DecodingKey::from_jwk(&jwk) else {
            continue;
        };
        let alg = jwk
            .common
            .key_algorithm
            .and_then(|a| a.to_string().parse::<Algorithm>().ok());
        out.push(Key {
            kid: jwk.common.key_id.clone().unwrap_or_default(),
            alg,
            key,
        });
    }
    Ok(out)
}

/// Whether the token's kid names one of `keys` (a token without a kid names them all).
pub fn knows_kid(keys: &[Key], token: &Unverified) -> bool {
    token.kid.is_empty() || keys.iter().any(|k| k.kid == token.kid)
}

/// Whether one of `keys` verifies the token's signature under its `alg`. With `by_kid`, only keys
/// with the token's kid are tried (all of them when the token names none).
pub fn verifies(keys: &[Key], token: &Unverified, by_kid: bool) -> bool {
    keys.iter()
        .filter(|k| !by_kid || token.kid.is_empty() || k.kid == token.kid)
        .filter(|k| k.alg.is_none_or(|a| a == token.alg))
        .any(|k| {
            jsonwebtoken::crypto::verify(
                &token.signature,
                token.signing_input.as_bytes(),
                &k.key,
                token.alg,
            )
            .unwrap_or(false)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    /// An Ed25519 key pair made here (PKCS#8 private key and SPKI public key, PEM).
    fn ed_pair(seed: u8) -> (EncodingKey, String) {
        use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};
        let sk = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        let der = sk.to_pkcs8_der().unwrap();
        let public = sk
            .verifying_key()
            .to_public_key_pem(Default::default())
            .unwrap();
        (EncodingKey::from_ed_der(der.as_bytes()), public)
    }

    fn sign(enc: &EncodingKey, kid: Option<&str>) -> Unverified {
        let mut h = Header::new(Algorithm::EdDSA);
        h.kid = kid.map(String::from);
        let t = jsonwebtoken::encode(&h, &json!({"sub": "a", "iat": 1}), enc).unwrap();
        super::super::token::parse(&t).unwrap()
    }

    #[test]
    fn pem_keys_verify_their_own_signatures_only() {
        let (enc, pem) = ed_pair(1);
        let (_, other) = ed_pair(2);
        let key = from_pem(&pem).unwrap();
        let t = sign(&enc, None);
        assert!(verifies(std::slice::from_ref(&key), &t, false));
        assert!(!verifies(&[from_pem(&other).unwrap()], &t, false));
        let mut tampered = t.clone();
        tampered.signing_input.push('x');
        assert!(!verifies(&[key], &tampered, false));
        assert!(from_pem("not pem").is_err());
    }

    #[test]
    fn jwks_keys_are_found_by_kid() {
        let (enc, _) = ed_pair(3);
        let sk = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let x = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            sk.verifying_key().as_bytes(),
        );
        let doc = json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "k1", "alg": "EdDSA", "use": "sig"},
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
            {"kty": "weird", "kid": "skip"},
        ]});
        let keys = from_jwks(&doc).unwrap();
        assert_eq!(keys.len(), 1);
        assert!(verifies(&keys, &sign(&enc, Some("k1")), true));
        let unknown = sign(&enc, Some("k2"));
        assert!(!knows_kid(&keys, &unknown));
        assert!(!verifies(&keys, &unknown, true));
        assert!(from_jwks(&json!({"nokeys": []})).is_err());
    }
}
