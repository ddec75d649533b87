//! The transport-neutral request and response that flow through the pipeline:
//! HTTP (or a forwarded call) → `Request` → token → ACL → router → engine → `Response`.

use crate::error::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The wrapping header's name, lower-case, as `http/parse.rs` keeps it.
pub const WRAP_TTL_HEADER: &str = "x-vault-wrap-ttl";

/// The client's address, put on each HTTP request's extensions by the listener (and by the
/// active node for a request a standby forwarded); auth methods check CIDR bindings against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub std::net::SocketAddr);

/// Vault's logical operations; HTTP methods map onto these in `http/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// GET
    Read,
    /// POST/PUT on a path that holds nothing yet (the ACL checks `create`).
    Create,
    /// POST/PUT on an existing entry (the ACL checks `update`).
    Update,
    /// DELETE
    Delete,
    /// LIST, or GET with `?list=true`
    List,
    /// PATCH (KV v2 patch)
    Patch,
}

impl Operation {
    /// The ACL capability this operation needs.
    pub fn capability(self) -> &'static str {
        match self {
            Operation::Read => "read",
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::List => "list",
            Operation::Patch => "patch",
        }
    }
}

/// One API call, already parsed from HTTP. `path` has no `/v1/` prefix and no leading slash.
#[derive(Debug, Clone)]
pub struct Request {
    /// Request id (a UUID) echoed back as `request_id`.
    pub id: String,
    /// The logical operation.
    pub operation: Operation,
    /// Full logical path, e.g. `secret/data/app/db`.
    pub path: String,
    /// JSON body fields (for writes) merged with query parameters (for reads/lists).
    pub data: Map<String, Value>,
    /// The client token, from `X-Vault-Token` or `Authorization: Bearer`.
    pub token: Option<String>,
    /// Selected request headers (lower-case names), e.g. `x-vault-wrap-ttl`.
    pub headers: BTreeMap<String, String>,
    /// The client's address, when known.
    pub remote_addr: Option<String>,
    /// The body as sent, for the few paths that take bytes rather than JSON (a snapshot to
    /// restore); `None` elsewhere. Shared, so a handler can move it to the blocking pool
    /// without copying it.
    pub raw_body: Option<std::sync::Arc<Vec<u8>>>,
    /// The display name of the token that made the request, set by the pipeline once the
    /// token is checked (empty before; engines name generated users after it, as Vault's).
    pub display_name: String,
}

impl Request {
    /// A request with no body, token or headers; handy for tests and internal calls.
    pub fn new(operation: Operation, path: impl Into<String>) -> Self {
        Request {
            id: crate::ids::uuid(),
            operation,
            path: path.into(),
            data: Map::new(),
            token: None,
            headers: BTreeMap::new(),
            remote_addr: None,
            raw_body: None,
            display_name: String::new(),
        }
    }

    /// The wrapping TTL the request asks for (`X-Vault-Wrap-TTL`: `"60s"`, `"5m"` or whole
    /// seconds), in seconds; absent or zero: no wrapping. A malformed header is a 400.
    pub fn wrap_ttl(&self) -> Result<Option<u64>, ApiError> {
        let Some(raw) = self.headers.get(WRAP_TTL_HEADER) else {
            return Ok(None);
        };
        let raw = raw.trim();
        if raw.starts_with('-') {
            return Err(ApiError::bad("requested wrap ttl cannot be negative"));
        }
        let secs = crate::duration::parse_secs(raw)
            .map_err(|e| ApiError::bad(format!("error parsing wrap TTL: {e}")))?;
        Ok((secs > 0).then_some(secs))
    }

    /// Builder: set the body.
    pub fn with_data(mut self, data: Value) -> Self {
        if let Value::Object(map) = data {
            self.data = map;
        }
        self
    }

    /// Builder: set the token.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }
}

/// Authentication result carried by login and token-create responses (Vault's `auth` block).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct AuthInfo {
    pub client_token: String,
    pub accessor: String,
    pub policies: Vec<String>,
    pub token_policies: Vec<String>,
    pub identity_policies: Option<Vec<String>>,
    pub metadata: Option<BTreeMap<String, String>>,
    pub lease_duration: u64,
    pub renewable: bool,
    pub entity_id: String,
    pub token_type: String,
    pub orphan: bool,
    pub mfa_requirement: Option<Value>,
    pub num_uses: u64,
}

/// How a response's body is shaped on the wire: exactly one of these.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Body {
    /// Vault's envelope (`request_id`, `lease_id`, `data`, `auth`, `wrap_info`, ...).
    #[default]
    Envelope,
    /// The envelope with the `data` fields also copied to its top level (Vault's legacy `sys/`
    /// shapes: `sys/mounts`, `sys/policy`, `sys/capabilities`, ...).
    EnvelopeMerged,
    /// A JSON body that replaces the envelope, with its status code (`sys/health`,
    /// `sys/seal-status`, `sys/init` and the other endpoints Vault answers without it).
    Raw(u16, Value),
    /// A non-JSON body with its content type (Prometheus metrics, snapshot archives).
    Text(&'static str, String),
    /// A binary body with its content type (the PKI engine's DER certificates and CRLs).
    Bytes(&'static str, Vec<u8>),
}

/// What an engine or system handler answers. `None` from a handler means 204 No Content.
#[derive(Debug, Clone, Default)]
pub struct Response {
    /// The `data` object.
    pub data: Option<Map<String, Value>>,
    /// The `auth` object, for logins and token creation.
    pub auth: Option<AuthInfo>,
    /// `warnings`
    pub warnings: Vec<String>,
    /// Lease fields.
    pub lease_id: String,
    pub lease_duration: u64,
    pub renewable: bool,
    /// How the body is shaped on the wire.
    pub body: Body,
    /// `wrap_info` of a wrapped answer (the answer itself is in the wrapping token's cubbyhole).
    pub wrap_info: Option<Value>,
    /// The type of the mount that answered (`kv`, `transit`, `token`, `system`, ...), set by
    /// the pipeline from the request's route.
    pub mount_type: String,
    /// A secret the engine hands out under a lease; the lease manager registers it and fills
    /// the lease fields above.
    pub secret: Option<SecretLease>,
}

/// The envelope's fields, borrowed from a [`Response`] (top-level keys in sorted order).
#[derive(Serialize)]
struct EnvelopeRef<'a> {
    auth: &'a Option<AuthInfo>,
    data: &'a Option<Map<String, Value>>,
    lease_duration: u64,
    lease_id: &'a str,
    mount_type: &'a str,
    renewable: bool,
    request_id: &'a str,
    warnings: Option<&'a [String]>,
    wrap_info: &'a Option<Value>,
}

impl Response {
    /// A response carrying `data`.
    pub fn data(data: Value) -> Self {
        let data = match data {
            Value::Object(m) => Some(m),
            _ => None,
        };
        Response {
            data,
            ..Default::default()
        }
    }

    /// A response whose body is exactly `body` (no envelope), with status 200.
    pub fn raw(body: Value) -> Self {
        Response {
            body: Body::Raw(200, body),
            ..Default::default()
        }
    }

    /// A non-JSON body with its content type.
    pub fn text(content_type: &'static str, text: String) -> Self {
        Response {
            body: Body::Text(content_type, text),
            ..Default::default()
        }
    }

    /// A binary body with its content type.
    pub fn bytes(content_type: &'static str, bytes: Vec<u8>) -> Self {
        Response {
            body: Body::Bytes(content_type, bytes),
            ..Default::default()
        }
    }

    /// The raw JSON body and its status, when the envelope is replaced by one.
    pub fn raw_body(&self) -> Option<(u16, &Value)> {
        match &self.body {
            Body::Raw(status, body) => Some((*status, body)),
            _ => None,
        }
    }

    /// [`Response::envelope`] as JSON bytes. The plain envelope is written straight from this
    /// response's fields, without copying its data into a `Value` first (the same JSON; the
    /// `auth` object's keys come in its struct's order rather than sorted).
    pub fn envelope_json(&self, request_id: &str) -> Result<Vec<u8>, serde_json::Error> {
        if self.body == Body::EnvelopeMerged {
            return serde_json::to_vec(&self.envelope(request_id));
        }
        serde_json::to_vec(&EnvelopeRef {
            auth: &self.auth,
            data: &self.data,
            lease_duration: self.lease_duration,
            lease_id: &self.lease_id,
            mount_type: &self.mount_type,
            renewable: self.renewable,
            request_id,
            warnings: (!self.warnings.is_empty()).then_some(&self.warnings[..]),
            wrap_info: &self.wrap_info,
        })
    }

    /// Vault's response envelope around this answer (for `Body::Envelope*`).
    pub fn envelope(&self, request_id: &str) -> Value {
        let mut body = json!({
            "request_id": request_id,
            "lease_id": self.lease_id,
            "renewable": self.renewable,
            "lease_duration": self.lease_duration,
            "data": self.data,
            "wrap_info": self.wrap_info.clone().unwrap_or(Value::Null),
            "warnings": if self.warnings.is_empty() { Value::Null } else { json!(self.warnings) },
            "auth": self.auth,
            "mount_type": self.mount_type,
        });
        if self.body == Body::EnvelopeMerged {
            if let (Some(data), Some(obj)) = (&self.data, body.as_object_mut()) {
                for (k, v) in data {
                    obj.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        body
    }

    /// A raw body with a chosen status.
    pub fn raw_status(status: u16, body: Value) -> Self {
        Response {
            body: Body::Raw(status, body),
            ..Default::default()
        }
    }
}

/// A secret an engine hands out under a lease (Vault's `logical.Secret`), attached to its
/// [`Response`]. The lease manager (`sys/leases`) stores it behind the barrier with a lease id
/// `<request path>/<random>`, fills the reply's `lease_id`, `lease_duration` and `renewable`, and
/// on expiry or revocation calls the engine's
/// `SecretEngine::revoke_secret` (engines/) with `internal`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SecretLease {
    /// Seconds the lease lasts (0: the mount's default TTL); the manager caps it at the mount's
    /// max TTL.
    pub ttl_secs: u64,
    /// Seconds from issue beyond which no renewal extends it (0: the mount's max TTL).
    pub max_ttl_secs: u64,
    pub renewable: bool,
    /// What the engine needs to revoke or renew the secret later (a username, the role name).
    /// Never shown to clients.
    pub internal: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_wrap_ttl(value: &str) -> Request {
        let mut req = Request::new(Operation::Read, "secret/x");
        req.headers.insert(WRAP_TTL_HEADER.into(), value.into());
        req
    }

    #[test]
    fn wrap_ttl_parses_vault_durations() {
        assert_eq!(with_wrap_ttl("60s").wrap_ttl().unwrap(), Some(60));
        assert_eq!(with_wrap_ttl("5m").wrap_ttl().unwrap(), Some(300));
        assert_eq!(with_wrap_ttl("90").wrap_ttl().unwrap(), Some(90));
        assert_eq!(with_wrap_ttl("0").wrap_ttl().unwrap(), None);
        assert_eq!(Request::new(Operation::Read, "x").wrap_ttl().unwrap(), None);
        assert!(with_wrap_ttl("soon").wrap_ttl().is_err());
        assert!(with_wrap_ttl("-5s").wrap_ttl().is_err());
    }
}
