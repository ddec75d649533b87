//! What one client, connection or request may cost a node: the `listener "tcp"` knobs Vault has
//! (`max_request_size`, `http_read_header_timeout`, `http_read_timeout`, `http_idle_timeout`),
//! one it lacks (`max_connections`), and raft storage's `max_entry_size`. Plain values with
//! Vault's defaults, parsed here; `http/listener.rs`, `http/conn.rs`, `http/body.rs` and
//! `physical.rs` enforce them.

use super::ConfigError;
use serde_json::Value;
use std::time::Duration;

/// Vault's default `max_request_size`: 32 MiB.
pub const DEFAULT_MAX_REQUEST_SIZE: u64 = 32 << 20;
/// Vault's default raft `max_entry_size`: 1 MiB.
pub const DEFAULT_MAX_ENTRY_SIZE: u64 = 1 << 20;
/// The largest `max_entry_size` a node accepts: 16 MiB. Every entry must cross the cluster port
/// in one message, even alone to a follower catching up. Encoded, an entry is under twice the
/// bytes this counts (values are base64 in JSON: 4/3, plus framing), and half the transport's
/// message limit is kept spare.
pub const MAX_ENTRY_SIZE_LIMIT: u64 = 16 << 20;
const _: () = assert!(
    2 * MAX_ENTRY_SIZE_LIMIT as usize <= coffer_raft::transport::MESSAGE_SIZE_MAX_BYTES / 2
);
/// Default `max_connections` per listener.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// The limits of one `listener "tcp"` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerLimits {
    /// `max_request_size`: the largest request body, in bytes; a bigger one is answered 413
    /// before it is read, as in Vault. `None` when configured negative (no limit, as in Vault;
    /// the HTTP layer still holds bodies in memory and caps them at 1 GiB). Zero means the
    /// default, 32 MiB. Snapshot restores are exempt, as in Vault (their archive is the body).
    pub max_request_size: Option<u64>,
    /// `http_read_header_timeout` (default 10s): the time a client has to send a request's
    /// headers, counted from its first byte (from the connection's start for the first
    /// request); also the time a TLS handshake may take. Zero: no limit.
    pub read_header_timeout: Duration,
    /// `http_read_timeout` (default 30s): the time the request body may take to arrive once
    /// the headers are in. Zero: no limit.
    pub read_timeout: Duration,
    /// `http_idle_timeout` (default 5m): how long a kept-alive connection may wait for its next
    /// request. Zero: no limit.
    pub idle_timeout: Duration,
    /// `max_connections` (Coffer's own key, default 4096): open connections the listener
    /// serves at once; further clients wait in the kernel's accept queue until one closes.
    pub max_connections: usize,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        ListenerLimits {
            max_request_size: Some(DEFAULT_MAX_REQUEST_SIZE),
            read_header_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(300),
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl ListenerLimits {
    /// Take `key` of a listener block if it is one of the limits: `Ok(true)` when it was.
    pub(crate) fn parse_key(&mut self, key: &str, v: &Value) -> Result<bool, ConfigError> {
        match key {
            "max_request_size" => {
                self.max_request_size = match integer(v, key)? {
                    n if n < 0 => None,
                    0 => Some(DEFAULT_MAX_REQUEST_SIZE),
                    n => Some(n.unsigned_abs()),
                }
            }
            "http_read_header_timeout" => self.read_header_timeout = duration(v, key)?,
            "http_read_timeout" => self.read_timeout = duration(v, key)?,
            "http_idle_timeout" => self.idle_timeout = duration(v, key)?,
            "max_connections" => {
                self.max_connections = usize::try_from(integer(v, key)?)
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| invalid(key, "a positive integer"))?
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// Raft storage's `max_entry_size`: a positive byte count up to [`MAX_ENTRY_SIZE_LIMIT`].
pub(crate) fn parse_max_entry_size(v: &Value) -> Result<u64, ConfigError> {
    let key = "max_entry_size";
    u64::try_from(integer(v, key)?)
        .ok()
        .filter(|n| (1..=MAX_ENTRY_SIZE_LIMIT).contains(n))
        .ok_or_else(|| {
            let what = format!("a positive integer, at most {MAX_ENTRY_SIZE_LIMIT}");
            invalid(key, &what)
        })
}

fn invalid(key: &str, what: &str) -> ConfigError {
    ConfigError::Invalid(format!("{key} must be {what}"))
}

/// An integer, as a number or a string (Vault's HCL examples use both).
fn integer(v: &Value, key: &str) -> Result<i64, ConfigError> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| invalid(key, "an integer"))
}

/// A duration: `"10s"`, `"5m"`, or a number of seconds.
fn duration(v: &Value, key: &str) -> Result<Duration, ConfigError> {
    let secs = match v {
        Value::Number(n) => n.as_u64().ok_or_else(|| invalid(key, "a duration"))?,
        Value::String(s) => crate::duration::parse_secs(s)
            .map_err(|e| ConfigError::Invalid(format!("{key}: {e}")))?,
        _ => return Err(invalid(key, "a duration")),
    };
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(pairs: &[(&str, Value)]) -> Result<ListenerLimits, ConfigError> {
        let mut limits = ListenerLimits::default();
        for (k, v) in pairs {
            assert!(limits.parse_key(k, v)?, "{k} is a limit");
        }
        Ok(limits)
    }

    #[test]
    fn defaults_are_vaults() {
        let d = ListenerLimits::default();
        assert_eq!(d.max_request_size, Some(33_554_432));
        assert_eq!(d.read_header_timeout, Duration::from_secs(10));
        assert_eq!(d.read_timeout, Duration::from_secs(30));
        assert_eq!(d.idle_timeout, Duration::from_secs(300));
        assert_eq!(DEFAULT_MAX_ENTRY_SIZE, 1_048_576);
    }

    #[test]
    fn max_request_size_zero_is_the_default_and_negative_disables_it() {
        let size = |v: Value| parsed(&[("max_request_size", v)]).unwrap().max_request_size;
        assert_eq!(size(json!(1048576)), Some(1 << 20));
        assert_eq!(size(json!("2048")), Some(2048));
        assert_eq!(size(json!(0)), Some(DEFAULT_MAX_REQUEST_SIZE));
        assert_eq!(size(json!(-1)), None);
        assert!(parsed(&[("max_request_size", json!("lots"))]).is_err());
    }

    #[test]
    fn timeouts_take_durations_or_seconds() {
        let l = parsed(&[
            ("http_read_header_timeout", json!("1s")),
            ("http_read_timeout", json!(7)),
            ("http_idle_timeout", json!("2m")),
            ("max_connections", json!("16")),
        ])
        .unwrap();
        assert_eq!(l.read_header_timeout, Duration::from_secs(1));
        assert_eq!(l.read_timeout, Duration::from_secs(7));
        assert_eq!(l.idle_timeout, Duration::from_secs(120));
        assert_eq!(l.max_connections, 16);
        assert!(parsed(&[("http_idle_timeout", json!("soon"))]).is_err());
        assert!(parsed(&[("max_connections", json!(0))]).is_err());
        let mut l = ListenerLimits::default();
        assert!(!l.parse_key("address", &json!("x")).unwrap());
    }

    #[test]
    fn max_entry_size_is_a_positive_byte_count() {
        assert_eq!(parse_max_entry_size(&json!("2097152")).unwrap(), 2 << 20);
        assert!(parse_max_entry_size(&json!(0)).is_err());
        assert!(parse_max_entry_size(&json!(-5)).is_err());
        assert_eq!(
            parse_max_entry_size(&json!(16 << 20)).unwrap(),
            MAX_ENTRY_SIZE_LIMIT
        );
        assert!(
            parse_max_entry_size(&json!((16 << 20) + 1)).is_err(),
            "an entry too large to replicate in one message"
        );
    }
}
