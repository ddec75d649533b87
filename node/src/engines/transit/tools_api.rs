//! `random[/<source>][/<bytes>]` and `hash[/<algorithm>]`: Vault's transit utilities, which
//! touch no key.

use super::batch;
use super::keytype::HashAlgorithm;
use crate::engines::MountRequest;
use crate::error::ApiError;
use crate::request::Response;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

/// Vault's upper bound on one `random` call.
const MAX_RANDOM_BYTES: i64 = 128 * 1024;

fn encode(bytes: &[u8], format: &str) -> Result<String, ApiError> {
    match format {
        "" | "base64" => Ok(STANDARD.encode(bytes)),
        "hex" => Ok(hex::encode(bytes)),
        other => Err(ApiError::bad(format!(
            "unsupported encoding format {other}"
        ))),
    }
}

/// `random[/<source>][/<bytes>]`: random bytes from the node's one randomness source.
pub fn random(m: &MountRequest<'_>, rest: &str) -> Result<Option<Response>, ApiError> {
    let data = &m.req.data;
    let mut count = batch::int(data, "bytes").map_err(ApiError::BadRequest)?;
    let mut format = batch::string(data, "format")
        .map_err(ApiError::BadRequest)?
        .unwrap_or_default();
    for segment in rest.split('/').filter(|s| !s.is_empty()) {
        match segment {
            "platform" | "seal" | "all" => {}
            "hex" | "base64" => format = segment.to_string(),
            n => {
                count = n
                    .parse()
                    .map_err(|_| ApiError::bad(format!("error parsing url-set byte count: {n}")))?
            }
        }
    }
    let count = if count == 0 { 32 } else { count };
    if count < 1 {
        return Err(ApiError::bad("bytes must be positive"));
    }
    if count > MAX_RANDOM_BYTES {
        return Err(ApiError::bad(format!(
            "bytes cannot be more than {MAX_RANDOM_BYTES}"
        )));
    }
    let bytes = crate::ids::random_bytes(count as usize);
    Ok(Some(Response::data(
        json!({ "random_bytes": encode(&bytes, &format)? }),
    )))
}

/// `hash[/<algorithm>]`: the digest of `input`, hex (default) or base64.
pub fn hash(m: &MountRequest<'_>, rest: &str) -> Result<Option<Response>, ApiError> {
    let data = &m.req.data;
    let name = if rest.is_empty() {
        batch::string(data, "algorithm")
            .map_err(ApiError::BadRequest)?
            .unwrap_or_default()
    } else {
        rest.to_string()
    };
    let algorithm = HashAlgorithm::parse(&name)
        .filter(|h| *h != HashAlgorithm::None)
        .ok_or_else(|| ApiError::bad(format!("unsupported algorithm {name}")))?;
    let input = batch::bytes(data, "input")
        .map_err(|e| {
            ApiError::bad(e.replace(
                "failed to base64-decode input",
                "unable to decode input as base64",
            ))
        })?
        .unwrap_or_default();
    let format = batch::string(data, "format")
        .map_err(ApiError::BadRequest)?
        .unwrap_or_else(|| "hex".into());
    let sum = algorithm.digest(&input);
    let sum = match format.as_str() {
        "hex" => hex::encode(sum),
        "base64" => STANDARD.encode(sum),
        other => {
            return Err(ApiError::bad(format!(
                "unsupported encoding format {other}"
            )))
        }
    };
    Ok(Some(Response::data(Value::Object(
        [("sum".to_string(), json!(sum))].into_iter().collect(),
    ))))
}
