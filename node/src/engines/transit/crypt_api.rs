//! `encrypt/<name>` (creating the key on first use, as Vault's upsert does), `decrypt/<name>`,
//! `rewrap/<name>` (each with `batch_input`) and `datakey/{plaintext,wrapped}/<name>`.

use super::batch::{self, Item};
use super::cipher::{self, Derivation};
use super::ciphertext::{self, Kind};
use super::error::TransitError;
use super::key::{Purpose, TransitKey};
use super::{auto_rotate, options, store, Transit};
use crate::engines::MountRequest;
use crate::error::ApiError;
use crate::request::{Operation, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

type Fields = Map<String, Value>;

fn user(msg: impl Into<String>) -> TransitError {
    TransitError::User(msg.into())
}

/// The plaintext of an item: absent is an error, an empty string an empty plaintext.
fn plaintext(item: &Item) -> Result<Zeroizing<Vec<u8>>, TransitError> {
    match item.get("plaintext") {
        None | Some(Value::Null) => Err(user("missing plaintext to encrypt")),
        Some(Value::String(s)) => STANDARD
            .decode(s.as_bytes())
            .map(Zeroizing::new)
            .map_err(|e| user(format!("failed to base64-decode plaintext: {e}"))),
        Some(_) => Err(user("plaintext: expected a base64 string")),
    }
}

fn derivation<'a>(key: &TransitKey, context: Option<&'a [u8]>) -> Derivation<'a> {
    Derivation {
        derived: key.derived,
        convergent: key.convergent_encryption,
        context,
    }
}

/// Encrypt `plaintext` for one item's `context` and `key_version`.
fn seal(key: &TransitKey, item: &Item, plaintext: &[u8]) -> Result<Fields, TransitError> {
    if batch::string(item, "nonce").map_err(user)?.is_some() {
        return Err(user("provided nonce not allowed for this key"));
    }
    let requested = batch::int(item, "key_version").map_err(user)?;
    let version = key.version_for(requested, Purpose::Encryption)?;
    let material = key.version(version)?;
    let context = batch::context(item).map_err(user)?;
    let how = derivation(key, context.as_deref().map(|c| c.as_slice()));
    let sealed = cipher::encrypt(key.kind, material, how, plaintext)?;
    let mut out = Map::new();
    out.insert(
        "ciphertext".into(),
        json!(ciphertext::format_bytes(version, &sealed)),
    );
    out.insert("key_version".into(), json!(version));
    Ok(out)
}

/// Decrypt one item's `ciphertext` (with its `context`).
fn open(key: &TransitKey, item: &Item, missing: &str) -> Result<Zeroizing<Vec<u8>>, TransitError> {
    if !key.kind.encryption_supported() {
        return Err(user(format!(
            "message decryption not supported for key type {}",
            key.kind.as_str()
        )));
    }
    let value = batch::string(item, "ciphertext")
        .map_err(user)?
        .ok_or_else(|| user(missing))?;
    let (version, body) = ciphertext::parse(&value, Kind::Ciphertext)?;
    key.check_readable(version, Kind::Ciphertext)?;
    let sealed = STANDARD
        .decode(body)
        .map_err(|_| user("invalid ciphertext: could not decode base64"))?;
    let material = key.version(version)?;
    let context = batch::context(item).map_err(user)?;
    let how = derivation(key, context.as_deref().map(|c| c.as_slice()));
    cipher::decrypt(key.kind, material, how, &sealed)
}

/// Vault's upsert: a missing key is created by the first encrypt (the ACL then checked
/// `create`). A context on the items makes it a derived key.
async fn upsert(
    engine: &Transit,
    m: &MountRequest<'_>,
    name: &str,
    items: &[Item],
) -> Result<TransitKey, ApiError> {
    let with_context = |i: &Item| {
        i.get("context")
            .is_some_and(|c| c.as_str().is_some_and(|s| !s.is_empty()))
    };
    let derived = items.first().is_some_and(with_context);
    if items.iter().any(|i| with_context(i) != derived) {
        return Err(ApiError::bad(
            "context should be set either in all the request blocks or in none",
        ));
    }
    let (kind, mut opts) = options::create_options(&m.req.data)?;
    opts.derived = derived;
    opts.exportable = false;
    opts.allow_plaintext_backup = false;
    let _guard = engine.writes.lock().await;
    if let Some(key) = store::load(m.storage, name).await? {
        return Ok(key);
    }
    let key = TransitKey::create(name, kind, opts).await?;
    store::save(m.storage, &key).await?;
    Ok(key)
}

/// `encrypt/<name>`
pub async fn encrypt(
    engine: &Transit,
    m: &MountRequest<'_>,
    name: &str,
) -> Result<Option<Response>, ApiError> {
    let (items, batch) = batch::items(&m.req.data)?;
    if !batch && m.req.data.get("plaintext").is_none_or(Value::is_null) {
        return Err(ApiError::bad("missing plaintext to encrypt"));
    }
    let key = match auto_rotate::load(engine, m.storage, name).await? {
        Some(key) => key,
        None if m.req.operation == Operation::Create => upsert(engine, m, name, &items).await?,
        None => return Err(ApiError::bad("encryption key not found")),
    };
    let results = items
        .iter()
        .map(|item| seal(&key, item, &plaintext(item)?))
        .collect();
    batch::finish(&items, results, batch, true)
}

/// `decrypt/<name>`
pub async fn decrypt(
    engine: &Transit,
    m: &MountRequest<'_>,
    name: &str,
) -> Result<Option<Response>, ApiError> {
    let (items, batch) = batch::items(&m.req.data)?;
    let key = auto_rotate::existing(engine, m.storage, name).await?;
    let results = items
        .iter()
        .map(|item| {
            let plain = open(&key, item, "missing ciphertext to decrypt")?;
            let mut out = Map::new();
            out.insert("plaintext".into(), json!(STANDARD.encode(&*plain)));
            Ok(out)
        })
        .collect();
    batch::finish(&items, results, batch, true)
}

/// `rewrap/<name>`: decrypt, then encrypt with the latest (or the requested) version.
pub async fn rewrap(
    engine: &Transit,
    m: &MountRequest<'_>,
    name: &str,
) -> Result<Option<Response>, ApiError> {
    let (items, batch) = batch::items(&m.req.data)?;
    let key = auto_rotate::existing(engine, m.storage, name).await?;
    let results = items
        .iter()
        .map(|item| {
            let plain = open(&key, item, "missing ciphertext to rewrap")?;
            seal(&key, item, &plain)
        })
        .collect();
    batch::finish(&items, results, batch, true)
}

/// `datakey/plaintext/<name>` and `datakey/wrapped/<name>`: a fresh random key of `bits`,
/// encrypted with the named key (and, for `plaintext`, also returned in the clear).
pub async fn datakey(
    engine: &Transit,
    m: &MountRequest<'_>,
    kind: &str,
    name: &str,
) -> Result<Option<Response>, ApiError> {
    let with_plaintext = match kind {
        "plaintext" => true,
        "wrapped" => false,
        _ => {
            return Err(ApiError::bad(
                "Invalid path; must be 'plaintext' or 'wrapped'",
            ))
        }
    };
    let bits = batch::int(&m.req.data, "bits").map_err(ApiError::BadRequest)?;
    let bytes = match bits {
        0 | 256 => 32,
        128 => 16,
        512 => 64,
        _ => return Err(ApiError::bad("invalid bits length")),
    };
    let key = auto_rotate::existing(engine, m.storage, name).await?;
    let new_key = Zeroizing::new(crate::ids::random_bytes(bytes));
    let mut out = seal(&key, &m.req.data, &new_key)?;
    if with_plaintext {
        out.insert("plaintext".into(), json!(STANDARD.encode(&*new_key)));
    }
    Ok(Some(Response::data(Value::Object(out))))
}
