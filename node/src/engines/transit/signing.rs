//! Signatures with one key version: Ed25519 over the input itself; ECDSA (`ecdsa.rs`) and RSA
//! of any size (PSS or PKCS#1 v1.5) over a digest the caller of these functions has already taken (or the
//! client, with `prehashed`). Marshaling (ASN.1 DER or JWS `r|s`) only concerns ECDSA bytes;
//! the base64 flavour that goes with it is the caller's.

use super::cipher::MISSING_CONTEXT;
pub use super::ecdsa::Marshaling;
use super::error::TransitError;
use super::keytype::{HashAlgorithm, KeyType};
use super::material::{derive, ed25519_signing, KeyVersion};
use coffer_seal::rng::SysRng;

/// RSA signature schemes (`signature_algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaScheme {
    Pss,
    Pkcs1v15,
}

impl RsaScheme {
    /// From `signature_algorithm` (empty: `pss`).
    pub fn parse(s: &str) -> Option<RsaScheme> {
        match s {
            "" | "pss" => Some(RsaScheme::Pss),
            "pkcs1v15" => Some(RsaScheme::Pkcs1v15),
            _ => None,
        }
    }
}

/// PSS salt length (`salt_length`): `auto` signs with the longest salt and verifies either
/// length; `hash` is the digest length; or a number of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaltLength {
    Auto,
    Hash,
    Bytes(usize),
}

impl SaltLength {
    /// From `salt_length` (empty: `auto`).
    pub fn parse(s: &str) -> Option<SaltLength> {
        match s {
            "" | "auto" => Some(SaltLength::Auto),
            "hash" | "-1" => Some(SaltLength::Hash),
            n => n.parse().ok().map(SaltLength::Bytes),
        }
    }
}

/// Everything that shapes a signature besides the key and the input.
#[derive(Debug, Clone, Copy)]
pub struct SignOptions {
    pub hash: HashAlgorithm,
    pub marshaling: Marshaling,
    pub scheme: RsaScheme,
    pub salt: SaltLength,
}

impl Default for SignOptions {
    fn default() -> Self {
        SignOptions {
            hash: HashAlgorithm::Sha2_256,
            marshaling: Marshaling::Asn1,
            scheme: RsaScheme::Pss,
            salt: SaltLength::Auto,
        }
    }
}

/// The Ed25519 key to use: the version's, or derived from `context` for derived keys.
fn ed25519_key(
    version: &KeyVersion,
    derived: bool,
    context: Option<&[u8]>,
) -> Result<ed25519_dalek::SigningKey, TransitError> {
    if !derived {
        return ed25519_signing(version.key.bytes());
    }
    let context = context
        .filter(|c| !c.is_empty())
        .ok_or_else(|| TransitError::user(MISSING_CONTEXT))?;
    ed25519_signing(&derive(version.key.bytes(), context, 32)?)
}

/// The longest PSS salt a key allows with this digest (Go's `PSSSaltLengthAuto`).
fn max_salt(modulus_bytes: usize, hash_len: usize) -> usize {
    modulus_bytes.saturating_sub(hash_len + 2)
}

fn pss_scheme(hash: HashAlgorithm, salt: usize) -> Result<rsa::Pss, TransitError> {
    use sha2::{Sha224, Sha256, Sha384, Sha512};
    Ok(match hash {
        HashAlgorithm::Sha2_224 => rsa::Pss::new_with_salt::<Sha224>(salt),
        HashAlgorithm::Sha2_256 => rsa::Pss::new_with_salt::<Sha256>(salt),
        HashAlgorithm::Sha2_384 => rsa::Pss::new_with_salt::<Sha384>(salt),
        HashAlgorithm::Sha2_512 => rsa::Pss::new_with_salt::<Sha512>(salt),
        HashAlgorithm::None => {
            return Err(TransitError::user(
                "hash_algorithm=none requires both prehashed=true and signature_algorithm=pkcs1v15",
            ))
        }
    })
}

fn pkcs1_scheme(hash: HashAlgorithm) -> rsa::Pkcs1v15Sign {
    use sha2::{Sha224, Sha256, Sha384, Sha512};
    match hash {
        HashAlgorithm::Sha2_224 => rsa::Pkcs1v15Sign::new::<Sha224>(),
        HashAlgorithm::Sha2_256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
        HashAlgorithm::Sha2_384 => rsa::Pkcs1v15Sign::new::<Sha384>(),
        HashAlgorithm::Sha2_512 => rsa::Pkcs1v15Sign::new::<Sha512>(),
        HashAlgorithm::None => rsa::Pkcs1v15Sign::new_unprefixed(),
    }
}

/// The PSS salt lengths to use for signing (first) and to accept when verifying.
fn salts(
    salt: SaltLength,
    modulus_bytes: usize,
    hash: HashAlgorithm,
) -> Result<Vec<usize>, TransitError> {
    let hash_len = hash.digest(b"").len();
    let max = max_salt(modulus_bytes, hash_len);
    match salt {
        SaltLength::Auto => Ok(vec![max, hash_len]),
        SaltLength::Hash => Ok(vec![hash_len]),
        SaltLength::Bytes(n) if n >= hash_len && n <= max => Ok(vec![n]),
        SaltLength::Bytes(n) => Err(TransitError::user(format!(
            "requested salt length {n} is invalid"
        ))),
    }
}

/// Sign `input` (a digest for ECDSA/RSA, the message for Ed25519). Returns the signature bytes
/// and, for derived Ed25519 keys, the derived public key.
pub fn sign(
    kind: KeyType,
    version: &KeyVersion,
    derived: bool,
    context: Option<&[u8]>,
    input: &[u8],
    opts: SignOptions,
) -> Result<(Vec<u8>, Option<Vec<u8>>), TransitError> {
    match kind {
        KeyType::Ed25519 => {
            use ed25519_dalek::Signer;
            let key = ed25519_key(version, derived, context)?;
            let public = derived.then(|| key.verifying_key().to_bytes().to_vec());
            Ok((key.sign(input).to_bytes().to_vec(), public))
        }
        k if k.curve().is_some() => {
            let curve = k
                .curve()
                .ok_or_else(|| TransitError::Internal("no curve".into()))?;
            let sig = super::ecdsa::sign(curve, version.key.bytes(), input, opts.marshaling)?;
            Ok((sig, None))
        }
        k if k.rsa_bits().is_some() => {
            let key = version.rsa()?;
            let sig = match opts.scheme {
                RsaScheme::Pkcs1v15 => {
                    key.sign_with_rng(&mut SysRng, pkcs1_scheme(opts.hash), input)
                }
                RsaScheme::Pss => {
                    let salt = salts(
                        opts.salt,
                        rsa::traits::PublicKeyParts::size(&key),
                        opts.hash,
                    )?[0];
                    key.sign_with_rng(&mut SysRng, pss_scheme(opts.hash, salt)?, input)
                }
            };
            sig.map(|s| (s, None))
                .map_err(|e| TransitError::user(format!("failed to sign: {e}")))
        }
        other => Err(TransitError::user(format!(
            "message signing not supported for key type {}",
            other.as_str()
        ))),
    }
}

/// Whether `signature` is a valid signature of `input` by this version. A signature that cannot
/// even be parsed is a 400, as in Vault; one that parses but does not verify is `Ok(false)`.
pub fn verify(
    kind: KeyType,
    version: &KeyVersion,
    derived: bool,
    context: Option<&[u8]>,
    input: &[u8],
    signature: &[u8],
    opts: SignOptions,
) -> Result<bool, TransitError> {
    match kind {
        KeyType::Ed25519 => {
            use ed25519_dalek::Verifier;
            let key = ed25519_key(version, derived, context)?;
            let Ok(sig) = ed25519_dalek::Signature::from_slice(signature) else {
                return Ok(false);
            };
            Ok(key.verifying_key().verify(input, &sig).is_ok())
        }
        k if k.curve().is_some() => {
            let curve = k
                .curve()
                .ok_or_else(|| TransitError::Internal("no curve".into()))?;
            super::ecdsa::verify(
                curve,
                version.key.bytes(),
                input,
                signature,
                opts.marshaling,
            )
        }
        k if k.rsa_bits().is_some() => {
            let public = version.rsa()?.to_public_key();
            match opts.scheme {
                RsaScheme::Pkcs1v15 => Ok(public
                    .verify(pkcs1_scheme(opts.hash), input, signature)
                    .is_ok()),
                RsaScheme::Pss => {
                    let size = rsa::traits::PublicKeyParts::size(&public);
                    for salt in salts(opts.salt, size, opts.hash)? {
                        if public
                            .verify(pss_scheme(opts.hash, salt)?, input, signature)
                            .is_ok()
                        {
                            return Ok(true);
                        }
                    }
                    Ok(false)
                }
            }
        }
        other => Err(TransitError::user(format!(
            "message verification not supported for key type {}",
            other.as_str()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kind: KeyType, opts: SignOptions) {
        let v = KeyVersion::generate(kind, 32).unwrap();
        let msg = b"the message";
        let input = if kind.hashes_signature_input() {
            opts.hash.digest(msg)
        } else {
            msg.to_vec()
        };
        let (sig, _) = sign(kind, &v, false, None, &input, opts).unwrap();
        assert!(verify(kind, &v, false, None, &input, &sig, opts).unwrap());
        let other_input = if kind.hashes_signature_input() {
            opts.hash.digest(b"the messagE")
        } else {
            b"the messagE".to_vec()
        };
        assert!(!verify(kind, &v, false, None, &other_input, &sig, opts).unwrap());
        let other_key = KeyVersion::generate(kind, 32).unwrap();
        assert!(!verify(kind, &other_key, false, None, &input, &sig, opts).unwrap());
    }

    #[test]
    fn ed25519_signs_and_verifies() {
        check(KeyType::Ed25519, SignOptions::default());
    }

    #[test]
    fn ecdsa_signs_in_both_marshalings() {
        check(KeyType::EcdsaP256, SignOptions::default());
        let jws = SignOptions {
            marshaling: Marshaling::Jws,
            ..Default::default()
        };
        check(KeyType::EcdsaP256, jws);
        let v = KeyVersion::generate(KeyType::EcdsaP256, 32).unwrap();
        let digest = HashAlgorithm::Sha2_256.digest(b"m");
        let (raw, _) = sign(KeyType::EcdsaP256, &v, false, None, &digest, jws).unwrap();
        assert_eq!(raw.len(), 64);
        assert_eq!(
            verify(
                KeyType::EcdsaP256,
                &v,
                false,
                None,
                &digest,
                b"junk",
                SignOptions::default()
            )
            .unwrap_err()
            .to_string(),
            "supplied signature is invalid"
        );
    }

    #[test]
    fn rsa_signs_with_pss_and_pkcs1v15() {
        check(KeyType::Rsa2048, SignOptions::default());
        let pkcs = SignOptions {
            scheme: RsaScheme::Pkcs1v15,
            hash: HashAlgorithm::Sha2_512,
            ..Default::default()
        };
        check(KeyType::Rsa2048, pkcs);
        let v = KeyVersion::generate(KeyType::Rsa2048, 32).unwrap();
        let digest = HashAlgorithm::Sha2_256.digest(b"m");
        // Signed with the hash-length salt, accepted by `auto` verification too.
        let hash_salt = SignOptions {
            salt: SaltLength::Hash,
            ..Default::default()
        };
        let (sig, _) = sign(KeyType::Rsa2048, &v, false, None, &digest, hash_salt).unwrap();
        assert!(verify(
            KeyType::Rsa2048,
            &v,
            false,
            None,
            &digest,
            &sig,
            SignOptions::default()
        )
        .unwrap());
        let bad_salt = SignOptions {
            salt: SaltLength::Bytes(1000),
            ..Default::default()
        };
        assert!(sign(KeyType::Rsa2048, &v, false, None, &digest, bad_salt).is_err());
    }

    #[test]
    fn larger_curves_and_moduli_sign_too() {
        check(KeyType::EcdsaP384, SignOptions::default());
        check(KeyType::EcdsaP521, SignOptions::default());
        check(KeyType::Rsa3072, SignOptions::default());
    }

    #[test]
    fn derived_ed25519_keys_depend_on_context() {
        let v = KeyVersion::generate(KeyType::Ed25519, 32).unwrap();
        let opts = SignOptions::default();
        let (sig, public) = sign(KeyType::Ed25519, &v, true, Some(b"a"), b"m", opts).unwrap();
        assert_eq!(public.unwrap().len(), 32);
        assert!(verify(KeyType::Ed25519, &v, true, Some(b"a"), b"m", &sig, opts).unwrap());
        assert!(!verify(KeyType::Ed25519, &v, true, Some(b"b"), b"m", &sig, opts).unwrap());
        assert!(sign(KeyType::Ed25519, &v, true, None, b"m", opts).is_err());
    }

    #[test]
    fn symmetric_keys_do_not_sign() {
        let v = KeyVersion::generate(KeyType::Aes256Gcm96, 32).unwrap();
        assert!(sign(
            KeyType::Aes256Gcm96,
            &v,
            false,
            None,
            b"m",
            SignOptions::default()
        )
        .is_err());
    }
}
