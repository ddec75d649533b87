//! Rate limit quotas (Vault's `sys/quotas/rate-limit/<name>`): the stored rules, which one
//! governs a request, and a token bucket per quota. Stored behind the barrier under
//! `sys/quotas/` (`rate-limit/<name>`, `config`), so every node loads the same rules with its
//! active state; the buckets are this node's (only the active node serves, standbys forward).
//!
//! One quota governs a request, the most specific that matches, as in Vault: a quota on a path
//! inside a mount (longest first), then one on the request's mount, then the global one (empty
//! path). A request with no quota configured pays one atomic load (`Quotas::check`).

use crate::error::ApiError;
use crate::storage::StorageView;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

/// Where quotas live, relative to the barrier's root.
pub const QUOTAS_PREFIX: &str = "sys/quotas/";
const RATE_LIMIT_PREFIX: &str = "rate-limit/";
const CONFIG_KEY: &str = "config";

/// Paths no rate limit quota applies to (Vault's defaults, always exempt).
const DEFAULT_EXEMPT: &[&str] = &[
    "sys/generate-recovery-token/attempt",
    "sys/generate-recovery-token/update",
    "sys/generate-root/attempt",
    "sys/generate-root/update",
    "sys/health",
    "sys/seal-status",
    "sys/unseal",
];

/// One rate limit quota as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimit {
    pub name: String,
    /// `""` (global), `<mount>/` or `<mount>/<path prefix>`.
    pub path: String,
    /// Requests allowed per `interval_secs`.
    pub rate: f64,
    pub interval_secs: u64,
    /// Once exceeded, every request is refused for this long (0: only until tokens refill).
    pub block_interval_secs: u64,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub inheritable: bool,
}

/// `sys/quotas/config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QuotaConfig {
    #[serde(default)]
    pub rate_limit_exempt_paths: Vec<String>,
    #[serde(default)]
    pub enable_rate_limit_audit_logging: bool,
    #[serde(default)]
    pub enable_rate_limit_response_headers: bool,
}

/// A token bucket: `rate` tokens per interval, refilled continuously, at most `rate` (and at
/// least one) held.
#[derive(Debug, Clone, Default)]
struct Bucket {
    tokens: f64,
    last_ms: i64,
    blocked_until_ms: i64,
}

impl Bucket {
    fn full(quota: &RateLimit, now_ms: i64) -> Bucket {
        Bucket {
            tokens: capacity(quota),
            last_ms: now_ms,
            blocked_until_ms: 0,
        }
    }

    /// Take one token at `now_ms`; false when the quota refuses the request.
    fn take(&mut self, quota: &RateLimit, now_ms: i64) -> bool {
        if now_ms < self.blocked_until_ms {
            return false;
        }
        // A clock that stepped back refills nothing (and never drains).
        let elapsed_ms = (now_ms - self.last_ms).max(0) as f64;
        let per_ms = quota.rate / (quota.interval_secs.max(1) as f64 * 1000.0);
        self.tokens = (self.tokens + elapsed_ms * per_ms).min(capacity(quota));
        self.last_ms = now_ms.max(self.last_ms);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return true;
        }
        if quota.block_interval_secs > 0 {
            let block_ms = i64::try_from(quota.block_interval_secs.saturating_mul(1000));
            self.blocked_until_ms = now_ms.saturating_add(block_ms.unwrap_or(i64::MAX));
        }
        false
    }
}

fn capacity(quota: &RateLimit) -> f64 {
    quota.rate.max(1.0)
}

/// Whether `pattern` (exact, or a prefix ending in `*`) covers `path`.
fn covers(pattern: &str, path: &str) -> bool {
    let pattern = pattern.trim_start_matches('/');
    let pattern = pattern.strip_prefix("v1/").unwrap_or(pattern);
    match pattern.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix),
        None => path.trim_end_matches('/') == pattern.trim_end_matches('/'),
    }
}

/// Which quota governs a request to `path` served by the mount at `mount` (`kv/`,
/// `auth/userpass/`, `sys/`); `None` when the path is exempt or nothing matches.
pub fn governing<'a>(
    quotas: impl IntoIterator<Item = &'a RateLimit>,
    config: &QuotaConfig,
    path: &str,
    mount: &str,
) -> Option<&'a RateLimit> {
    let exempt = DEFAULT_EXEMPT.iter().copied();
    let configured = config.rate_limit_exempt_paths.iter().map(String::as_str);
    if exempt.chain(configured).any(|p| covers(p, path)) {
        return None;
    }
    let mut best: Option<(usize, &RateLimit)> = None;
    for quota in quotas {
        let rank = if quota.path.is_empty() {
            Some(0)
        } else if quota.path == mount {
            Some(1)
        } else if quota.path.len() > mount.len() && path.starts_with(&quota.path) {
            Some(1 + quota.path.len())
        } else {
            None
        };
        if let Some(rank) = rank {
            if best.is_none_or(|(b, _)| rank > b) {
                best = Some((rank, quota));
            }
        }
    }
    best.map(|(_, q)| q)
}

#[derive(Default)]
struct State {
    quotas: BTreeMap<String, RateLimit>,
    buckets: BTreeMap<String, Bucket>,
    config: QuotaConfig,
}

/// The quotas of this node's active state, with their buckets.
#[derive(Default)]
pub struct Quotas {
    /// Whether any quota exists: the whole cost of `check` when none does.
    any: AtomicBool,
    state: Mutex<State>,
}

impl Quotas {
    /// The quotas and config stored under `view` (the barrier's root).
    pub async fn load(view: &StorageView) -> Result<Quotas, ApiError> {
        let view = view.sub(QUOTAS_PREFIX);
        let mut state = State {
            config: view.get_json(CONFIG_KEY).await?.unwrap_or_default(),
            ..State::default()
        };
        for name in view.list(RATE_LIMIT_PREFIX).await? {
            if let Some(q) = view
                .get_json::<RateLimit>(&format!("{RATE_LIMIT_PREFIX}{name}"))
                .await?
            {
                state.quotas.insert(q.name.clone(), q);
            }
        }
        let quotas = Quotas::default();
        quotas
            .any
            .store(!state.quotas.is_empty(), Ordering::Release);
        *quotas.state.lock() = state;
        Ok(quotas)
    }

    /// Refuse `path` (served by `mount`) with Vault's 429 when its quota is exhausted.
    pub fn check(&self, path: &str, mount: &str) -> Result<(), ApiError> {
        if !self.any.load(Ordering::Acquire) {
            return Ok(());
        }
        let now_ms = crate::clock::unix_now_ms();
        let mut state = self.state.lock();
        let State {
            quotas,
            buckets,
            config,
        } = &mut *state;
        let Some(quota) = governing(quotas.values(), config, path, mount) else {
            return Ok(());
        };
        let bucket = buckets
            .entry(quota.name.clone())
            .or_insert_with(|| Bucket::full(quota, now_ms));
        if bucket.take(quota, now_ms) {
            return Ok(());
        }
        Err(ApiError::TooManyRequests(format!(
            "request path {path:?}: rate limit quota exceeded"
        )))
    }

    pub fn get(&self, name: &str) -> Option<RateLimit> {
        self.state.lock().quotas.get(name).cloned()
    }

    pub fn names(&self) -> Vec<String> {
        self.state.lock().quotas.keys().cloned().collect()
    }

    pub fn all(&self) -> Vec<RateLimit> {
        self.state.lock().quotas.values().cloned().collect()
    }

    pub fn config(&self) -> QuotaConfig {
        self.state.lock().config.clone()
    }

    /// Store `quota` (replacing one of the same name, whose bucket starts full again).
    pub async fn put(&self, view: &StorageView, quota: RateLimit) -> Result<(), ApiError> {
        let key = format!("{QUOTAS_PREFIX}{RATE_LIMIT_PREFIX}{}", quota.name);
        view.put_json(&key, &quota).await?;
        let mut state = self.state.lock();
        state.buckets.remove(&quota.name);
        state.quotas.insert(quota.name.clone(), quota);
        self.any.store(true, Ordering::Release);
        Ok(())
    }

    pub async fn delete(&self, view: &StorageView, name: &str) -> Result<(), ApiError> {
        view.delete(&format!("{QUOTAS_PREFIX}{RATE_LIMIT_PREFIX}{name}"))
            .await?;
        let mut state = self.state.lock();
        state.quotas.remove(name);
        state.buckets.remove(name);
        self.any.store(!state.quotas.is_empty(), Ordering::Release);
        Ok(())
    }

    pub async fn set_config(
        &self,
        view: &StorageView,
        config: QuotaConfig,
    ) -> Result<(), ApiError> {
        view.put_json(&format!("{QUOTAS_PREFIX}{CONFIG_KEY}"), &config)
            .await?;
        self.state.lock().config = config;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(name: &str, path: &str, rate: f64) -> RateLimit {
        RateLimit {
            name: name.into(),
            path: path.into(),
            rate,
            interval_secs: 1,
            block_interval_secs: 0,
            role: String::new(),
            inheritable: false,
        }
    }

    #[test]
    fn the_most_specific_quota_governs_and_exempt_paths_have_none() {
        let all = [
            quota("g", "", 1.0),
            quota("m", "kv/", 1.0),
            quota("p", "kv/app/", 1.0),
        ];
        let config = QuotaConfig::default();
        let pick = |path, mount| governing(&all, &config, path, mount).map(|q| q.name.as_str());
        assert_eq!(pick("kv/app/db", "kv/"), Some("p"));
        assert_eq!(pick("kv/other", "kv/"), Some("m"));
        assert_eq!(pick("sys/mounts", "sys/"), Some("g"));
        assert_eq!(pick("sys/health", "sys/"), None);
        let config = QuotaConfig {
            rate_limit_exempt_paths: vec!["kv/*".into()],
            ..QuotaConfig::default()
        };
        assert_eq!(governing(&all, &config, "kv/app/db", "kv/"), None);
    }

    #[test]
    fn a_bucket_refills_at_the_rate_and_a_block_outlasts_it() {
        let mut q = quota("q", "", 2.0);
        q.interval_secs = 10;
        let mut b = Bucket::full(&q, 0);
        assert!(b.take(&q, 0) && b.take(&q, 0));
        assert!(!b.take(&q, 1000), "0.2 tokens after a second");
        assert!(b.take(&q, 5500), "a token after five and a half seconds");
        q.block_interval_secs = 60;
        assert!(!b.take(&q, 5501));
        assert!(!b.take(&q, 30_000), "still blocked though tokens refilled");
        assert!(b.take(&q, 65_502));
        q.block_interval_secs = 0;
        let mut b = Bucket::full(&q, 10_000);
        assert!(b.take(&q, 10_000));
        assert!(b.take(&q, 5_000), "a clock stepping back drains nothing");
        assert!(!b.take(&q, 9_000), "nor refills anything");
    }
}
