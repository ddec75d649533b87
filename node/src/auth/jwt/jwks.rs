//! Remote keys: a JWKS URL, or an OIDC discovery URL whose
//! `/.well-known/openid-configuration` names the JWKS (`jwks_uri`), fetched over the node's
//! HTTP client (`api_client`, TLS verified against the configured CA) and cached in memory per
//! mount and URL for [`TTL_MS`]. A token whose kid the cached set lacks forces one refetch (a
//! key rotated at the provider is picked up), at most once per [`REFETCH_MIN_MS`] per mount.

use super::keys::{self, Key};
use crate::api_client::{call_json, ApiCall};
use parking_lot::Mutex;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How long fetched keys are used before they are fetched again.
pub const TTL_MS: i64 = 5 * 60 * 1000;
/// The least time between two fetches of one mount's keys forced by unknown kids.
pub const REFETCH_MIN_MS: i64 = 5_000;
/// How long one fetch may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Why keys could not be fetched. None of these carry a token.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FetchError {
    #[error("invalid URL {0:?}: it must be an http:// or https:// URL")]
    Url(String),
    #[error("fetching {url}: {reason}")]
    Call { url: String, reason: String },
    #[error("fetching {url}: the server answered {status}")]
    Status { url: String, status: u16 },
    #[error("{0}")]
    Document(String),
}

/// `https://host:port/path?q` → (`https://host:port`, `/path?q`).
fn split_url(url: &str) -> Result<(String, String), FetchError> {
    let bad = || FetchError::Url(url.to_string());
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(bad)?;
    let scheme_len = url.len() - rest.len();
    let (authority, path) = match rest.find(['/', '?']) {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(bad());
    }
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    Ok((url[..scheme_len + authority.len()].to_string(), path))
}

async fn get_json(url: &str, ca_pem: &str) -> Result<Value, FetchError> {
    let (origin, path) = split_url(url)?;
    let call = ApiCall {
        method: "GET",
        uri_path: &path,
        token: None,
        bearer: None,
        body: None,
    };
    let ca = (!ca_pem.trim().is_empty()).then_some(ca_pem);
    let failed = |reason: String| FetchError::Call {
        url: url.to_string(),
        reason,
    };
    let (status, body) = tokio::time::timeout(CALL_TIMEOUT, call_json(&origin, call, ca))
        .await
        .map_err(|_| failed("timed out".into()))?
        .map_err(|e| failed(e.to_string()))?;
    if !(200..300).contains(&status) {
        return Err(FetchError::Status {
            url: url.to_string(),
            status,
        });
    }
    Ok(body)
}

/// The keys of the JWKS at `url`.
pub async fn fetch_jwks(url: &str, ca_pem: &str) -> Result<Vec<Key>, FetchError> {
    let doc = get_json(url, ca_pem).await?;
    keys::from_jwks(&doc).map_err(|e| FetchError::Document(format!("{url}: {e}")))
}

/// The `jwks_uri` an OIDC provider publishes; its `issuer` must be the discovery URL.
pub async fn discover(url: &str, ca_pem: &str) -> Result<String, FetchError> {
    let issuer = url.trim_end_matches('/');
    let well_known = format!("{issuer}/.well-known/openid-configuration");
    let doc = get_json(&well_known, ca_pem).await?;
    let named = doc["issuer"].as_str().unwrap_or_default();
    if named != url {
        return Err(FetchError::Document(format!(
            "oidc: issuer did not match the issuer returned by provider, expected {url:?} got {named:?}"
        )));
    }
    doc["jwks_uri"]
        .as_str()
        .filter(|u| !u.is_empty())
        .map(String::from)
        .ok_or_else(|| FetchError::Document(format!("{well_known}: no jwks_uri")))
}

/// Where a mount's remote keys are: a JWKS URL or a discovery URL, with the CA for both.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Remote<'a> {
    Jwks { url: &'a str, ca_pem: &'a str },
    Discovery { url: &'a str, ca_pem: &'a str },
}

impl Remote<'_> {
    fn url(&self) -> &str {
        match self {
            Remote::Jwks { url, .. } | Remote::Discovery { url, .. } => url,
        }
    }

    /// Fetch the keys now (a discovery URL: its document, then its JWKS).
    pub async fn fetch(&self) -> Result<Vec<Key>, FetchError> {
        match *self {
            Remote::Jwks { url, ca_pem } => fetch_jwks(url, ca_pem).await,
            Remote::Discovery { url, ca_pem } => {
                let jwks = discover(url, ca_pem).await?;
                fetch_jwks(&jwks, ca_pem).await
            }
        }
    }
}

struct Cached {
    keys: Arc<Vec<Key>>,
    fetched_ms: i64,
    /// When an unknown kid last forced a fetch (those are rate-limited; the first one after a
    /// rotation always goes through).
    forced_ms: Option<i64>,
}

/// Keys by `<mount uuid>|<url>`.
fn cache() -> &'static Mutex<HashMap<String, Cached>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Cached>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The mount's keys: cached ones while fresh, unless `refetch` (a token named a kid they lack)
/// and no other unknown kid forced a fetch in the last [`REFETCH_MIN_MS`]. When a fetch fails and keys were cached,
/// those are kept (and not fetched again for a while): a provider that is down for a moment does
/// not stop logins.
pub async fn keys_for(
    mount_uuid: &str,
    remote: Remote<'_>,
    refetch: bool,
    now_ms: i64,
) -> Result<Arc<Vec<Key>>, FetchError> {
    let slot = format!("{mount_uuid}|{}", remote.url());
    let cached = cache().lock().get(&slot).map(|c| {
        let age = now_ms - c.fetched_ms;
        let fresh = (0..TTL_MS).contains(&age);
        let forced_lately = c
            .forced_ms
            .is_some_and(|f| (0..REFETCH_MIN_MS).contains(&(now_ms - f)));
        (
            c.keys.clone(),
            fresh && (!refetch || forced_lately),
            c.forced_ms,
        )
    });
    let forced_before = cached.as_ref().and_then(|c| c.2);
    let cached = cached.map(|(keys, serve, _)| (keys, serve));
    if let Some((keys, true)) = &cached {
        return Ok(keys.clone());
    }
    let keys = match (remote.fetch().await, cached) {
        (Ok(fetched), _) => Arc::new(fetched),
        (Err(e), Some((old, _))) => {
            tracing::warn!(url = %remote.url(), error = %e, "jwt auth: keeping the cached keys");
            old
        }
        (Err(e), None) => return Err(e),
    };
    cache().lock().insert(
        slot,
        Cached {
            keys: keys.clone(),
            fetched_ms: now_ms,
            forced_ms: if refetch { Some(now_ms) } else { forced_before },
        },
    );
    Ok(keys)
}

/// Drop a mount's cached keys (its config was written).
pub fn forget(mount_uuid: &str) {
    let prefix = format!("{mount_uuid}|");
    cache().lock().retain(|k, _| !k.starts_with(&prefix));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_origin_and_path() {
        assert_eq!(
            split_url("https://idp.example:8443/keys.json?x=1").unwrap(),
            ("https://idp.example:8443".into(), "/keys.json?x=1".into())
        );
        assert_eq!(
            split_url("http://127.0.0.1:9").unwrap(),
            ("http://127.0.0.1:9".into(), "/".into())
        );
        assert_eq!(
            split_url("https://h?q").unwrap(),
            ("https://h".into(), "/?q".into())
        );
        assert!(split_url("ftp://h/x").is_err());
        assert!(split_url("https:///x").is_err());
        assert!(split_url("https://user@h/x").is_err());
    }

    #[tokio::test]
    async fn cached_keys_are_served_until_stale_and_refetches_are_rate_limited() {
        // Port 9 on loopback refuses: a fetch fails and keeps the cached keys, restamped.
        let remote = Remote::Jwks {
            url: "http://127.0.0.1:9/keys",
            ca_pem: "",
        };
        let slot = "m-cache|http://127.0.0.1:9/keys".to_string();
        let stamp = || cache().lock().get(&slot).map(|c| c.fetched_ms);
        let t0 = 1_000_000;
        cache().lock().insert(
            slot.clone(),
            Cached {
                keys: Arc::new(Vec::new()),
                fetched_ms: t0,
                forced_ms: None,
            },
        );
        let at = |refetch, now| keys_for("m-cache", remote, refetch, now);
        assert!(at(false, t0 + TTL_MS - 1).await.is_ok());
        assert_eq!(stamp(), Some(t0), "served from the cache");
        assert!(at(true, t0 + 1).await.is_ok());
        assert_eq!(
            stamp(),
            Some(t0 + 1),
            "the first unknown kid forces a fetch at once"
        );
        assert!(at(true, t0 + REFETCH_MIN_MS).await.is_ok());
        assert_eq!(
            stamp(),
            Some(t0 + 1),
            "a second one within the limit is served from the cache"
        );
        let t1 = t0 + 1 + REFETCH_MIN_MS;
        assert!(at(true, t1).await.is_ok());
        assert_eq!(
            stamp(),
            Some(t1),
            "past the limit an unknown kid forces a fetch again"
        );
        assert!(at(false, t1 + TTL_MS).await.is_ok());
        assert_eq!(stamp(), Some(t1 + TTL_MS), "stale keys were refetched");
        forget("m-cache");
        assert!(stamp().is_none());
        assert!(at(false, t0).await.is_err(), "nothing cached: the error");
    }
}
