//! One version of a transit key: its secret bytes, its HMAC key, its public half, and how each
//! type makes, shows and exports them. Secret bytes live in `Secret` (zeroized on drop, never in
//! Debug output) and reach storage only inside the mount's `StorageView`, i.e. through the barrier.
//!
//! What `key` holds per type: AES-256-GCM and ChaCha20-Poly1305 the 32-byte key; Ed25519 the
//! 32-byte seed; ECDSA P-256 the 32-byte secret scalar; RSA-2048 the PKCS#1 DER private key.

use super::error::TransitError;
use super::keytype::KeyType;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use coffer_seal::rng::SysRng;
use hkdf::Hkdf;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Sha256;
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

/// One version of a key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeyVersion {
    /// Unix seconds at creation (what Vault shows for symmetric keys).
    pub creation_time: i64,
    /// The same instant in RFC 3339 (what Vault shows for asymmetric keys).
    pub created: String,
    /// The secret key bytes (see the module doc for the layout per type).
    pub key: Secret,
    /// The key of `hmac/` for this version: 32 random bytes, independent of `key`.
    pub hmac_key: Secret,
    /// The public key as Vault formats it (Ed25519 base64, ECDSA/RSA PEM); empty for symmetric.
    #[serde(default)]
    pub public_key: String,
}

fn internal(what: &str, e: impl std::fmt::Display) -> TransitError {
    TransitError::Internal(format!("{what}: {e}"))
}

impl KeyVersion {
    /// A fresh version of a key of type `kind`, created now.
    pub fn generate(kind: KeyType) -> Result<KeyVersion, TransitError> {
        let (key, public_key) = match kind {
            KeyType::Aes256Gcm96 | KeyType::ChaCha20Poly1305 => (Secret::random(32), String::new()),
            KeyType::Ed25519 => {
                let seed = Secret::random(32);
                let public = ed25519_public(seed.bytes())?;
                (seed, STANDARD.encode(public))
            }
            KeyType::EcdsaP256 => {
                let secret = p256::SecretKey::random(&mut SysRng);
                let public = ecdsa_public_pem(&secret)?;
                (Secret::new(secret.to_bytes().to_vec()), public)
            }
            KeyType::Rsa2048 => {
                let private = rsa::RsaPrivateKey::new(&mut SysRng, 2048)
                    .map_err(|e| internal("generating an RSA key", e))?;
                let public = rsa_public_pem(&private)?;
                use rsa::pkcs1::EncodeRsaPrivateKey;
                let der = private
                    .to_pkcs1_der()
                    .map_err(|e| internal("encoding an RSA key", e))?;
                (Secret::new(der.as_bytes().to_vec()), public)
            }
        };
        let now = crate::clock::now();
        Ok(KeyVersion {
            creation_time: crate::clock::unix_now(),
            created: crate::clock::rfc3339(now),
            key,
            hmac_key: Secret::random(32),
            public_key,
        })
    }

    /// The RSA private key of this version.
    pub fn rsa(&self) -> Result<rsa::RsaPrivateKey, TransitError> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        rsa::RsaPrivateKey::from_pkcs1_der(self.key.bytes())
            .map_err(|e| internal("stored RSA key is unreadable", e))
    }

    /// The ECDSA P-256 secret key of this version.
    pub fn ecdsa(&self) -> Result<p256::SecretKey, TransitError> {
        p256::SecretKey::from_slice(self.key.bytes())
            .map_err(|e| internal("stored ECDSA key is unreadable", e))
    }
}

/// HKDF-SHA256 of `key` with `context` as the info: the per-context key of a derived key.
pub fn derive(key: &[u8], context: &[u8], len: usize) -> Result<Zeroizing<Vec<u8>>, TransitError> {
    let mut out = Zeroizing::new(vec![0u8; len]);
    Hkdf::<Sha256>::new(None, key)
        .expand(context, &mut out)
        .map_err(|e| internal("deriving a key", e))?;
    Ok(out)
}

/// The Ed25519 public key of a 32-byte seed.
pub fn ed25519_public(seed: &[u8]) -> Result<[u8; 32], TransitError> {
    Ok(ed25519_signing(seed)?.verifying_key().to_bytes())
}

/// The Ed25519 signing key of a 32-byte seed.
pub fn ed25519_signing(seed: &[u8]) -> Result<ed25519_dalek::SigningKey, TransitError> {
    let seed: &[u8; 32] = seed
        .try_into()
        .map_err(|_| TransitError::Internal("an Ed25519 seed is 32 bytes".into()))?;
    Ok(ed25519_dalek::SigningKey::from_bytes(seed))
}

fn ecdsa_public_pem(secret: &p256::SecretKey) -> Result<String, TransitError> {
    use p256::pkcs8::{EncodePublicKey, LineEnding};
    secret
        .public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| internal("encoding an ECDSA public key", e))
}

fn rsa_public_pem(private: &rsa::RsaPrivateKey) -> Result<String, TransitError> {
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| internal("encoding an RSA public key", e))
}

/// OID of the NIST P-256 curve (`prime256v1`).
const P256_OID: sec1::der::asn1::ObjectIdentifier =
    sec1::der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// An `EC PRIVATE KEY` PEM (SEC 1) that names its curve and carries its public key, as Go's
/// `x509.MarshalECPrivateKey` writes it (OpenSSL needs the curve to load the key).
fn ecdsa_private_pem(secret: &p256::SecretKey) -> Result<String, TransitError> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    use sec1::der::Encode;
    let scalar = Zeroizing::new(secret.to_bytes().to_vec());
    let public = secret.public_key().to_encoded_point(false);
    let key = sec1::EcPrivateKey {
        private_key: &scalar,
        parameters: Some(sec1::EcParameters::NamedCurve(P256_OID)),
        public_key: Some(public.as_bytes()),
    };
    let der = Zeroizing::new(
        key.to_der()
            .map_err(|e| internal("encoding an ECDSA key", e))?,
    );
    sec1::der::pem::encode_string("EC PRIVATE KEY", sec1::LineEnding::LF, &der)
        .map_err(|e| internal("encoding an ECDSA key", e))
}

/// What `export/<type>/...` may hand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportType {
    Encryption,
    Signing,
    Hmac,
    Public,
}

impl ExportType {
    /// From the path segment.
    pub fn parse(s: &str) -> Option<ExportType> {
        match s {
            "encryption-key" => Some(ExportType::Encryption),
            "signing-key" => Some(ExportType::Signing),
            "hmac-key" => Some(ExportType::Hmac),
            "public-key" => Some(ExportType::Public),
            _ => None,
        }
    }
}

/// One version's key in Vault's export format: symmetric keys, HMAC keys and Ed25519 private
/// keys (seed | public, as Go holds them) in base64; ECDSA as an `EC PRIVATE KEY` PEM, RSA as an
/// `RSA PRIVATE KEY` PEM; public keys as `read` shows them.
pub fn export(
    kind: KeyType,
    version: &KeyVersion,
    what: ExportType,
) -> Result<Zeroizing<String>, TransitError> {
    let out = match (what, kind) {
        (ExportType::Hmac, _) => STANDARD.encode(version.hmac_key.bytes()),
        (ExportType::Public, _) => version.public_key.clone(),
        (ExportType::Encryption, KeyType::Aes256Gcm96 | KeyType::ChaCha20Poly1305) => {
            STANDARD.encode(version.key.bytes())
        }
        (ExportType::Encryption | ExportType::Signing, KeyType::Rsa2048) => {
            use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
            let pem = version
                .rsa()?
                .to_pkcs1_pem(LineEnding::LF)
                .map_err(|e| internal("encoding an RSA key", e))?;
            pem.as_str().to_string()
        }
        (ExportType::Signing, KeyType::Ed25519) => {
            let mut full = Zeroizing::new(version.key.bytes().to_vec());
            full.extend_from_slice(&ed25519_public(version.key.bytes())?);
            STANDARD.encode(&*full)
        }
        (ExportType::Signing, KeyType::EcdsaP256) => ecdsa_private_pem(&version.ecdsa()?)?,
        (ExportType::Encryption, _) => {
            return Err(TransitError::user("encryption not supported for the key"))
        }
        (ExportType::Signing, _) => {
            return Err(TransitError::user("signing not supported for the key"))
        }
    };
    Ok(Zeroizing::new(out))
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

    #[test]
    fn each_type_generates_its_material() {
        let aes = KeyVersion::generate(KeyType::Aes256Gcm96).unwrap();
        assert_eq!(aes.key.bytes().len(), 32);
        assert!(aes.public_key.is_empty());
        assert_ne!(aes.key, aes.hmac_key);
        let ed = KeyVersion::generate(KeyType::Ed25519).unwrap();
        assert_eq!(STANDARD.decode(&ed.public_key).unwrap().len(), 32);
        let ec = KeyVersion::generate(KeyType::EcdsaP256).unwrap();
        assert!(ec.public_key.starts_with("-----BEGIN PUBLIC KEY-----"));
        assert!(ec.ecdsa().is_ok());
        let debug = format!("{ec:?}");
        assert!(!debug.contains(&STANDARD.encode(ec.key.bytes())));
    }

    #[test]
    fn exports_follow_vaults_formats() {
        let ed = KeyVersion::generate(KeyType::Ed25519).unwrap();
        let signing = export(KeyType::Ed25519, &ed, ExportType::Signing).unwrap();
        let raw = STANDARD.decode(signing.as_str()).unwrap();
        assert_eq!(raw.len(), 64);
        assert_eq!(&raw[..32], ed.key.bytes());
        assert_eq!(STANDARD.encode(&raw[32..]), ed.public_key);
        assert!(export(KeyType::Ed25519, &ed, ExportType::Encryption).is_err());
        let ec = KeyVersion::generate(KeyType::EcdsaP256).unwrap();
        let pem = export(KeyType::EcdsaP256, &ec, ExportType::Signing).unwrap();
        assert!(pem.starts_with("-----BEGIN EC PRIVATE KEY-----"));
        // It reads back as the same key, curve named.
        let back = p256::SecretKey::from_sec1_pem(&pem).unwrap();
        assert_eq!(back.to_bytes(), ec.ecdsa().unwrap().to_bytes());
        let (_, der) = sec1::der::pem::decode_vec(pem.as_bytes()).unwrap();
        let parsed = <sec1::EcPrivateKey as sec1::der::Decode>::from_der(&der).unwrap();
        assert_eq!(
            parsed.parameters.and_then(|p| p.named_curve()),
            Some(P256_OID)
        );
        let aes = KeyVersion::generate(KeyType::ChaCha20Poly1305).unwrap();
        let hmac = export(KeyType::ChaCha20Poly1305, &aes, ExportType::Hmac).unwrap();
        assert_eq!(
            STANDARD.decode(hmac.as_str()).unwrap(),
            aes.hmac_key.bytes()
        );
        assert!(export(KeyType::ChaCha20Poly1305, &aes, ExportType::Signing).is_err());
    }

    #[test]
    fn derivation_depends_on_context_and_is_stable() {
        let a = derive(b"k", b"ctx-a", 32).unwrap();
        assert_eq!(a, derive(b"k", b"ctx-a", 32).unwrap());
        assert_ne!(a, derive(b"k", b"ctx-b", 32).unwrap());
        // A longer output starts with the shorter one (convergent keys rely on it).
        assert_eq!(&derive(b"k", b"ctx-a", 64).unwrap()[..32], &a[..]);
    }
}
