//! `hmac/<name>[/<algorithm>]`, `sign/<name>[/<hash_algorithm>]` and
//! `verify/<name>[/<hash_algorithm>]` (signatures or HMACs), each with `batch_input`.

use super::batch::{self, Item};
use super::ciphertext::{self, Kind};
use super::error::TransitError;
use super::key::{Purpose, TransitKey};
use super::keytype::{HashAlgorithm, KeyType};
use super::signing::{self, Marshaling, RsaScheme, SaltLength, SignOptions};
use super::{auto_rotate, Transit};
use crate::engines::MountRequest;
use crate::error::ApiError;
use crate::request::Response;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Map, Value};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

type Fields = Map<String, Value>;

fn user(msg: impl Into<String>) -> TransitError {
    TransitError::User(msg.into())
}

/// The algorithm from the URL, else from the first of `fields` that is set.
fn algorithm_name(m: &MountRequest<'_>, url: &str, fields: &[&str]) -> String {
    if !url.is_empty() {
        return url.to_string();
    }
    fields
        .iter()
        .find_map(|f| {
            m.req
                .data
                .get(*f)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_default()
        .to_string()
}

/// One item's decoded `input`; a missing input is empty, as in Vault.
fn input(item: &Item) -> Result<Zeroizing<Vec<u8>>, TransitError> {
    batch::bytes(item, "input")
        .map_err(|e| {
            user(e.replace(
                "failed to base64-decode input",
                "unable to decode input as base64",
            ))
        })
        .map(Option::unwrap_or_default)
}

fn hmac_algorithm(name: &str) -> Result<HashAlgorithm, ApiError> {
    HashAlgorithm::parse(name)
        .filter(|h| *h != HashAlgorithm::None)
        .ok_or_else(|| ApiError::bad(format!("unsupported algorithm {name:?}")))
}

/// `hmac/<name>[/<algorithm>]`
pub async fn hmac(
    engine: &Transit,
    m: &MountRequest<'_>,
    name: &str,
    url_algo: &str,
) -> Result<Option<Response>, ApiError> {
    let key = auto_rotate::existing(engine, m.storage, name).await?;
    let algorithm = hmac_algorithm(&algorithm_name(m, url_algo, &["algorithm"]))?;
    let requested = batch::int(&m.req.data, "key_version").map_err(ApiError::BadRequest)?;
    let version = key.version_for(requested, Purpose::Hmac)?;
    let material = key.version(version)?;
    let (items, batch) = batch::items(&m.req.data)?;
    if !batch && m.req.data.get("input").is_none_or(Value::is_null) {
        return Err(ApiError::bad("missing input for HMAC"));
    }
    let results = items
        .iter()
        .map(|item| {
            let data = input(item)?;
            let mac = algorithm
                .hmac(material.hmac_key.bytes(), &data)
                .ok_or_else(|| user("unsupported algorithm"))?;
            let mut out = Map::new();
            out.insert(
                "hmac".into(),
                json!(ciphertext::format_bytes(version, &mac)),
            );
            Ok(out)
        })
        .collect();
    batch::finish(&items, results, batch, false)
}

/// The signing options of a sign or verify request.
fn sign_options(
    m: &MountRequest<'_>,
    url_algo: &str,
    kind: KeyType,
) -> Result<(SignOptions, bool), ApiError> {
    let data = &m.req.data;
    let hash_name = algorithm_name(m, url_algo, &["hash_algorithm", "algorithm"]);
    let hash = HashAlgorithm::parse(&hash_name)
        .ok_or_else(|| ApiError::bad(format!("invalid hash algorithm {hash_name:?}")))?;
    let marshaling_name =
        batch::string(data, "marshaling_algorithm").map_err(ApiError::BadRequest)?;
    let marshaling =
        Marshaling::parse(marshaling_name.as_deref().unwrap_or_default()).ok_or_else(|| {
            ApiError::bad(format!(
                "invalid marshaling type {:?}",
                marshaling_name.unwrap_or_default()
            ))
        })?;
    let scheme_name = batch::string(data, "signature_algorithm").map_err(ApiError::BadRequest)?;
    let scheme = RsaScheme::parse(scheme_name.as_deref().unwrap_or_default()).ok_or_else(|| {
        ApiError::bad(format!(
            "unsupported rsa signature algorithm {}",
            scheme_name.unwrap_or_default()
        ))
    })?;
    let salt_name = match data.get("salt_length") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    let salt = SaltLength::parse(&salt_name)
        .ok_or_else(|| ApiError::bad(format!("invalid salt_length {salt_name:?}")))?;
    let prehashed = batch::boolean(data, "prehashed", false).map_err(ApiError::BadRequest)?;
    if hash == HashAlgorithm::None
        && kind != KeyType::Ed25519
        && !(prehashed && scheme == RsaScheme::Pkcs1v15 && kind.rsa_bits().is_some())
    {
        return Err(ApiError::bad(
            "hash_algorithm=none requires both prehashed=true and signature_algorithm=pkcs1v15",
        ));
    }
    let opts = SignOptions {
        hash,
        marshaling,
        scheme,
        salt,
    };
    Ok((opts, prehashed))
}

/// What is signed: the digest of the input for ECDSA/RSA (unless the client hashed it).
fn signed_input(kind: KeyType, opts: SignOptions, prehashed: bool, data: &[u8]) -> Vec<u8> {
    if kind.hashes_signature_input() && !prehashed {
        opts.hash.digest(data)
    } else {
        data.to_vec()
    }
}

fn encode_signature(marshaling: Marshaling, sig: &[u8]) -> String {
    match marshaling {
        Marshaling::Asn1 => STANDARD.encode(sig),
        Marshaling::Jws => URL_SAFE_NO_PAD.encode(sig),
    }
}

/// `sign/<name>[/<hash_algorithm>]`
pub async fn sign(
    engine: &Transit,
    m: &MountRequest<'_>,
    name: &str,
    url_algo: &str,
) -> Result<Option<Response>, ApiError> {
    let key = auto_rotate::existing(engine, m.storage, name).await?;
    if !key.kind.signing_supported() {
        return Err(ApiError::bad(format!(
            "key type {} does not support signing",
            key.kind.as_str()
        )));
    }
    let (opts, prehashed) = sign_options(m, url_algo, key.kind)?;
    let requested = batch::int(&m.req.data, "key_version").map_err(ApiError::BadRequest)?;
    let version = key.version_for(requested, Purpose::Signing)?;
    let material = key.version(version)?;
    let (items, batch) = batch::items(&m.req.data)?;
    let results = items
        .iter()
        .map(|item| {
            let data = signed_input(key.kind, opts, prehashed, &input(item)?);
            let context = batch::context(item).map_err(user)?;
            let (sig, public) = signing::sign(
                key.kind,
                material,
                key.derived,
                context.as_deref().map(|c| c.as_slice()),
                &data,
                opts,
            )?;
            let mut out = Map::new();
            let encoded = encode_signature(opts.marshaling, &sig);
            out.insert(
                "signature".into(),
                json!(ciphertext::format(version, &encoded)),
            );
            out.insert("key_version".into(), json!(version));
            if let Some(public) = public {
                out.insert("public_key".into(), json!(STANDARD.encode(public)));
            }
            Ok(out)
        })
        .collect();
    batch::finish(&items, results, batch, false)
}

/// `verify/<name>[/<hash_algorithm>]`: a `signature`, or an `hmac`, per item.
pub async fn verify(
    engine: &Transit,
    m: &MountRequest<'_>,
    name: &str,
    url_algo: &str,
) -> Result<Option<Response>, ApiError> {
    let (items, batch) = batch::items(&m.req.data)?;
    let has = |i: &Item, f: &str| i.get(f).is_some_and(|v| !v.is_null());
    let sigs = items.iter().filter(|i| has(i, "signature")).count();
    let hmacs = items
        .iter()
        .filter(|i| has(i, "hmac") && !has(i, "signature"))
        .count();
    let missing = items.len() - sigs - hmacs;
    let refuse = |m: &str| Err(ApiError::bad(m));
    match () {
        _ if !batch && items.iter().any(|i| has(i, "signature") && has(i, "hmac")) => {
            return refuse("provide one of 'signature' or 'hmac'")
        }
        _ if !batch && missing > 0 => {
            return refuse("neither a 'signature' nor an 'hmac' were given to verify")
        }
        _ if sigs > 0 && hmacs > 0 => {
            return refuse(
                "elements of batch_input must all provide 'signature' or all provide 'hmac'",
            )
        }
        _ if missing > 0 && sigs > 0 => {
            return refuse("some elements of batch_input are missing 'signature'")
        }
        _ if missing > 0 && hmacs > 0 => {
            return refuse("some elements of batch_input are missing 'hmac'")
        }
        _ if missing > 0 => return refuse("no batch_input elements have 'signature' or 'hmac'"),
        _ => {}
    }
    let key = auto_rotate::existing(engine, m.storage, name).await?;
    let results = if hmacs > 0 {
        let algorithm = hmac_algorithm(&algorithm_name(
            m,
            url_algo,
            &["hash_algorithm", "algorithm"],
        ))?;
        items
            .iter()
            .map(|item| verify_hmac(&key, algorithm, item))
            .collect()
    } else {
        if !key.kind.signing_supported() {
            return Err(ApiError::bad(format!(
                "key type {} does not support verification",
                key.kind.as_str()
            )));
        }
        let (opts, prehashed) = sign_options(m, url_algo, key.kind)?;
        items
            .iter()
            .map(|item| verify_signature(&key, opts, prehashed, item))
            .collect()
    };
    batch::finish(&items, results, batch, false)
}

fn valid(v: bool) -> Fields {
    let mut out = Map::new();
    out.insert("valid".into(), json!(v));
    out
}

fn verify_hmac(
    key: &TransitKey,
    algorithm: HashAlgorithm,
    item: &Item,
) -> Result<Fields, TransitError> {
    let data = input(item)?;
    let given = batch::string(item, "hmac")
        .map_err(user)?
        .ok_or_else(|| user("missing hmac"))?;
    let (version, body) = ciphertext::parse(&given, Kind::Hmac).map_err(|e| {
        user(e.to_string().replace(
            "invalid HMAC: no prefix",
            "invalid HMAC to verify: no prefix",
        ))
    })?;
    let expected_mac = STANDARD
        .decode(body)
        .map_err(|e| user(format!("unable to decode verification HMAC as base64: {e}")))?;
    key.check_readable(version, Kind::Hmac)?;
    let material = key.version(version)?;
    let mac = algorithm
        .hmac(material.hmac_key.bytes(), &data)
        .ok_or_else(|| user("unsupported algorithm"))?;
    Ok(valid(bool::from(mac.ct_eq(&expected_mac))))
}

fn verify_signature(
    key: &TransitKey,
    opts: SignOptions,
    prehashed: bool,
    item: &Item,
) -> Result<Fields, TransitError> {
    let data = signed_input(key.kind, opts, prehashed, &input(item)?);
    let given = batch::string(item, "signature")
        .map_err(user)?
        .ok_or_else(|| user("missing signature"))?;
    let (version, body) = ciphertext::parse(&given, Kind::Signature)?;
    key.check_readable(version, Kind::Signature)?;
    let sig = match opts.marshaling {
        Marshaling::Asn1 => STANDARD.decode(body),
        Marshaling::Jws => URL_SAFE_NO_PAD.decode(body),
    }
    .map_err(|_| user("invalid base64 signature value"))?;
    let material = key.version(version)?;
    let context = batch::context(item).map_err(user)?;
    let ok = signing::verify(
        key.kind,
        material,
        key.derived,
        context.as_deref().map(|c| c.as_slice()),
        &data,
        &sig,
        opts,
    )?;
    Ok(valid(ok))
}
