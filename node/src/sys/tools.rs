//! `sys/tools/random[/<source>][/<bytes>]` and `sys/tools/hash[/<algorithm>]`: Vault's
//! stateless helpers. Their argument rules are plain functions (`random_args`, `digest`), the
//! handlers only read fields and encode.

use crate::error::ApiError;
use crate::request::{Operation, Request, Response};
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::Digest as _;

/// Vault's bound on one random request (`random.APIMaxBytes`).
pub const RANDOM_BYTES_MAX: i64 = 128 * 1024;
const RANDOM_BYTES_DEFAULT: i64 = 32;
const SOURCES: &[&str] = &["", "platform", "seal", "all"];

/// Where random bytes come from. Coffer has no entropy augmentation, so `seal` is the platform
/// source with Vault's warning, and `all` is the platform source alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Platform,
    Seal,
    All,
}

/// The output encoding of both tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Hex,
    Base64,
}

impl Format {
    fn parse(s: &str, what: Quote) -> Result<Format, ApiError> {
        match s {
            "hex" => Ok(Format::Hex),
            "base64" => Ok(Format::Base64),
            other => Err(ApiError::bad(match what {
                Quote::Go => {
                    format!("unsupported encoding format {other:?}; must be \"hex\" or \"base64\"")
                }
                Quote::Bare => {
                    format!("unsupported encoding format {other}; must be \"hex\" or \"base64\"")
                }
            })),
        }
    }

    fn encode(self, bytes: &[u8]) -> String {
        match self {
            Format::Hex => hex::encode(bytes),
            Format::Base64 => base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }
}

/// Vault's two messages differ only in quoting the format.
#[derive(Clone, Copy)]
enum Quote {
    Go,
    Bare,
}

/// Vault's reading of the random endpoint's arguments: the first URL segment is a source if it
/// names one, else a byte count; with two segments they are source and count. `bytes` is the
/// body's count (used when the URL gives none).
pub fn random_args(
    first: Option<&str>,
    second: Option<&str>,
    bytes: i64,
) -> Result<(Source, i64), ApiError> {
    let count = |s: &str| {
        s.parse::<i64>().map_err(|e| {
            ApiError::bad(format!(
                "error parsing url-set byte count: strconv.Atoi: parsing {s:?}: {e}"
            ))
        })
    };
    let (source, bytes) = match (first, second) {
        (None | Some(""), _) => ("platform", bytes),
        (Some(s), None) if SOURCES.contains(&s) => (s, bytes),
        (Some(s), None) => ("platform", count(s)?),
        (Some(s), Some(n)) => (s, count(n)?),
    };
    if bytes < 1 {
        return Err(ApiError::bad("\"bytes\" cannot be less than 1"));
    }
    if bytes > RANDOM_BYTES_MAX {
        return Err(ApiError::bad(format!(
            "\"bytes\" should be less than {RANDOM_BYTES_MAX}"
        )));
    }
    let source = match source {
        "" | "platform" => Source::Platform,
        "seal" => Source::Seal,
        "all" => Source::All,
        other => {
            return Err(ApiError::bad(format!(
                "unsupported entropy source {other:?}; must be \"platform\" or \"seal\", or \"all\""
            )))
        }
    };
    Ok((source, bytes))
}

/// The digest of `input` under Vault's algorithm name.
pub fn digest(algorithm: &str, input: &[u8]) -> Result<Vec<u8>, ApiError> {
    Ok(match algorithm {
        "sha2-224" => sha2::Sha224::digest(input).to_vec(),
        "sha2-256" => sha2::Sha256::digest(input).to_vec(),
        "sha2-384" => sha2::Sha384::digest(input).to_vec(),
        "sha2-512" => sha2::Sha512::digest(input).to_vec(),
        "sha3-224" => sha3::Sha3_224::digest(input).to_vec(),
        "sha3-256" => sha3::Sha3_256::digest(input).to_vec(),
        "sha3-384" => sha3::Sha3_384::digest(input).to_vec(),
        "sha3-512" => sha3::Sha3_512::digest(input).to_vec(),
        other => return Err(ApiError::bad(format!("unsupported hash algorithm {other}"))),
    })
}

fn text<'a>(req: &'a Request, key: &str) -> Option<&'a str> {
    req.data.get(key).and_then(Value::as_str)
}

/// Only writes, and only at the tool's own path or below it (`tools/randomx` is no route).
fn writes_only(req: &Request, rest: &str) -> Result<(), ApiError> {
    if !rest.is_empty() && !rest.starts_with('/') {
        return Err(ApiError::no_route(&req.path));
    }
    match req.operation {
        Operation::Create | Operation::Update => Ok(()),
        _ => Err(ApiError::UnsupportedOperation),
    }
}

/// `sys/tools/random...`; `rest` is what follows `tools/random`.
pub fn random(req: &Request, rest: &str) -> Result<Option<Response>, ApiError> {
    writes_only(req, rest)?;
    let mut segs = rest.trim_matches('/').split('/').filter(|s| !s.is_empty());
    let (url_first, url_second) = (segs.next(), segs.next());
    if segs.next().is_some() {
        return Err(ApiError::no_route(&req.path));
    }
    let first = url_first.or_else(|| text(req, "source"));
    let second = url_second.or_else(|| text(req, "urlbytes"));
    let bytes = match req.data.get("bytes") {
        None | Some(Value::Null) => RANDOM_BYTES_DEFAULT,
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| ApiError::bad("error converting input bytes: expected an integer"))?,
        Some(Value::String(s)) => s
            .parse()
            .map_err(|_| ApiError::bad("error converting input bytes: expected an integer"))?,
        Some(_) => {
            return Err(ApiError::bad(
                "error converting input bytes: expected an integer",
            ))
        }
    };
    let (source, bytes) = random_args(first, second, bytes)?;
    let format = Format::parse(text(req, "format").unwrap_or("base64"), Quote::Go)?;
    // `random_args` bounds the count to 1..=RANDOM_BYTES_MAX.
    let random = crate::ids::random_bytes(usize::try_from(bytes).unwrap_or(0));
    let mut resp = Response::data(json!({ "random_bytes": format.encode(&random) }));
    if source == Source::Seal {
        resp.warnings
            .push("no seal/entropy augmentation available, using platform entropy source".into());
    }
    Ok(Some(resp))
}

/// `sys/tools/hash[/<algorithm>]`; `rest` is what follows `tools/hash`.
pub fn hash(req: &Request, rest: &str) -> Result<Option<Response>, ApiError> {
    writes_only(req, rest)?;
    let url_algorithm = rest.trim_matches('/');
    if url_algorithm.contains('/') {
        return Err(ApiError::no_route(&req.path));
    }
    let algorithm = match url_algorithm {
        "" => text(req, "algorithm").unwrap_or("sha2-256"),
        a => a,
    };
    let format = Format::parse(text(req, "format").unwrap_or("hex"), Quote::Bare)?;
    let input = base64::engine::general_purpose::STANDARD
        .decode(text(req, "input").unwrap_or_default())
        .map_err(|e| ApiError::bad(format!("unable to decode input as base64: {e}")))?;
    let sum = digest(algorithm, &input)?;
    Ok(Some(Response::data(json!({ "sum": format.encode(&sum) }))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_segments_read_as_vault_reads_them() {
        assert_eq!(random_args(None, None, 32).unwrap(), (Source::Platform, 32));
        assert_eq!(
            random_args(Some("seal"), None, 8).unwrap(),
            (Source::Seal, 8)
        );
        assert_eq!(
            random_args(Some("64"), None, 8).unwrap(),
            (Source::Platform, 64)
        );
        assert_eq!(
            random_args(Some("all"), Some("16"), 8).unwrap(),
            (Source::All, 16)
        );
        assert!(random_args(Some("nope"), None, 8).is_err());
        assert!(random_args(Some("nope"), Some("8"), 8).is_err());
        assert!(random_args(None, None, 0).is_err());
        assert!(random_args(None, None, RANDOM_BYTES_MAX).is_ok());
        assert!(random_args(None, None, RANDOM_BYTES_MAX + 1).is_err());
    }

    #[test]
    fn digests_match_known_answers() {
        let abc = b"abc";
        assert_eq!(
            hex::encode(digest("sha2-256", abc).unwrap()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex::encode(digest("sha3-256", abc).unwrap()),
            "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
        );
        for (alg, len) in [
            ("sha2-224", 28),
            ("sha2-384", 48),
            ("sha2-512", 64),
            ("sha3-224", 28),
            ("sha3-384", 48),
            ("sha3-512", 64),
        ] {
            assert_eq!(digest(alg, abc).unwrap().len(), len, "{alg}");
        }
        assert!(digest("md5", abc).is_err());
    }
}
