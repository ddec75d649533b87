//! Typed access to a request body, with Vault-shaped 400s for wrong types.

use crate::duration;
use crate::error::ApiError;
use serde_json::{Map, Value};

/// Borrowed request fields.
pub struct Fields<'a>(pub &'a Map<String, Value>);

impl Fields<'_> {
    /// An optional string.
    pub fn str_opt(&self, key: &str) -> Result<Option<String>, ApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(ApiError::bad(format!(
                "error converting input {key}: expected a string"
            ))),
        }
    }

    /// A required, non-empty string.
    pub fn str_req(&self, key: &str) -> Result<String, ApiError> {
        self.str_opt(key)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::bad(format!("missing required field {key:?}")))
    }

    /// An optional boolean (JSON bool or "true"/"false").
    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool, ApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) => s.parse().map_err(|_| {
                ApiError::bad(format!("error converting input {key}: expected a boolean"))
            }),
            Some(_) => Err(ApiError::bad(format!(
                "error converting input {key}: expected a boolean"
            ))),
        }
    }

    /// An optional unsigned integer that must fit in a `u8`.
    pub fn u8_or(&self, key: &str, default: u8) -> Result<u8, ApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => {
                let n = match v {
                    Value::Number(n) => n.as_u64(),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                };
                n.and_then(|n| u8::try_from(n).ok()).ok_or_else(|| {
                    ApiError::bad(format!(
                        "error converting input {key}: expected a small integer"
                    ))
                })
            }
        }
    }

    /// An optional duration in seconds.
    pub fn secs_opt(&self, key: &str) -> Result<Option<u64>, ApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => crate::duration::from_value(v)
                .map(Some)
                .map_err(|e| ApiError::bad(format!("error converting input {key}: {e}"))),
        }
    }

    /// An optional list of strings (JSON list, or comma-separated string).
    pub fn list_opt(&self, key: &str) -> Result<Option<Vec<String>>, ApiError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => string_list(v, key).map(Some),
        }
    }
}

/// Read a string list that Vault accepts as a JSON list or a comma-separated string.
pub fn string_list(v: &Value, field: &str) -> Result<Vec<String>, ApiError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(s
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect()),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(|s| s.trim().to_string())
                    .ok_or_else(|| ApiError::bad(format!("{field}: expected a list of strings")))
            })
            .collect(),
        _ => Err(ApiError::bad(format!(
            "{field}: expected a list of strings"
        ))),
    }
}

/// Read a boolean Vault-style (JSON bool, or "true"/"false" strings).
pub fn boolean(v: &Value, field: &str) -> Result<bool, ApiError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => s
            .parse()
            .map_err(|_| ApiError::bad(format!("{field}: expected a boolean"))),
        Value::Null => Ok(false),
        _ => Err(ApiError::bad(format!("{field}: expected a boolean"))),
    }
}

/// Read a non-negative integer (JSON number or numeric string).
pub fn unsigned(v: &Value, field: &str) -> Result<u64, ApiError> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| ApiError::bad(format!("{field}: expected a non-negative integer"))),
        Value::String(s) => s
            .parse()
            .map_err(|_| ApiError::bad(format!("{field}: expected a non-negative integer"))),
        Value::Null => Ok(0),
        _ => Err(ApiError::bad(format!("{field}: expected an integer"))),
    }
}

/// Read a duration field.
pub fn secs(v: &Value, field: &str) -> Result<u64, ApiError> {
    duration::from_value(v).map_err(|e| ApiError::bad(format!("{field}: {e}")))
}
