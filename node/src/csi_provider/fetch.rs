//! What one Mount does against Coffer: log in with the pod's service account token, fetch each
//! object, and turn it into a file and an object version.

use super::objects::{Encoding, Object};
use super::params::MountParams;
use crate::plugin_client::{ClientError, Endpoint, Login, Session};
use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Why a Mount failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("login to auth/{mount} as role {role:?}: {source}")]
    Login {
        mount: String,
        role: String,
        source: ClientError,
    },
    #[error("{object}: {source}")]
    Read { object: String, source: ClientError },
    #[error("{object}: no key {key:?} in the secret at {path}")]
    NoKey {
        object: String,
        key: String,
        path: String,
    },
    #[error("{object}: {path} holds no secret data")]
    NoData { object: String, path: String },
    #[error("{object}: the value is not valid {encoding}")]
    Decode {
        object: String,
        encoding: &'static str,
    },
    #[error("{0}")]
    Config(ClientError),
}

/// One file of the volume and the version the rotation reconciler compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub path: String,
    pub mode: u32,
    pub contents: Vec<u8>,
    pub version: String,
}

/// Log in and fetch every object. `default_mode` is the request's `permission`.
pub async fn fetch_all(
    endpoint: Endpoint,
    params: &MountParams,
    default_mode: u32,
) -> Result<Vec<Fetched>, FetchError> {
    let session = Session::new(
        endpoint,
        Login::KubernetesJwt {
            mount: params.auth_mount.clone(),
            role: params.role.clone(),
            jwt: params.jwt.clone(),
        },
    );
    session.token().await.map_err(|source| match source {
        ClientError::Config(_) => FetchError::Config(source),
        source => FetchError::Login {
            mount: params.auth_mount.clone(),
            role: params.role.clone(),
            source,
        },
    })?;
    let mut files = Vec::with_capacity(params.objects.len());
    for object in &params.objects {
        files.push(fetch_one(&session, object, default_mode).await?);
    }
    Ok(files)
}

async fn fetch_one(
    session: &Session,
    object: &Object,
    default_mode: u32,
) -> Result<Fetched, FetchError> {
    let (path, body) = if object.method == "GET" {
        (with_query(&object.path, &object.args), None)
    } else {
        (
            object.path.clone(),
            Some(Value::Object(object.args.clone())),
        )
    };
    let answer = session
        .call(&object.method, &path, body.as_ref())
        .await
        .map_err(|source| FetchError::Read {
            object: object.name.clone(),
            source,
        })?;
    let (value, kv_version) = select(&answer, object)?;
    let raw = match value {
        Value::String(s) => s.into_bytes(),
        other => serde_json::to_vec(&other).unwrap_or_default(),
    };
    let contents = decode(&raw, object.encoding).ok_or(FetchError::Decode {
        object: object.name.clone(),
        encoding: match object.encoding {
            Encoding::Base64 => "base64",
            Encoding::Hex => "hex",
            Encoding::Utf8 => "utf-8",
        },
    })?;
    let version = kv_version.unwrap_or_else(|| content_version(&contents));
    Ok(Fetched {
        path: object.name.clone(),
        mode: object.mode.unwrap_or(default_mode),
        contents,
        version,
    })
}

/// The value an object names in a read answer, and the KV v2 version when it is one: KV v2's
/// `data.data` (with `data.metadata.version`), else `data`; `secretKey` picks one field.
pub fn select(answer: &Value, object: &Object) -> Result<(Value, Option<String>), FetchError> {
    let data = answer
        .get("data")
        .and_then(Value::as_object)
        .ok_or_else(|| FetchError::NoData {
            object: object.name.clone(),
            path: object.path.clone(),
        })?;
    let kv2 = match (data.get("data"), data.get("metadata")) {
        (Some(Value::Object(inner)), Some(Value::Object(meta))) => Some((inner, meta)),
        _ => None,
    };
    let (fields, version): (&Map<String, Value>, Option<String>) = match kv2 {
        Some((inner, meta)) => (inner, meta.get("version").map(version_text)),
        None => (data, None),
    };
    let value = match &object.key {
        Some(key) => fields.get(key).cloned().ok_or_else(|| FetchError::NoKey {
            object: object.name.clone(),
            key: key.clone(),
            path: object.path.clone(),
        })?,
        None => Value::Object(fields.clone()),
    };
    Ok((value, version))
}

fn version_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The version of content without one of its own: a digest of the bytes.
pub fn content_version(contents: &[u8]) -> String {
    hex::encode(&Sha256::digest(contents)[..16])
}

fn decode(raw: &[u8], encoding: Encoding) -> Option<Vec<u8>> {
    match encoding {
        Encoding::Utf8 => Some(raw.to_vec()),
        Encoding::Base64 => {
            let text = std::str::from_utf8(raw).ok()?.trim();
            base64::engine::general_purpose::STANDARD.decode(text).ok()
        }
        Encoding::Hex => hex::decode(std::str::from_utf8(raw).ok()?.trim()).ok(),
    }
}

/// `path?k=v&...` for a read with arguments (values percent-encoded).
fn with_query(path: &str, args: &Map<String, Value>) -> String {
    if args.is_empty() {
        return path.to_string();
    }
    let pairs: Vec<String> = args
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("{}={}", percent(k), percent(&v))
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(key: Option<&str>) -> Object {
        Object {
            name: "f".into(),
            path: "secret/data/db".into(),
            key: key.map(str::to_string),
            method: "GET".into(),
            args: Map::new(),
            mode: None,
            encoding: Encoding::Utf8,
        }
    }

    #[test]
    fn kv2_answers_give_their_field_and_version() {
        let answer = json!({"data": {"data": {"password": "s3cret"},
            "metadata": {"version": 4}}});
        let (v, version) = select(&answer, &object(Some("password"))).unwrap();
        assert_eq!(v, json!("s3cret"));
        assert_eq!(version.as_deref(), Some("4"));
        let (v, _) = select(&answer, &object(None)).unwrap();
        assert_eq!(v, json!({"password": "s3cret"}));
        assert!(matches!(
            select(&answer, &object(Some("nope"))),
            Err(FetchError::NoKey { .. })
        ));
    }

    #[test]
    fn other_answers_are_read_from_data_and_versioned_by_content() {
        let answer = json!({"data": {"certificate": "PEM"}});
        let (v, version) = select(&answer, &object(Some("certificate"))).unwrap();
        assert_eq!((v, version), (json!("PEM"), None));
        assert_ne!(content_version(b"a"), content_version(b"b"));
        assert!(matches!(
            select(&json!({}), &object(None)),
            Err(FetchError::NoData { .. })
        ));
    }

    #[test]
    fn encodings_decode_the_value() {
        assert_eq!(decode(b"aGk=", Encoding::Base64).unwrap(), b"hi");
        assert_eq!(decode(b"6869", Encoding::Hex).unwrap(), b"hi");
        assert!(decode(b"zz", Encoding::Hex).is_none());
    }

    #[test]
    fn read_arguments_become_a_query() {
        let mut args = Map::new();
        args.insert("common_name".into(), json!("a b"));
        assert_eq!(with_query("p", &args), "p?common_name=a%20b");
    }
}
