//! The JSON lines a `file` device writes, shaped as Vault's (`type`, `time`, `auth`, `request`,
//! `response`, `error`), every string value of request and response data hashed.

use super::hash::{hash_strings, hash_value};
use super::AuditDeviceEntry;
use crate::error::ApiError;
use crate::request::{Request, Response};
use crate::token::TokenEntry;
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

/// How one line hashes: with the device's key, or not at all (`log_raw`). Decoded once per
/// line, not once per value.
struct Hasher(Option<Zeroizing<Vec<u8>>>);

impl Hasher {
    fn new(entry: &AuditDeviceEntry) -> Hasher {
        Hasher((!entry.log_raw()).then(|| entry.hmac_key()))
    }

    /// A value as the device logs it: every string hashed.
    fn value(&self, mut value: Value) -> Value {
        if let Some(key) = &self.0 {
            hash_strings(key, &mut value);
        }
        value
    }

    fn text(&self, s: &str) -> Value {
        match &self.0 {
            Some(key) if !s.is_empty() => Value::String(hash_value(key, s)),
            _ => Value::String(s.to_string()),
        }
    }
}

fn auth_block(h: &Hasher, caller: &TokenEntry) -> Value {
    json!({
        "client_token": h.text(&caller.id),
        "accessor": h.text(&caller.accessor),
        "display_name": caller.display_name,
        "policies": caller.policies,
        "token_policies": caller.policies,
        "metadata": caller.meta,
        "token_type": "service",
    })
}

fn request_block(h: &Hasher, caller: &TokenEntry, req: &Request) -> Value {
    json!({
        "id": req.id,
        "operation": req.operation.capability(),
        "client_token": h.text(&caller.id),
        "client_token_accessor": h.text(&caller.accessor),
        "namespace": {"id": "root"},
        "path": req.path,
        "data": h.value(Value::Object(req.data.clone())),
        "remote_address": req.remote_addr.clone().unwrap_or_default(),
    })
}

/// The line logged before a request runs.
pub fn request_line(entry: &AuditDeviceEntry, caller: &TokenEntry, req: &Request) -> String {
    let h = Hasher::new(entry);
    json!({
        "time": crate::clock::now_rfc3339(),
        "type": "request",
        "auth": auth_block(&h, caller),
        "request": request_block(&h, caller, req),
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
    let h = Hasher::new(entry);
    let mut line = Map::new();
    line.insert("time".into(), crate::clock::now_rfc3339().into());
    line.insert("type".into(), "response".into());
    line.insert("auth".into(), auth_block(&h, caller));
    line.insert("request".into(), request_block(&h, caller, req));
    match resp {
        Ok(Some(r)) => {
            let mut out = Map::new();
            if let Some(data) = &r.data {
                out.insert("data".into(), h.value(Value::Object(data.clone())));
            }
            if let Some((_, raw)) = r.raw_body() {
                out.insert("data".into(), h.value(raw.clone()));
            }
            if let Some(auth) = &r.auth {
                out.insert(
                    "auth".into(),
                    json!({
                        "client_token": h.text(&auth.client_token),
                        "accessor": h.text(&auth.accessor),
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
