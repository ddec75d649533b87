//! The JSON lines a `file` device writes, shaped as Vault's (`type`, `time`, `auth`, `request`,
//! `response`, `error`), every string value of request and response data hashed.

use super::hash::{hash_strings, hash_value};
use super::AuditDeviceEntry;
use crate::error::ApiError;
use crate::request::{Request, Response};
use crate::token::TokenEntry;
use serde_json::{json, Map, Value};

/// A value as the device logs it: hashed unless the device logs raw.
fn protect(entry: &AuditDeviceEntry, mut value: Value) -> Value {
    if !entry.log_raw() {
        hash_strings(&entry.hmac_key(), &mut value);
    }
    value
}

fn protect_str(entry: &AuditDeviceEntry, s: &str) -> Value {
    if entry.log_raw() || s.is_empty() {
        Value::String(s.to_string())
    } else {
        Value::String(hash_value(&entry.hmac_key(), s))
    }
}

fn auth_block(entry: &AuditDeviceEntry, caller: &TokenEntry) -> Value {
    json!({
        "client_token": protect_str(entry, &caller.id),
        "accessor": protect_str(entry, &caller.accessor),
        "display_name": caller.display_name,
        "policies": caller.policies,
        "token_policies": caller.policies,
        "metadata": caller.meta,
        "token_type": "service",
    })
}

fn request_block(entry: &AuditDeviceEntry, caller: &TokenEntry, req: &Request) -> Value {
    json!({
        "id": req.id,
        "operation": req.operation.capability(),
        "client_token": protect_str(entry, &caller.id),
        "client_token_accessor": protect_str(entry, &caller.accessor),
        "namespace": {"id": "root"},
        "path": req.path,
        "data": protect(entry, Value::Object(req.data.clone())),
        "remote_address": req.remote_addr.clone().unwrap_or_default(),
    })
}

/// The line logged before a request runs.
pub fn request_line(entry: &AuditDeviceEntry, caller: &TokenEntry, req: &Request) -> String {
    json!({
        "time": crate::clock::now_rfc3339(),
        "type": "request",
        "auth": auth_block(entry, caller),
        "request": request_block(entry, caller, req),
    })
    .to_string()
}

/// The line logged after: the response (its data and any token it hands out, hashed), or the
/// error the client got.
pub fn response_line(
    entry: &AuditDeviceEntry,
    caller: &TokenEntry,
    req: &Request,
    resp: &Result<Option<Response>, ApiError>,
) -> String {
    let mut line = Map::new();
    line.insert("time".into(), crate::clock::now_rfc3339().into());
    line.insert("type".into(), "response".into());
    line.insert("auth".into(), auth_block(entry, caller));
    line.insert("request".into(), request_block(entry, caller, req));
    match resp {
        Ok(Some(r)) => {
            let mut out = Map::new();
            if let Some(data) = &r.data {
                out.insert("data".into(), protect(entry, Value::Object(data.clone())));
            }
            if let Some((_, raw)) = &r.raw {
                out.insert("data".into(), protect(entry, raw.clone()));
            }
            if let Some(auth) = &r.auth {
                out.insert(
                    "auth".into(),
                    json!({
                        "client_token": protect_str(entry, &auth.client_token),
                        "accessor": protect_str(entry, &auth.accessor),
                        "policies": auth.policies,
                        "token_policies": auth.token_policies,
                        "metadata": auth.metadata,
                        "lease_duration": auth.lease_duration,
                        "renewable": auth.renewable,
                    }),
                );
            }
            line.insert("response".into(), Value::Object(out));
        }
        Ok(None) => {
            line.insert("response".into(), json!({}));
        }
        Err(e) => {
            line.insert("error".into(), e.to_string().into());
        }
    }
    Value::Object(line).to_string()
}
