//! PKI key pairs: generation for Vault's `key_type`/`key_bits` (rsa 2048/3072/4096, ec 256/384,
//! ed25519), the PEM forms Vault returns (`RSA PRIVATE KEY`, `EC PRIVATE KEY`, ed25519 as
//! PKCS#8 `PRIVATE KEY`), and [`Signer`], rcgen's `SigningKey` over RustCrypto so that every
//! signature's randomness (RSA blinding) comes from `SysRng` (getrandom 0.3), never from ring's
//! OS source. ECDSA and Ed25519 signatures are deterministic.

use coffer_seal::rng::SysRng;
use rcgen::{PublicKeyData, SignatureAlgorithm, SigningKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::PkiError;

/// Vault's key types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Rsa,
    Ec,
    Ed25519,
}

impl KeyType {
    /// Vault's name.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Rsa => "rsa",
            KeyType::Ec => "ec",
            KeyType::Ed25519 => "ed25519",
        }
    }

    /// From Vault's name.
    pub fn parse(s: &str) -> Result<KeyType, PkiError> {
        match s {
            "rsa" => Ok(KeyType::Rsa),
            "ec" => Ok(KeyType::Ec),
            "ed25519" => Ok(KeyType::Ed25519),
            other => Err(PkiError::user(format!("unknown key type: {other}"))),
        }
    }
}

/// `key_type` with `key_bits` checked, 0 meaning the type's default (Vault's
/// `certutil.ValidateDefaultOrValueKeyType`). P-224 and P-521 are refused: rcgen's ring backend
/// has no signature algorithm for them.
pub fn checked_bits(kind: KeyType, bits: u32) -> Result<u32, PkiError> {
    match (kind, bits) {
        (KeyType::Rsa, 0) => Ok(2048),
        (KeyType::Rsa, 2048 | 3072 | 4096) => Ok(bits),
        (KeyType::Rsa, _) => Err(PkiError::user(format!(
            "unsupported bit length for RSA key: {bits}"
        ))),
        (KeyType::Ec, 0) => Ok(256),
        (KeyType::Ec, 256 | 384) => Ok(bits),
        (KeyType::Ec, _) => Err(PkiError::user(format!(
            "unsupported bit length for EC key: {bits}"
        ))),
        (KeyType::Ed25519, _) => Ok(0),
    }
}

fn internal(what: &str, e: impl std::fmt::Display) -> PkiError {
    PkiError::Internal(format!("{what}: {e}"))
}

/// A new private key, as the PEM Vault would return for it, generated on the blocking pool
/// ([`crate::off_worker`]): an RSA key takes hundreds of milliseconds of CPU.
pub async fn generate(kind: KeyType, bits: u32) -> Result<Zeroizing<String>, PkiError> {
    let generating = crate::off_worker::off_worker(move || generate_inline(kind, bits));
    generating
        .await
        .map_err(|e| internal("generating a key", e))?
}

/// [`generate`] on the calling thread.
pub(super) fn generate_inline(kind: KeyType, bits: u32) -> Result<Zeroizing<String>, PkiError> {
    match kind {
        KeyType::Rsa => {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            let key = rsa::RsaPrivateKey::new(&mut SysRng, bits as usize)
                .map_err(|e| internal("generating an RSA key", e))?;
            key.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
                .map_err(|e| internal("encoding an RSA key", e))
        }
        KeyType::Ec if bits == 384 => {
            use p384::elliptic_curve::sec1::ToEncodedPoint;
            let key = p384::SecretKey::random(&mut SysRng);
            let public = key.public_key().to_encoded_point(false);
            ec_private_pem(&key.to_bytes(), public.as_bytes(), "1.3.132.0.34")
        }
        KeyType::Ec => {
            use p256::elliptic_curve::sec1::ToEncodedPoint;
            let key = p256::SecretKey::random(&mut SysRng);
            let public = key.public_key().to_encoded_point(false);
            ec_private_pem(&key.to_bytes(), public.as_bytes(), "1.2.840.10045.3.1.7")
        }
        KeyType::Ed25519 => {
            // PKCS#8 v1 (no public key inside), as Go's `MarshalPKCS8PrivateKey` writes it.
            use ed25519_dalek::pkcs8::EncodePrivateKey;
            let mut seed = [0u8; 32];
            seed.copy_from_slice(&crate::ids::random_bytes(32));
            let pair = ed25519_dalek::pkcs8::KeypairBytes {
                secret_key: seed,
                public_key: None,
            };
            zeroize::Zeroize::zeroize(&mut seed);
            pair.to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
                .map_err(|e| internal("encoding an Ed25519 key", e))
        }
    }
}

/// An `EC PRIVATE KEY` PEM (SEC 1) naming its curve and carrying its public key, as Go's
/// `x509.MarshalECPrivateKey` writes it (OpenSSL and `cryptography` need the curve).
fn ec_private_pem(
    scalar: &[u8],
    public: &[u8],
    curve_oid: &str,
) -> Result<Zeroizing<String>, PkiError> {
    use sec1::der::Encode;
    let oid = sec1::der::asn1::ObjectIdentifier::new(curve_oid)
        .map_err(|e| internal("naming an EC curve", e))?;
    let key = sec1::EcPrivateKey {
        private_key: scalar,
        parameters: Some(sec1::EcParameters::NamedCurve(oid)),
        public_key: Some(public),
    };
    let der = Zeroizing::new(
        key.to_der()
            .map_err(|e| internal("encoding an EC key", e))?,
    );
    sec1::der::pem::encode_string("EC PRIVATE KEY", sec1::LineEnding::LF, &der)
        .map(Zeroizing::new)
        .map_err(|e| internal("encoding an EC key", e))
}

/// A private key able to sign certificates and CRLs for rcgen.
pub enum Signer {
    Rsa {
        key: Box<rsa::RsaPrivateKey>,
        public: Vec<u8>,
    },
    P256 {
        key: p256::ecdsa::SigningKey,
        public: Vec<u8>,
    },
    P384 {
        key: p384::ecdsa::SigningKey,
        public: Vec<u8>,
    },
    Ed25519 {
        key: ed25519_dalek::SigningKey,
        public: [u8; 32],
    },
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(<redacted>)")
    }
}

impl Signer {
    /// The signer of a stored key (`kind` says which PEM form it is in).
    pub fn from_pem(kind: KeyType, pem: &str) -> Result<Signer, PkiError> {
        let unreadable = |e: &dyn std::fmt::Display| internal("stored key is unreadable", e);
        match kind {
            KeyType::Rsa => {
                use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPublicKey};
                let key = rsa::RsaPrivateKey::from_pkcs1_pem(pem).map_err(|e| unreadable(&e))?;
                let public = key
                    .to_public_key()
                    .to_pkcs1_der()
                    .map_err(|e| unreadable(&e))?
                    .into_vec();
                Ok(Signer::Rsa {
                    key: Box::new(key),
                    public,
                })
            }
            KeyType::Ec => {
                use p256::elliptic_curve::sec1::ToEncodedPoint;
                if let Ok(secret) = p256::SecretKey::from_sec1_pem(pem) {
                    let public = secret
                        .public_key()
                        .to_encoded_point(false)
                        .as_bytes()
                        .to_vec();
                    return Ok(Signer::P256 {
                        key: secret.into(),
                        public,
                    });
                }
                let secret = p384::SecretKey::from_sec1_pem(pem).map_err(|e| unreadable(&e))?;
                let public = secret
                    .public_key()
                    .to_encoded_point(false)
                    .as_bytes()
                    .to_vec();
                Ok(Signer::P384 {
                    key: secret.into(),
                    public,
                })
            }
            KeyType::Ed25519 => {
                use ed25519_dalek::pkcs8::DecodePrivateKey;
                let key =
                    ed25519_dalek::SigningKey::from_pkcs8_pem(pem).map_err(|e| unreadable(&e))?;
                let public = key.verifying_key().to_bytes();
                Ok(Signer::Ed25519 { key, public })
            }
        }
    }
}

impl PublicKeyData for Signer {
    fn der_bytes(&self) -> &[u8] {
        match self {
            Signer::Rsa { public, .. } | Signer::P256 { public, .. } => public,
            Signer::P384 { public, .. } => public,
            Signer::Ed25519 { public, .. } => public,
        }
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        match self {
            Signer::Rsa { .. } => &rcgen::PKCS_RSA_SHA256,
            Signer::P256 { .. } => &rcgen::PKCS_ECDSA_P256_SHA256,
            Signer::P384 { .. } => &rcgen::PKCS_ECDSA_P384_SHA384,
            Signer::Ed25519 { .. } => &rcgen::PKCS_ED25519,
        }
    }
}

impl SigningKey for Signer {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        use p256::ecdsa::signature::Signer as _;
        match self {
            Signer::Rsa { key, .. } => key
                .sign_with_rng(
                    &mut SysRng,
                    rsa::Pkcs1v15Sign::new::<Sha256>(),
                    &Sha256::digest(msg),
                )
                .map_err(|_| rcgen::Error::RemoteKeyError),
            Signer::P256 { key, .. } => {
                let sig: p256::ecdsa::DerSignature = key.sign(msg);
                Ok(sig.as_bytes().to_vec())
            }
            Signer::P384 { key, .. } => {
                let sig: p384::ecdsa::DerSignature = key.sign(msg);
                Ok(sig.as_bytes().to_vec())
            }
            Signer::Ed25519 { key, .. } => Ok(key.sign(msg).to_bytes().to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_follow_vaults_defaults_and_limits() {
        assert_eq!(checked_bits(KeyType::Rsa, 0).unwrap(), 2048);
        assert_eq!(checked_bits(KeyType::Ec, 0).unwrap(), 256);
        assert_eq!(checked_bits(KeyType::Ed25519, 4096).unwrap(), 0);
        assert!(checked_bits(KeyType::Rsa, 1024).is_err());
        assert!(checked_bits(KeyType::Ec, 2048).is_err());
        assert!(KeyType::parse("dsa").is_err());
    }

    #[test]
    fn every_type_round_trips_through_its_pem_and_debug_hides_it() {
        for (kind, bits, label) in [
            (KeyType::Ec, 256, "EC PRIVATE KEY"),
            (KeyType::Ec, 384, "EC PRIVATE KEY"),
            (KeyType::Ed25519, 0, "PRIVATE KEY"),
        ] {
            let pem = generate_inline(kind, bits).unwrap();
            assert!(
                pem.starts_with(&format!("-----BEGIN {label}-----")),
                "{kind:?}"
            );
            let signer = Signer::from_pem(kind, &pem).unwrap();
            assert!(!signer.sign(b"m").unwrap().is_empty());
            assert_eq!(format!("{signer:?}"), "Signer(<redacted>)");
        }
    }
}
