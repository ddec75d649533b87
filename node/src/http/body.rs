//! Reading a request body within its listener's limits, before anything else looks at the
//! request (forwarding, authentication): a body over `max_request_size` is refused with Vault's
//! 413 as soon as its `Content-Length` says so, or as soon as that many bytes have arrived, and
//! a body that trickles in slower than `http_read_timeout` allows is refused with a 400.

use crate::error::ApiError;
use axum::body::{Body, Bytes};
use http::{HeaderMap, Method, Uri};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use std::time::Duration;

/// The ceiling on any body a node holds in memory, whatever the config says (a snapshot
/// restore is the big one).
pub const MAX_REQUEST_BODY_BYTES: u64 = 1 << 30;

/// Vault's message for a body over `max_request_size` (Go's `http.MaxBytesReader` error, as
/// Vault's JSON parsing wraps it).
pub const TOO_LARGE: &str = "failed to parse JSON input: http: request body too large";

/// The body limits of the listener a request came through; the listener puts them on each
/// request. A request without them (one a standby forwarded, whose own listener applied its
/// limits, or one the simulator hands the app) is held to [`MAX_REQUEST_BODY_BYTES`] only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// `max_request_size`; `None`: no limit but the ceiling.
    pub max_bytes: Option<u64>,
    /// `http_read_timeout`; zero: none.
    pub read_timeout: Duration,
}

/// The most bytes the body of `method uri` may have. Snapshot restores are exempt from
/// `max_request_size`, as in Vault (it restores from the unlimited original body): the archive
/// is the body.
pub fn limit_for(method: &Method, uri: &Uri, limits: Option<&BodyLimits>) -> u64 {
    let restore = matches!(*method, Method::POST | Method::PUT)
        && uri
            .path()
            .strip_prefix("/v1/")
            .is_some_and(|p| crate::sys_paths::is(p, |row| row.raw_body));
    let configured = match limits {
        Some(l) if !restore => l.max_bytes,
        _ => None,
    };
    configured.map_or(MAX_REQUEST_BODY_BYTES, |max| {
        max.min(MAX_REQUEST_BODY_BYTES)
    })
}

/// The `Content-Length` the client declared, if any.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The whole body, or why it was refused: 413 over `limit` (decided from `Content-Length`
/// before reading a byte when the client declared one), 400 when it does not arrive within
/// `read_timeout` or the client breaks off.
pub async fn read(
    headers: &HeaderMap,
    body: Body,
    limit: u64,
    read_timeout: Duration,
) -> Result<Bytes, ApiError> {
    if declared_length(headers).is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge(TOO_LARGE.into()));
    }
    let limited = Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX));
    let collected = if read_timeout.is_zero() {
        limited.collect().await
    } else {
        tokio::time::timeout(read_timeout, limited.collect())
            .await
            .map_err(|_| ApiError::bad("failed to parse JSON input: reading the body timed out"))?
    };
    match collected {
        Ok(all) => Ok(all.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(ApiError::PayloadTooLarge(TOO_LARGE.into())),
        Err(e) => Err(ApiError::bad(format!("failed to parse JSON input: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: BodyLimits = BodyLimits {
        max_bytes: Some(10),
        read_timeout: Duration::from_secs(5),
    };

    fn limit(method: Method, uri: &str, limits: Option<&BodyLimits>) -> u64 {
        limit_for(&method, &uri.parse().unwrap(), limits)
    }

    #[test]
    fn restores_and_unlimited_listeners_get_only_the_ceiling() {
        assert_eq!(limit(Method::PUT, "/v1/secret/a", Some(&LIMITS)), 10);
        assert_eq!(
            limit(Method::POST, "/v1/sys/storage/raft/snapshot", Some(&LIMITS)),
            MAX_REQUEST_BODY_BYTES
        );
        assert_eq!(
            limit(Method::GET, "/v1/sys/storage/raft/snapshot", Some(&LIMITS)),
            10
        );
        let unlimited = BodyLimits {
            max_bytes: None,
            ..LIMITS
        };
        assert_eq!(
            limit(Method::PUT, "/v1/a", Some(&unlimited)),
            MAX_REQUEST_BODY_BYTES
        );
        assert_eq!(limit(Method::PUT, "/v1/a", None), MAX_REQUEST_BODY_BYTES);
        let huge = BodyLimits {
            max_bytes: Some(u64::MAX),
            ..LIMITS
        };
        assert_eq!(
            limit(Method::PUT, "/v1/a", Some(&huge)),
            MAX_REQUEST_BODY_BYTES
        );
    }

    fn headers(length: Option<u64>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(n) = length {
            h.insert(http::header::CONTENT_LENGTH, n.into());
        }
        h
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_with_vaults_413() {
        let declared_ten = headers(Some(10));
        let at_limit = read(
            &declared_ten,
            Body::from(vec![b'x'; 10]),
            10,
            LIMITS.read_timeout,
        );
        assert_eq!(at_limit.await.unwrap().len(), 10);

        // Declared too long: refused without reading (this body never ends).
        let endless =
            Body::from_stream(futures::stream::pending::<Result<Bytes, std::io::Error>>());
        let declared = read(&headers(Some(11)), endless, 10, LIMITS.read_timeout).await;
        let e = declared.unwrap_err();
        assert_eq!(e.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(e.to_string(), TOO_LARGE);

        // Undeclared (chunked): refused once the bytes pass the limit.
        let undeclared = headers(None);
        let chunked = read(
            &undeclared,
            Body::from(vec![b'x'; 11]),
            10,
            LIMITS.read_timeout,
        );
        assert_eq!(
            chunked.await.unwrap_err().status(),
            http::StatusCode::PAYLOAD_TOO_LARGE
        );
    }

    #[tokio::test]
    async fn a_body_that_never_arrives_times_out() {
        let endless =
            Body::from_stream(futures::stream::pending::<Result<Bytes, std::io::Error>>());
        let e = read(&headers(Some(5)), endless, 10, Duration::from_millis(50))
            .await
            .unwrap_err();
        assert_eq!(e.status(), http::StatusCode::BAD_REQUEST);
    }
}
