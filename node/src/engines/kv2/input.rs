//! Request-field parsing for KV v2, lenient the way Vault's framework is (numbers may arrive as
//! strings, `versions` as `"1,2"`), plus the two JSON transforms the engine needs: RFC 7386
//! merge patch and the value-stripping of `subkeys`. Every function is pure.

use crate::error::ApiError;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Nesting depth `subkeys` never goes beyond (Vault's limit).
pub const MAX_SUBKEYS_DEPTH: u64 = 100;
const MAX_CUSTOM_KEYS: usize = 64;
const MAX_CUSTOM_KEY_LEN: usize = 128;
const MAX_CUSTOM_VALUE_LEN: usize = 512;

fn conversion_error(name: &str, raw: &Value) -> ApiError {
    ApiError::bad(format!("error converting input {raw} for field \"{name}\""))
}

/// An integer from a number, a numeric string (`""` is 0), a bool or null, like Go's weak decode.
pub fn weak_int(v: &Value) -> Option<i64> {
    match v {
        Value::Null => Some(0),
        Value::Bool(b) => Some(i64::from(*b)),
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) if s.trim().is_empty() => Some(0),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An optional integer field.
pub fn field_int(data: &Map<String, Value>, name: &str) -> Result<Option<i64>, ApiError> {
    match data.get(name) {
        None => Ok(None),
        Some(raw) => weak_int(raw)
            .map(Some)
            .ok_or_else(|| conversion_error(name, raw)),
    }
}

/// An optional non-negative integer field that must fit in 32 bits (`max_versions`).
pub fn field_u32(data: &Map<String, Value>, name: &str) -> Result<Option<u32>, ApiError> {
    match field_int(data, name)? {
        None => Ok(None),
        Some(n) => u32::try_from(n)
            .map(Some)
            .map_err(|_| ApiError::bad(format!("{name} must be between 0 and {}", u32::MAX))),
    }
}

/// An optional boolean field: a bool, Go's `ParseBool` strings, or a number (non-zero is true).
pub fn field_bool(data: &Map<String, Value>, name: &str) -> Result<Option<bool>, ApiError> {
    let Some(raw) = data.get(name) else {
        return Ok(None);
    };
    let parsed = match raw {
        Value::Bool(b) => Some(*b),
        Value::Null => Some(false),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => match s.as_str() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
            "" | "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
            _ => None,
        },
        _ => None,
    };
    parsed.map(Some).ok_or_else(|| conversion_error(name, raw))
}

/// A duration in whole seconds: `"3h25m19s"`, `"90s"`, `"2d"`, `"-1s"`, `"60"` or a number.
pub fn parse_duration(raw: &Value) -> Result<i64, String> {
    match raw {
        Value::Null => Ok(0),
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .ok_or_else(|| format!("invalid duration {n}")),
        Value::String(s) => parse_duration_str(s),
        other => Err(format!("invalid duration {other}")),
    }
}

fn parse_duration_str(s: &str) -> Result<i64, String> {
    crate::duration::parse_signed_secs(s)
}

/// An optional duration field, in seconds.
pub fn field_duration(data: &Map<String, Value>, name: &str) -> Result<Option<i64>, ApiError> {
    match data.get(name) {
        None => Ok(None),
        Some(raw) => parse_duration(raw).map(Some).map_err(|e| {
            ApiError::bad(format!(
                "error converting input {raw} for field \"{name}\": {e}"
            ))
        }),
    }
}

/// An optional object field (`data`, `options`); `null` counts as absent.
pub fn field_object<'a>(
    data: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a Map<String, Value>>, ApiError> {
    match data.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(raw) => Err(conversion_error(name, raw)),
    }
}

/// The `versions` field: a list of numbers or numeric strings, one number, or `"1,2,3"`.
/// An empty or missing list is an error carrying `missing_msg`.
pub fn field_versions(data: &Map<String, Value>, missing_msg: &str) -> Result<Vec<u64>, ApiError> {
    let raw = data.get("versions").unwrap_or(&Value::Null);
    let items: Vec<Value> = match raw {
        Value::Null => Vec::new(),
        Value::Array(a) => a.clone(),
        Value::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| Value::String(p.to_string()))
            .collect(),
        other => vec![other.clone()],
    };
    let mut out = Vec::with_capacity(items.len());
    for item in &items {
        let n = weak_int(item)
            .filter(|_| !item.is_null())
            .ok_or_else(|| conversion_error("versions", raw))?;
        // Negative numbers name no version; Vault skips them the same way.
        if let Ok(n) = u64::try_from(n) {
            out.push(n);
        }
    }
    if items.is_empty() {
        return Err(ApiError::bad(missing_msg));
    }
    Ok(out)
}

/// `custom_metadata` as string pairs, validated as Vault does. With `drop_nulls` (patch), null
/// values are skipped so a merge patch can remove them.
pub fn custom_metadata(
    raw: &Value,
    drop_nulls: bool,
) -> Result<BTreeMap<String, String>, ApiError> {
    const PREFIX: &str = "custom_metadata validation failed";
    let Value::Object(map) = raw else {
        return Err(conversion_error("custom_metadata", raw));
    };
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let s = match v {
            Value::Null if drop_nulls => continue,
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Bool(_) | Value::Number(_) => v.to_string(),
            _ => {
                return Err(ApiError::bad(format!(
                    "{PREFIX}: value for key \"{k}\" is not a string"
                )))
            }
        };
        out.insert(k.clone(), s);
    }
    if out.len() > MAX_CUSTOM_KEYS {
        return Err(ApiError::bad(format!(
            "{PREFIX}: payload must contain at most {MAX_CUSTOM_KEYS} keys, provided {}",
            out.len()
        )));
    }
    for (k, v) in &out {
        if k.is_empty() || k.len() > MAX_CUSTOM_KEY_LEN {
            return Err(ApiError::bad(format!(
                "{PREFIX}: length of key \"{k}\" is {} but must be 0 < len(key) <= {MAX_CUSTOM_KEY_LEN}",
                k.len()
            )));
        }
        if v.is_empty() || v.len() > MAX_CUSTOM_VALUE_LEN {
            return Err(ApiError::bad(format!(
                "{PREFIX}: length of value for key \"{k}\" is {} but must be 0 < len(value) <= {MAX_CUSTOM_VALUE_LEN}",
                v.len()
            )));
        }
    }
    Ok(out)
}

/// Apply an RFC 7386 JSON merge patch to `target` in place.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in patch {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// Replace every leaf (non-object or empty object) with null, keeping the key structure, down
/// to `max_depth` levels (0: [`MAX_SUBKEYS_DEPTH`]); deeper objects become null too.
pub fn strip_values(map: &mut Map<String, Value>, max_depth: u64) {
    let limit = if max_depth == 0 {
        MAX_SUBKEYS_DEPTH
    } else {
        max_depth.min(MAX_SUBKEYS_DEPTH)
    };
    strip_at(map, 1, limit);
}

fn strip_at(map: &mut Map<String, Value>, depth: u64, limit: u64) {
    for v in map.values_mut() {
        match v {
            Value::Object(inner) if !inner.is_empty() && depth < limit => {
                strip_at(inner, depth + 1, limit)
            }
            _ => *v = Value::Null,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn ints_are_weak() {
        assert_eq!(weak_int(&json!(3)), Some(3));
        assert_eq!(weak_int(&json!("4")), Some(4));
        assert_eq!(weak_int(&json!(5.0)), Some(5));
        assert_eq!(weak_int(&json!(5.5)), None);
        assert_eq!(weak_int(&json!("x")), None);
        assert_eq!(weak_int(&json!([1])), None);
        let d = obj(json!({"max_versions": "x", "m": -1}));
        assert!(field_int(&d, "max_versions").is_err());
        assert!(field_u32(&d, "m").is_err());
        assert_eq!(field_int(&d, "absent").unwrap(), None);
    }

    #[test]
    fn bools_and_durations() {
        let d = obj(
            json!({"a": "true", "b": 0, "c": "maybe", "t": "3h25m19s", "u": "-1s", "v": 60, "w": "nope"}),
        );
        assert_eq!(field_bool(&d, "a").unwrap(), Some(true));
        assert_eq!(field_bool(&d, "b").unwrap(), Some(false));
        assert!(field_bool(&d, "c").is_err());
        assert_eq!(field_duration(&d, "t").unwrap(), Some(12319));
        assert_eq!(field_duration(&d, "u").unwrap(), Some(-1));
        assert_eq!(field_duration(&d, "v").unwrap(), Some(60));
        assert!(field_duration(&d, "w").is_err());
        assert_eq!(parse_duration(&json!("2d")).unwrap(), 172_800);
        assert_eq!(parse_duration(&json!("1h30m")).unwrap(), 5400);
    }

    #[test]
    fn versions_accept_vault_forms() {
        let v = |x: Value| field_versions(&obj(json!({ "versions": x })), "none");
        assert_eq!(v(json!([1, 2])).unwrap(), [1, 2]);
        assert_eq!(v(json!(["3", 4])).unwrap(), [3, 4]);
        assert_eq!(v(json!("1, 2")).unwrap(), [1, 2]);
        assert_eq!(v(json!(7)).unwrap(), [7]);
        assert_eq!(v(json!([])).unwrap_err().to_string(), "none");
        assert!(v(json!(["a"])).is_err());
        assert!(v(json!({"x": 1})).is_err());
        assert!(field_versions(&Map::new(), "none").is_err());
    }

    #[test]
    fn custom_metadata_is_validated() {
        assert_eq!(
            custom_metadata(&json!({"a": "b", "n": 1}), false).unwrap(),
            BTreeMap::from([("a".into(), "b".into()), ("n".into(), "1".into())])
        );
        assert!(custom_metadata(&json!({"a": ""}), false).is_err());
        assert!(custom_metadata(&json!("x"), false).is_err());
        assert!(custom_metadata(&json!({"a": {"b": 1}}), false).is_err());
        assert!(custom_metadata(&json!({"a": null}), true)
            .unwrap()
            .is_empty());
        let many: Map<String, Value> = (0..65).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert!(custom_metadata(&Value::Object(many), false).is_err());
    }

    #[test]
    fn merge_patch_follows_rfc7386() {
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}, "z": 1});
        merge_patch(
            &mut t,
            &json!({"a": "z", "c": {"f": null}, "z": null, "n": [1]}),
        );
        assert_eq!(t, json!({"a": "z", "c": {"d": "e"}, "n": [1]}));
        let mut s = json!("scalar");
        merge_patch(&mut s, &json!({"k": {"x": null, "y": 1}}));
        assert_eq!(s, json!({"k": {"y": 1}}));
    }

    #[test]
    fn strip_values_keeps_structure() {
        let mut m = obj(json!({"a": 1, "b": {"c": "x", "d": {"e": true}}, "f": {}}));
        strip_values(&mut m.clone(), 0);
        let mut full = m.clone();
        strip_values(&mut full, 0);
        assert_eq!(
            Value::Object(full),
            json!({"a": null, "b": {"c": null, "d": {"e": null}}, "f": null})
        );
        strip_values(&mut m, 1);
        assert_eq!(Value::Object(m), json!({"a": null, "b": null, "f": null}));
    }
}
