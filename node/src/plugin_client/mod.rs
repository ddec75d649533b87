//! The Coffer client of the Kubernetes plugins (`coffer kms-plugin`, `coffer csi-provider`):
//! JSON over HTTP/1.1 to one or more Coffer addresses, every call bounded by a deadline, with
//! failover to the next address when one does not answer or answers 5xx (a sealed node, a
//! standby that lost its leader). `session` adds the login and token renewal.
//!
//! Outside simulation only (real TLS and sockets of a separate process).

mod http;
pub mod session;
mod tls;

use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use session::{Login, Session};

/// The global `-address`, `-ca-cert` and `-tls-skip-verify` flags (VAULT_ADDR, VAULT_CACERT,
/// VAULT_SKIP_VERIFY when absent), as a plugin command received them.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub address: Option<String>,
    pub ca_cert: Option<std::path::PathBuf>,
    pub tls_skip_verify: bool,
}

impl Target {
    /// From the global flags, falling back to Vault's environment variables.
    pub fn from_flags(address: Option<String>, ca_cert: Option<String>, skip: bool) -> Self {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let skip_env = env("VAULT_SKIP_VERIFY")
            .is_some_and(|v| matches!(v.as_str(), "1" | "t" | "T" | "true" | "TRUE" | "True"));
        Target {
            address: address.or_else(|| env("VAULT_ADDR")),
            ca_cert: ca_cert.or_else(|| env("VAULT_CACERT")).map(Into::into),
            tls_skip_verify: skip || skip_env,
        }
    }

    /// The address list, `https://127.0.0.1:8200` when none was given.
    pub fn address(&self) -> String {
        self.address
            .clone()
            .unwrap_or_else(|| "https://127.0.0.1:8200".into())
    }
}

/// `3s`, `500ms`, or a number of seconds; never zero.
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = match s.trim().parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(s.trim()).map_err(|e| format!("{s:?}: {e}"))?,
    };
    if d.is_zero() {
        return Err(format!("{s:?}: must be more than zero"));
    }
    Ok(d)
}

/// Why a call to Coffer failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The configuration cannot work (bad address, unreadable CA file or credential file).
    #[error("{0}")]
    Config(String),
    /// No address answered within the deadline.
    #[error("coffer did not answer within {0:?}")]
    Timeout(Duration),
    /// No address could be reached.
    #[error("coffer unreachable: {0}")]
    Unreachable(String),
    /// Coffer answered with an error status (Vault's `errors` joined).
    #[error("coffer answered {status}: {message}")]
    Status { status: u16, message: String },
}

impl ClientError {
    /// The HTTP status Coffer answered, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// One parsed address: scheme, `host:port` (the port defaulted from the scheme).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Address {
    tls: bool,
    authority: String,
}

fn parse_address(addr: &str) -> Result<Address, ClientError> {
    let bad = || ClientError::Config(format!("bad coffer address {addr:?}"));
    let (tls, rest) = if let Some(r) = addr.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = addr.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(bad());
    };
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains('/') {
        return Err(bad());
    }
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(h, p)| p.chars().all(|c| c.is_ascii_digit()) && !h.ends_with(':'));
    let has_port = has_port && !(authority.starts_with('[') && authority.ends_with(']'));
    let authority = if has_port {
        authority.to_string()
    } else {
        format!("{authority}:{}", if tls { 443 } else { 80 })
    };
    Ok(Address { tls, authority })
}

/// Where Coffer is and how to talk to it.
#[derive(Clone)]
pub struct Endpoint {
    addresses: Arc<Vec<Address>>,
    tls: Option<Arc<rustls::ClientConfig>>,
    timeout: Duration,
    /// The address that answered last: calls start there.
    preferred: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("addresses", &self.addresses)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Endpoint {
    /// `addresses` is a comma-separated list (`https://coffer-0:8200,https://coffer-1:8200`),
    /// tried in turn; `timeout` bounds each whole call, failover included.
    pub fn new(
        addresses: &str,
        ca_cert: Option<&Path>,
        skip_verify: bool,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        let addresses: Vec<Address> = addresses
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(parse_address)
            .collect::<Result<_, _>>()?;
        if addresses.is_empty() {
            return Err(ClientError::Config("no coffer address given".into()));
        }
        let tls = if addresses.iter().any(|a| a.tls) {
            let config = tls::client_config(ca_cert, skip_verify).map_err(ClientError::Config)?;
            Some(Arc::new(config))
        } else {
            None
        };
        Ok(Endpoint {
            addresses: Arc::new(addresses),
            tls,
            timeout,
            preferred: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The deadline of one call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `method` `/v1/{path}` with `token` and a JSON `body`; the answer's JSON (`Null` when
    /// empty). An error status is `ClientError::Status`. Addresses are tried in turn, starting
    /// with the one that answered last, until one answers below 500 or the deadline passes.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let work = self.call_any(method, path, token, body);
        match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::Timeout(self.timeout)),
        }
    }

    async fn call_any(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let n = self.addresses.len();
        let start = self.preferred.load(Ordering::Relaxed) % n;
        let mut last = ClientError::Unreachable("no address tried".into());
        for i in 0..n {
            let index = (start + i) % n;
            let address = &self.addresses[index];
            let request = http::Request {
                method,
                path,
                token,
                body,
            };
            match http::send(address, self.tls.as_ref(), request).await {
                Ok((status, value)) if status < 500 => {
                    self.preferred.store(index, Ordering::Relaxed);
                    return answer(status, value);
                }
                Ok((status, value)) => last = answer(status, value).err().unwrap_or(last),
                Err(e) => last = ClientError::Unreachable(format!("{}: {e}", address.authority)),
            }
        }
        Err(last)
    }
}

/// A 2xx answer's body, else the error with Vault's `errors` joined.
fn answer(status: u16, value: Value) -> Result<Value, ClientError> {
    if (200..300).contains(&status) {
        return Ok(value);
    }
    let message = value
        .get("errors")
        .and_then(Value::as_array)
        .map(|errors| {
            errors
                .iter()
                .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default();
    Err(ClientError::Status { status, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_take_go_durations_or_seconds() {
        assert_eq!(parse_timeout("3s").unwrap(), Duration::from_secs(3));
        assert_eq!(parse_timeout("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_timeout("2").unwrap(), Duration::from_secs(2));
        assert!(parse_timeout("0").is_err());
        assert!(parse_timeout("soon").is_err());
    }

    #[test]
    fn addresses_take_the_default_port_of_their_scheme() {
        let a = parse_address("https://coffer").unwrap();
        assert_eq!((a.tls, a.authority.as_str()), (true, "coffer:443"));
        let a = parse_address("http://127.0.0.1:8200/").unwrap();
        assert_eq!((a.tls, a.authority.as_str()), (false, "127.0.0.1:8200"));
        let a = parse_address("http://[::1]").unwrap();
        assert_eq!(a.authority, "[::1]:80");
        assert!(parse_address("coffer:8200").is_err());
        assert!(parse_address("https://coffer:8200/v1").is_err());
    }

    #[test]
    fn error_answers_join_vaults_errors() {
        let e = answer(403, serde_json::json!({"errors": ["permission denied"]})).unwrap_err();
        assert_eq!(e.status(), Some(403));
        assert!(e.to_string().contains("permission denied"));
        assert!(answer(204, Value::Null).is_ok());
    }
}
