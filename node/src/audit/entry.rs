//! The JSON lines a `file` device writes, shaped as Vault's (`type`, `time`, `auth`, `request`,
//! `response`, `error`), every string value of request and response data hashed.
//!
//! A line is serialised straight from borrowed parts of the request and response: strings are
//! hashed as they are written (`hashed.rs`), nothing is copied into a `Value` first.

use super::hash::Keyed;
use super::hashed::{Hashed, WrapInfo};
use super::{AuditDeviceEntry, AuditError};
use crate::error::ApiError;
use crate::mounts::MountConfig;
use crate::request::{Request, Response};
use crate::token::TokenEntry;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// How a device hashes: with its key, or not at all (`log_raw`). Keyed once, when the device
/// is opened.
pub struct Hasher(Option<Keyed>);

impl Hasher {
    pub fn for_entry(entry: &AuditDeviceEntry) -> Hasher {
        Hasher((!entry.log_raw()).then(|| Keyed::new(&entry.hmac_key())))
    }

    pub(super) fn key(&self) -> Option<&Keyed> {
        self.0.as_ref()
    }

    /// A token or accessor as the device logs it (an empty one stays empty).
    fn text<'a>(&self, s: &'a str) -> Cow<'a, str> {
        match &self.0 {
            Some(key) if !s.is_empty() => Cow::Owned(key.hash(s)),
            _ => Cow::Borrowed(s),
        }
    }
}

#[derive(Serialize)]
struct Line<'a> {
    auth: AuthBlock<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    request: RequestBlock<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<ResponseBlock<'a>>,
    time: String,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// The caller's token and accessor, hashed once for the line's two blocks.
struct Caller<'a> {
    entry: &'a TokenEntry,
    token: Cow<'a, str>,
    accessor: Cow<'a, str>,
}

impl<'a> Caller<'a> {
    fn new(h: &Hasher, entry: &'a TokenEntry) -> Caller<'a> {
        Caller {
            entry,
            token: h.text(&entry.id),
            accessor: h.text(&entry.accessor),
        }
    }
}

#[derive(Serialize)]
struct AuthBlock<'a> {
    accessor: &'a str,
    client_token: &'a str,
    display_name: &'a str,
    metadata: &'a BTreeMap<String, String>,
    policies: &'a [String],
    token_policies: &'a [String],
    token_type: &'static str,
}

impl<'a> AuthBlock<'a> {
    fn of(caller: &'a Caller<'a>) -> AuthBlock<'a> {
        AuthBlock {
            accessor: &caller.accessor,
            client_token: &caller.token,
            display_name: &caller.entry.display_name,
            metadata: &caller.entry.meta,
            policies: &caller.entry.policies,
            token_policies: &caller.entry.policies,
            token_type: "service",
        }
    }
}

#[derive(Serialize)]
struct Namespace {
    id: &'static str,
}

#[derive(Serialize)]
struct RequestBlock<'a> {
    client_token: &'a str,
    client_token_accessor: &'a str,
    data: Hashed<'a>,
    id: &'a str,
    namespace: Namespace,
    operation: &'static str,
    path: &'a str,
    remote_address: &'a str,
}

impl<'a> RequestBlock<'a> {
    fn of(
        h: &'a Hasher,
        caller: &'a Caller<'a>,
        req: &'a Request,
        mount: Option<&'a MountConfig>,
    ) -> RequestBlock<'a> {
        RequestBlock {
            client_token: &caller.token,
            client_token_accessor: &caller.accessor,
            data: Hashed::object(h.key(), &req.data, plain_request(mount)),
            id: &req.id,
            namespace: Namespace { id: "root" },
            operation: req.operation.capability(),
            path: &req.path,
            remote_address: req.remote_addr.as_deref().unwrap_or_default(),
        }
    }
}

#[derive(Serialize)]
struct ResponseBlock<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<ResponseAuth<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Hashed<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wrap_info: Option<WrapInfo<'a>>,
}

/// A token the response hands out: the token and its accessor hashed.
#[derive(Serialize)]
struct ResponseAuth<'a> {
    accessor: Cow<'a, str>,
    client_token: Cow<'a, str>,
    lease_duration: u64,
    metadata: &'a Option<BTreeMap<String, String>>,
    policies: &'a [String],
    renewable: bool,
    token_policies: &'a [String],
}

impl<'a> ResponseBlock<'a> {
    fn of(h: &'a Hasher, r: &'a Response, mount: Option<&'a MountConfig>) -> ResponseBlock<'a> {
        let plain = plain_response(mount);
        // A raw body (Vault's non-JSON-envelope answers) is what the client got, so it is logged.
        let data = match (r.raw_body(), &r.data) {
            (Some((_, raw)), _) => Some(Hashed::new(h.key(), raw, plain)),
            (None, Some(data)) => Some(Hashed::object(h.key(), data, plain)),
            (None, None) => None,
        };
        ResponseBlock {
            auth: r.auth.as_ref().map(|auth| ResponseAuth {
                accessor: h.text(&auth.accessor),
                client_token: h.text(&auth.client_token),
                lease_duration: auth.lease_duration,
                metadata: &auth.metadata,
                policies: &auth.policies,
                renewable: auth.renewable,
                token_policies: &auth.token_policies,
            }),
            data,
            wrap_info: r
                .wrap_info
                .as_ref()
                .map(|info| WrapInfo::new(h.key(), info)),
        }
    }
}

/// The keys a mount's `audit_non_hmac_request_keys`/`_response_keys` leave in plain.
fn plain_request(mount: Option<&MountConfig>) -> &[String] {
    mount.map_or(&[], |m| m.audit_non_hmac_request_keys.as_slice())
}

fn plain_response(mount: Option<&MountConfig>) -> &[String] {
    mount.map_or(&[], |m| m.audit_non_hmac_response_keys.as_slice())
}

/// The line as JSON. A line that cannot be written fails the device, as a failed write does,
/// rather than being logged empty.
fn to_line(line: &Line<'_>) -> Result<String, AuditError> {
    serde_json::to_string(line).map_err(|e| AuditError::Line(e.to_string()))
}

/// The line logged before a request runs.
pub fn request_line(
    h: &Hasher,
    caller: &TokenEntry,
    req: &Request,
    mount: Option<&MountConfig>,
) -> Result<String, AuditError> {
    let caller = Caller::new(h, caller);
    to_line(&Line {
        auth: AuthBlock::of(&caller),
        error: None,
        request: RequestBlock::of(h, &caller, req, mount),
        response: None,
        time: crate::clock::now_rfc3339(),
        kind: "request",
    })
}

/// The line logged after: the response (its data and any token it hands out, hashed), or the
/// error the client got.
pub fn response_line(
    h: &Hasher,
    caller: &TokenEntry,
    req: &Request,
    resp: &Result<Option<Response>, ApiError>,
    mount: Option<&MountConfig>,
) -> Result<String, AuditError> {
    let caller = Caller::new(h, caller);
    let (response, error) = match resp {
        Ok(Some(r)) => (Some(ResponseBlock::of(h, r, mount)), None),
        Ok(None) => (
            Some(ResponseBlock {
                auth: None,
                data: None,
                wrap_info: None,
            }),
            None,
        ),
        Err(e) => (None, Some(e.to_string())),
    };
    to_line(&Line {
        auth: AuthBlock::of(&caller),
        error,
        request: RequestBlock::of(h, &caller, req, mount),
        response,
        time: crate::clock::now_rfc3339(),
        kind: "response",
    })
}

#[cfg(test)]
mod tests {
    use super::super::hash::hash_value;
    use super::*;
    use crate::request::Operation;
    use serde_json::{json, Value};
    use zeroize::Zeroizing;

    fn device() -> AuditDeviceEntry {
        let options = BTreeMap::from([("file_path".to_string(), "/dev/null".to_string())]);
        AuditDeviceEntry::new("file/", "file", "", options, false).expect("a valid file device")
    }

    /// Both lines of `req` answered with `resp`, and the device's key.
    fn logged(req: &Request, resp: Response) -> (String, Zeroizing<Vec<u8>>) {
        let dev = device();
        let caller = crate::token::TokenEntry::default();
        let h = Hasher::for_entry(&dev);
        let request = request_line(&h, &caller, req, None).expect("a request line");
        let response =
            response_line(&h, &caller, req, &Ok(Some(resp)), None).expect("a response line");
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
