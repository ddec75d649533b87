//! ECDSA over the NIST curves P-256, P-384 and P-521: key generation, the PEM forms Vault shows
//! and exports, PKCS#8 import, and signatures over a digest the caller has taken. A version's
//! secret is the big-endian secret scalar (32, 48 or 66 bytes).

use super::error::TransitError;
use super::keytype::Curve;
use super::secret::Secret;
use coffer_seal::rng::SysRng;
use p256::ecdsa::signature::hazmat::{PrehashVerifier, RandomizedPrehashSigner};
use zeroize::Zeroizing;

/// `asn1` (DER, standard base64) or `jws` (fixed-size `r|s`, URL-safe base64 without padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marshaling {
    Asn1,
    Jws,
}

impl Marshaling {
    /// From `marshaling_algorithm` (empty: `asn1`).
    pub fn parse(s: &str) -> Option<Marshaling> {
        match s {
            "" | "asn1" => Some(Marshaling::Asn1),
            "jws" => Some(Marshaling::Jws),
            _ => None,
        }
    }
}

/// Run `$body` with `$c` naming the RustCrypto crate of `$curve`.
macro_rules! per_curve {
    ($curve:expr, $c:ident => $body:expr) => {
        match $curve {
            Curve::P256 => {
                use p256 as $c;
                $body
            }
            Curve::P384 => {
                use p384 as $c;
                $body
            }
            Curve::P521 => {
                use p521 as $c;
                $body
            }
        }
    };
}

fn internal(what: &str, e: impl std::fmt::Display) -> TransitError {
    TransitError::Internal(format!("{what}: {e}"))
}

fn unreadable(e: impl std::fmt::Display) -> TransitError {
    internal("stored ECDSA key is unreadable", e)
}

impl Curve {
    /// The curve's OID, as SEC 1 private keys name it.
    fn oid(self) -> sec1::der::asn1::ObjectIdentifier {
        use sec1::der::asn1::ObjectIdentifier as Oid;
        match self {
            Curve::P256 => Oid::new_unwrap("1.2.840.10045.3.1.7"),
            Curve::P384 => Oid::new_unwrap("1.3.132.0.34"),
            Curve::P521 => Oid::new_unwrap("1.3.132.0.35"),
        }
    }

    /// Bytes of a field element (and of the secret scalar).
    fn field_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }
}

/// A fresh secret scalar.
pub fn generate(curve: Curve) -> Secret {
    Secret::new(per_curve!(curve, c => c::SecretKey::random(&mut SysRng).to_bytes().to_vec()))
}

/// The public key of a secret scalar, as a `PUBLIC KEY` PEM.
pub fn public_pem(curve: Curve, scalar: &[u8]) -> Result<String, TransitError> {
    per_curve!(curve, c => {
        use c::pkcs8::{EncodePublicKey, LineEnding};
        c::SecretKey::from_slice(scalar)
            .map_err(unreadable)?
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| internal("encoding an ECDSA public key", e))
    })
}

/// An `EC PRIVATE KEY` PEM (SEC 1) that names its curve and carries its public key, as Go's
/// `x509.MarshalECPrivateKey` writes it (OpenSSL needs the curve to load the key).
pub fn private_pem(curve: Curve, scalar: &[u8]) -> Result<Zeroizing<String>, TransitError> {
    use sec1::der::Encode;
    let public = per_curve!(curve, c => {
        use c::elliptic_curve::sec1::ToEncodedPoint;
        c::SecretKey::from_slice(scalar)
            .map_err(unreadable)?
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec()
    });
    let key = sec1::EcPrivateKey {
        private_key: scalar,
        parameters: Some(sec1::EcParameters::NamedCurve(curve.oid())),
        public_key: Some(&public),
    };
    let der = Zeroizing::new(
        key.to_der()
            .map_err(|e| internal("encoding an ECDSA key", e))?,
    );
    sec1::der::pem::encode_string("EC PRIVATE KEY", sec1::LineEnding::LF, &der)
        .map(Zeroizing::new)
        .map_err(|e| internal("encoding an ECDSA key", e))
}

/// The secret scalar of a PKCS#8 DER private key on `curve` (the import format).
pub fn from_pkcs8(curve: Curve, der: &[u8]) -> Result<Secret, TransitError> {
    per_curve!(curve, c => {
        use c::pkcs8::DecodePrivateKey;
        c::SecretKey::from_pkcs8_der(der)
            .map(|k| Secret::new(k.to_bytes().to_vec()))
            .map_err(|e| TransitError::user(format!("error parsing ECDSA private key: {e}")))
    })
}

/// A digest shorter than half the field (SHA-256 on P-521) is its own value left-padded with
/// zeros: RustCrypto refuses such short prehashes, Go and the standard take them as integers.
fn prehash(curve: Curve, digest: &[u8]) -> Vec<u8> {
    let min = curve.field_len().div_ceil(2);
    let mut out = vec![0u8; min.saturating_sub(digest.len())];
    out.extend_from_slice(digest);
    out
}

/// Sign `digest` with the secret scalar: DER (`asn1`) or fixed-size `r|s` (`jws`). The nonce
/// takes randomness from `SysRng` (P-521's crate has no deterministic signer; the others mix it
/// into RFC 6979), never from the OS directly.
pub fn sign(
    curve: Curve,
    scalar: &[u8],
    digest: &[u8],
    marshaling: Marshaling,
) -> Result<Vec<u8>, TransitError> {
    let digest = prehash(curve, digest);
    per_curve!(curve, c => {
        let key = c::ecdsa::SigningKey::from_slice(scalar).map_err(unreadable)?;
        let sig: c::ecdsa::Signature = key
            .sign_prehash_with_rng(&mut SysRng, &digest)
            .map_err(|e| TransitError::user(format!("failed to sign: {e}")))?;
        Ok(match marshaling {
            Marshaling::Asn1 => sig.to_der().as_bytes().to_vec(),
            Marshaling::Jws => sig.to_bytes().to_vec(),
        })
    })
}

/// Whether `signature` signs `digest` under the public half of the secret scalar. A DER
/// signature that does not parse is a 400, as in Vault; a JWS one is simply invalid.
pub fn verify(
    curve: Curve,
    scalar: &[u8],
    digest: &[u8],
    signature: &[u8],
    marshaling: Marshaling,
) -> Result<bool, TransitError> {
    let digest = prehash(curve, digest);
    per_curve!(curve, c => {
        let key = c::ecdsa::SigningKey::from_slice(scalar).map_err(unreadable)?;
        let public = c::ecdsa::VerifyingKey::from(&key);
        let sig = match marshaling {
            Marshaling::Asn1 => c::ecdsa::Signature::from_der(signature)
                .map_err(|_| TransitError::user("supplied signature is invalid"))?,
            Marshaling::Jws => match c::ecdsa::Signature::from_slice(signature) {
                Ok(s) => s,
                Err(_) => return Ok(false),
            },
        };
        Ok(public.verify_prehash(&digest, &sig).is_ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256, Sha512};

    #[test]
    fn every_curve_signs_and_verifies_with_every_digest_length() {
        for curve in [Curve::P256, Curve::P384, Curve::P521] {
            let secret = generate(curve);
            let public = public_pem(curve, secret.bytes()).unwrap();
            assert_eq!(secret.bytes().len(), curve.field_len());
            assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
            for digest in [Sha256::digest(b"m").to_vec(), Sha512::digest(b"m").to_vec()] {
                for marshaling in [Marshaling::Asn1, Marshaling::Jws] {
                    let sig = sign(curve, secret.bytes(), &digest, marshaling).unwrap();
                    assert!(verify(curve, secret.bytes(), &digest, &sig, marshaling).unwrap());
                    let other = Sha256::digest(b"n");
                    assert!(!verify(curve, secret.bytes(), &other, &sig, marshaling).unwrap());
                }
            }
        }
    }

    #[test]
    fn private_pems_name_their_curve_and_pkcs8_imports() {
        use p384::pkcs8::EncodePrivateKey;
        let secret = generate(Curve::P384);
        let pem = private_pem(Curve::P384, secret.bytes()).unwrap();
        let back = p384::SecretKey::from_sec1_pem(&pem).unwrap();
        assert_eq!(back.to_bytes().as_slice(), secret.bytes());
        let der = back.to_pkcs8_der().unwrap();
        let imported = from_pkcs8(Curve::P384, der.as_bytes()).unwrap();
        assert_eq!(imported, secret);
        assert!(from_pkcs8(Curve::P256, der.as_bytes()).is_err());
    }
}
