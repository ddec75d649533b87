//! The JSON lines a `file` device writes, shaped as Vault's (`type`, `time`, `auth`, `request`,
//! `response`, `error`), every string value of request and response data hashed.

use super::hash::{hash_strings, hash_strings_except, Keyed};
use super::AuditDeviceEntry;
use crate::error::ApiError;
use crate::mounts::MountConfig;
use crate::request::{Request, Response};
use crate::token::TokenEntry;
use serde_json::{json, Map, Value};

/// How one line hashes: with the device's key, or not at all (`log_raw`). Decoded and keyed
/// once per line, not once per value.
struct Hasher(Option<Keyed>);

impl Hasher {
    fn new(entry: &AuditDeviceEntry) -> Hasher {
        Hasher((!entry.log_raw()).then(|| {
            let key = entry.hmac_key();
            Keyed::new(&key)
        }))
    }

    /// A value as the device logs it: every string hashed.
    fn value(&self, mut value: Value) -> Value {
        if let Some(key) = &self.0 {
            hash_strings(key, &mut value);
        }
        value
    }

    /// Request or response data: every string hashed but those under a `plain` key.
    fn data(&self, mut value: Value, plain: &[String]) -> Value {
        if let Some(key) = &self.0 {
            hash_strings_except(key, &mut value, plain);
        }
        value
    }

    fn text(&self, s: &str) -> Value {
        match &self.0 {
            Some(key) if !s.is_empty() => Value::String(key.hash(s)),
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

/// The keys a mount's `audit_non_hmac_request_keys`/`_response_keys` leave in plain.
fn plain_request(mount: Option<&MountConfig>) -> &[String] {
    mount.map_or(&[], |m| m.audit_non_hmac_request_keys.as_slice())
}

fn plain_response(mount: Option<&MountConfig>) -> &[String] {
    mount.map_or(&[], |m| m.audit_non_hmac_response_keys.as_slice())
}

fn request_block(
    h: &Hasher,
    caller: &TokenEntry,
    req: &Request,
    mount: Option<&MountConfig>,
) -> Value {
    json!({
        "id": req.id,
        "operation": req.operation.capability(),
        "client_token": h.text(&caller.id),
        "client_token_accessor": h.text(&caller.accessor),
        "namespace": {"id": "root"},
        "path": req.path,
        "data": h.data(Value::Object(req.data.clone()), plain_request(mount)),
        "remote_address": req.remote_addr.clone().unwrap_or_default(),
    })
}

/// The line logged before a request runs.
pub fn request_line(
    entry: &AuditDeviceEntry,
    caller: &TokenEntry,
    req: &Request,
    mount: Option<&MountConfig>,
) -> String {
    let h = Hasher::new(entry);
    json!({
        "time": crate::clock::now_rfc3339(),
        "type": "request",
        "auth": auth_block(&h, caller),
        "request": request_block(&h, caller, req, mount),
    })
    .to_string()
}

/// A response's `wrap_info` as Vault logs it: the wrapping token and the accessors hashed,
/// where and when it was made in plain.
fn wrap_info_block(h: &Hasher, info: &Value) -> Value {
    let Value::Object(fields) = info else {
        return h.value(info.clone()); // not Vault's shape: hash every string
    };
    let mut fields = fields.clone();
    for key in ["token", "accessor", "wrapped_accessor"] {
        if let Some(Value::String(s)) = fields.get(key) {
            let hashed = h.text(s);
            fields.insert(key.into(), hashed);
        }
    }
    Value::Object(fields)
}

/// The line logged after: the response (its data and any token it hands out, hashed), or the
/// error the client got.
pub fn response_line(
    entry: &AuditDeviceEntry,
    caller: &TokenEntry,
    req: &Request,
    resp: &Result<Option<Response>, ApiError>,
    mount: Option<&MountConfig>,
) -> String {
    let h = Hasher::new(entry);
    let mut line = Map::new();
    line.insert("time".into(), crate::clock::now_rfc3339().into());
    line.insert("type".into(), "response".into());
    line.insert("auth".into(), auth_block(&h, caller));
    line.insert("request".into(), request_block(&h, caller, req, mount));
    match resp {
        Ok(Some(r)) => {
            let mut out = Map::new();
            if let Some(data) = &r.data {
                out.insert(
                    "data".into(),
                    h.data(Value::Object(data.clone()), plain_response(mount)),
                );
            }
            if let Some((_, raw)) = r.raw_body() {
                out.insert("data".into(), h.data(raw.clone(), plain_response(mount)));
            }
            if let Some(info) = &r.wrap_info {
                out.insert("wrap_info".into(), wrap_info_block(&h, info));
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

#[cfg(test)]
mod tests {
    use super::super::hash::hash_value;
    use super::*;
    use crate::request::Operation;
    use std::collections::BTreeMap;
    use zeroize::Zeroizing;

    fn device() -> AuditDeviceEntry {
        let options = BTreeMap::from([("file_path".to_string(), "/dev/null".to_string())]);
        AuditDeviceEntry::new("file/", "file", "", options, false).expect("a valid file device")
    }

    /// Both lines of `req` answered with `resp`, and the device's key.
    fn logged(req: &Request, resp: Response) -> (String, Zeroizing<Vec<u8>>) {
        let dev = device();
        let caller = crate::token::TokenEntry::default();
        let request = request_line(&dev, &caller, req, None);
        let response = response_line(&dev, &caller, req, &Ok(Some(resp)), None);
        (format!("{request}\n{response}"), dev.hmac_key())
    }

    const SHARE: &str = "5b3c1e0f9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29180706f5e4d3c2b1a0f9e8";
    const OTP: &str = "Zt6QhIIbmGH4hH1WmCzWXJmcNfuX8hp0UwRn";

    #[test]
    fn generate_root_key_shares_otps_and_tokens_are_hashed() {
        let attempt = Request::new(Operation::Update, "sys/generate-root/attempt");
        let answer = Response::raw(json!({"nonce": "n-1", "otp": OTP, "otp_length": 36}));
        let (lines, key) = logged(&attempt, answer);
        assert!(!lines.contains(OTP), "the OTP in plain: {lines}");
        assert!(lines.contains(&hash_value(&key, OTP)));

        let update = Request::new(Operation::Update, "sys/generate-root/update")
            .with_data(json!({"key": SHARE, "nonce": "n-1", "otp": OTP}));
        let encoded = "GhMGCg0MHBkbVhsvIDMqFh8KBS0xBAo8Az8K";
        let answer = Response::raw(json!({"complete": true, "encoded_token": encoded}));
        let (lines, key) = logged(&update, answer);
        for secret in [SHARE, OTP, encoded] {
            assert!(!lines.contains(secret), "{secret} in plain: {lines}");
            assert!(lines.contains(&hash_value(&key, secret)), "{secret}");
        }
    }

    #[test]
    fn rekey_shares_old_and_new_are_hashed() {
        let update = Request::new(Operation::Update, "sys/rekey/update")
            .with_data(json!({"key": SHARE, "nonce": "n-2"}));
        let new_shares = ["aa11bb22cc33", "dd44ee55ff66"];
        let answer = Response::raw(json!({
            "complete": true,
            "keys": new_shares,
            "keys_base64": ["qhG7Iswz", "3UTuVf9m"],
        }));
        let (lines, key) = logged(&update, answer);
        for secret in [SHARE, new_shares[0], new_shares[1], "qhG7Iswz", "3UTuVf9m"] {
            assert!(!lines.contains(secret), "{secret} in plain: {lines}");
            assert!(lines.contains(&hash_value(&key, secret)), "{secret}");
        }
    }

    #[test]
    fn a_wrapping_token_in_wrap_info_is_hashed_and_its_metadata_is_not() {
        let rewrap = Request::new(Operation::Update, "sys/wrapping/rewrap").with_token("hvs.old");
        let info = json!({
            "token": "hvs.new-wrapping-token",
            "accessor": "acc-1",
            "ttl": 60,
            "creation_path": "secret/data/app",
        });
        let (lines, key) = logged(&rewrap, crate::token::wrapping::wrapped_response(info));
        assert!(!lines.contains("hvs.new-wrapping-token"), "{lines}");
        assert!(!lines.contains("hvs.old"), "{lines}");
        let response: Value =
            serde_json::from_str(lines.lines().nth(1).unwrap_or_default()).expect("a JSON line");
        let logged_info = &response["response"]["wrap_info"];
        assert_eq!(
            logged_info["token"],
            hash_value(&key, "hvs.new-wrapping-token")
        );
        assert_eq!(logged_info["accessor"], hash_value(&key, "acc-1"));
        assert_eq!(logged_info["creation_path"], "secret/data/app");
        assert_eq!(logged_info["ttl"], 60);
    }
}
