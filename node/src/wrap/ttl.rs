//! `X-Vault-Wrap-TTL`: `"60s"`, `"5m"`, or whole seconds. Absent or zero: no wrapping.

use crate::error::ApiError;
use crate::request::Request;

/// The header's name, lower-case, as `http/parse.rs` keeps it.
pub const HEADER: &str = "x-vault-wrap-ttl";

/// The wrapping TTL a request asks for, in seconds; a malformed header is a 400.
pub fn requested_ttl(req: &Request) -> Result<Option<u64>, ApiError> {
    let Some(raw) = req.headers.get(HEADER) else {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Operation;

    fn with(value: &str) -> Request {
        let mut req = Request::new(Operation::Read, "secret/x");
        req.headers.insert(HEADER.into(), value.into());
        req
    }

    #[test]
    fn parses_vault_durations() {
        assert_eq!(requested_ttl(&with("60s")).unwrap(), Some(60));
        assert_eq!(requested_ttl(&with("5m")).unwrap(), Some(300));
        assert_eq!(requested_ttl(&with("90")).unwrap(), Some(90));
        assert_eq!(requested_ttl(&with("0")).unwrap(), None);
        assert_eq!(
            requested_ttl(&Request::new(Operation::Read, "x")).unwrap(),
            None
        );
        assert!(requested_ttl(&with("soon")).is_err());
        assert!(requested_ttl(&with("-5s")).is_err());
    }
}
