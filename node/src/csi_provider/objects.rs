//! The `objects` parameter of a SecretProviderClass, as vault-csi-provider reads it: a YAML list
//! of `{objectName, secretPath, secretKey, secretArgs, method, filePermission, encoding}`.
//! Plain data in, a list or a reason out; nothing here touches the network.

use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// Why the objects cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectsError {
    #[error("objects: {0}")]
    Yaml(String),
    #[error("objects: no object given")]
    Empty,
    #[error("objects[{0}]: objectName is required")]
    NoName(usize),
    #[error("objects[{0}]: secretPath is required")]
    NoPath(usize),
    #[error("objects[{index}]: objectName {name:?} must be a relative path without '..'")]
    BadName { index: usize, name: String },
    #[error("objects: objectName {0:?} appears twice")]
    Duplicate(String),
    #[error("objects[{index}]: encoding {encoding:?} is not utf-8, base64 or hex")]
    Encoding { index: usize, encoding: String },
    #[error("objects[{index}]: filePermission {value:?} is not a file mode (0000-0777)")]
    Mode { index: usize, value: String },
    #[error("objects[{index}]: method {method:?} is not GET, POST or PUT")]
    Method { index: usize, method: String },
}

/// How a secret's value is written to the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// As it is.
    Utf8,
    /// The value is base64: the file holds the decoded bytes.
    Base64,
    /// The value is hex: the file holds the decoded bytes.
    Hex,
}

/// One object to fetch and write.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub name: String,
    pub path: String,
    pub key: Option<String>,
    pub method: String,
    pub args: Map<String, Value>,
    pub mode: Option<u32>,
    pub encoding: Encoding,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawObject {
    #[serde(default)]
    object_name: Option<String>,
    #[serde(default)]
    secret_path: Option<String>,
    #[serde(default)]
    secret_key: Option<String>,
    #[serde(default)]
    secret_args: Option<Map<String, Value>>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    file_permission: Option<Value>,
    #[serde(default)]
    encoding: Option<String>,
}

/// Parse the `objects` YAML (a list; vault-csi-provider also takes `{array: [...]}`-free lists
/// only, as here).
pub fn parse(yaml: &str) -> Result<Vec<Object>, ObjectsError> {
    let raw: Vec<RawObject> =
        serde_yaml_ng::from_str(yaml).map_err(|e| ObjectsError::Yaml(e.to_string()))?;
    if raw.is_empty() {
        return Err(ObjectsError::Empty);
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for (index, r) in raw.into_iter().enumerate() {
        let name = r
            .object_name
            .filter(|n| !n.is_empty())
            .ok_or(ObjectsError::NoName(index))?;
        if !relative_file_name(&name) {
            return Err(ObjectsError::BadName { index, name });
        }
        if !seen.insert(name.clone()) {
            return Err(ObjectsError::Duplicate(name));
        }
        let path = r
            .secret_path
            .map(|p| p.trim_matches('/').to_string())
            .filter(|p| !p.is_empty())
            .ok_or(ObjectsError::NoPath(index))?;
        let args = r.secret_args.unwrap_or_default();
        let method = match r.method.as_deref().map(str::to_ascii_uppercase) {
            Some(m) if m.is_empty() => default_method(&args),
            Some(m) if matches!(m.as_str(), "GET" | "POST" | "PUT") => m,
            Some(method) => return Err(ObjectsError::Method { index, method }),
            None => default_method(&args),
        };
        let encoding = match r
            .encoding
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("") | Some("utf-8") | Some("utf8") => Encoding::Utf8,
            Some("base64") => Encoding::Base64,
            Some("hex") => Encoding::Hex,
            Some(other) => {
                return Err(ObjectsError::Encoding {
                    index,
                    encoding: other.to_string(),
                })
            }
        };
        let mode = match r.file_permission {
            None | Some(Value::Null) => None,
            Some(v) => Some(file_mode(&v).ok_or_else(|| ObjectsError::Mode {
                index,
                value: v.to_string(),
            })?),
        };
        out.push(Object {
            name,
            path,
            key: r.secret_key.filter(|k| !k.is_empty()),
            method,
            args,
            mode,
            encoding,
        });
    }
    Ok(out)
}

/// Objects with arguments are written (dynamic secrets, `pki/issue/<role>`); others are read.
fn default_method(args: &Map<String, Value>) -> String {
    if args.is_empty() { "GET" } else { "POST" }.into()
}

/// A file name the driver accepts: relative, no `..` element, not starting with `..`.
pub fn relative_file_name(name: &str) -> bool {
    !name.starts_with('/')
        && !name.starts_with("..")
        && !name.contains('\0')
        && name.split('/').all(|part| !part.is_empty() && part != "..")
}

/// A file mode from YAML: a string is octal (`"0600"`, `"0o640"`); a number written with a
/// leading zero reaches us as its decimal digits (`0600` → 600), which are read back as octal
/// when they can only be octal (above 0o777 = 511 and all digits below 8); a number up to 511
/// is the mode itself (Go's `os.FileMode` as vault-csi-provider decodes `420`).
pub fn file_mode(v: &Value) -> Option<u32> {
    let mode = match v {
        Value::String(s) => {
            let digits = s.trim().trim_start_matches("0o").trim_start_matches("0O");
            u32::from_str_radix(digits, 8).ok()?
        }
        Value::Number(n) => {
            let n = u32::try_from(n.as_u64()?).ok()?;
            if n > 0o777 {
                u32::from_str_radix(&n.to_string(), 8).ok()?
            } else {
                n
            }
        }
        _ => return None,
    };
    (mode <= 0o777).then_some(mode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn vault_csi_provider_objects_parse() {
        let yaml = r#"
- objectName: "db-password"
  secretPath: "secret/data/db-pass"
  secretKey: "password"
- objectName: cert.pem
  secretPath: /pki/issue/web
  secretArgs:
    common_name: web.example.com
  filePermission: 0600
  encoding: base64
"#;
        let objects = parse(yaml).unwrap();
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[0].path, "secret/data/db-pass");
        assert_eq!(objects[0].key.as_deref(), Some("password"));
        assert_eq!(objects[0].method, "GET");
        assert_eq!(objects[0].mode, None);
        assert_eq!(objects[1].path, "pki/issue/web");
        assert_eq!(objects[1].method, "POST");
        assert_eq!(objects[1].mode, Some(0o600));
        assert_eq!(objects[1].encoding, Encoding::Base64);
    }

    #[test]
    fn bad_objects_are_refused_with_their_index() {
        assert_eq!(parse("[]"), Err(ObjectsError::Empty));
        assert_eq!(parse("- secretPath: a"), Err(ObjectsError::NoName(0)));
        assert!(matches!(
            parse("- objectName: ../x\n  secretPath: a"),
            Err(ObjectsError::BadName { .. })
        ));
        assert!(matches!(
            parse("- {objectName: a, secretPath: b}\n- {objectName: a, secretPath: c}"),
            Err(ObjectsError::Duplicate(_))
        ));
        assert!(matches!(
            parse("- {objectName: a, secretPath: b, encoding: rot13}"),
            Err(ObjectsError::Encoding { .. })
        ));
        assert!(matches!(
            parse("- {objectName: a, secretPath: b, method: DELETE}"),
            Err(ObjectsError::Method { .. })
        ));
    }

    #[test]
    fn file_modes_read_octal_and_decimal_forms() {
        assert_eq!(file_mode(&json!("0640")), Some(0o640));
        assert_eq!(file_mode(&json!("0o600")), Some(0o600));
        assert_eq!(file_mode(&json!(600)), Some(0o600));
        assert_eq!(file_mode(&json!(420)), Some(0o644));
        assert_eq!(file_mode(&json!(999)), None);
        assert_eq!(file_mode(&json!("0800")), None);
        assert_eq!(file_mode(&json!(true)), None);
    }

    proptest! {
        #[test]
        fn fuzz_objects_yaml_never_panics(s in "\\PC{0,200}") {
            let _ = parse(&s);
        }

        #[test]
        fn fuzz_objects_of_yaml_shape_never_panic(
            name in "[a-z./]{0,12}",
            path in "[a-z/]{0,12}",
            mode in "[0-9a-z]{0,5}",
            enc in "[a-z0-9-]{0,7}",
        ) {
            let yaml = format!(
                "- objectName: {name:?}\n  secretPath: {path:?}\n  filePermission: {mode}\n  encoding: {enc:?}\n"
            );
            if let Ok(objects) = parse(&yaml) {
                for o in objects {
                    prop_assert!(relative_file_name(&o.name));
                    prop_assert!(o.mode.is_none_or(|m| m <= 0o777));
                }
            }
        }
    }
}
