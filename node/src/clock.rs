//! Wall-clock time. Under simulation the clock is madsim's (deterministic, skewable); nothing on
//! a simulated path may read the OS clock directly.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The current wall-clock time.
pub fn now() -> SystemTime {
    #[cfg(madsim)]
    {
        // Plain unit tests of the simulation build run outside any simulated world: they get
        // the OS clock, as they would in the normal build.
        if madsim::runtime::Handle::try_current().is_err() {
            return SystemTime::now();
        }
        let now = madsim::time::TimeHandle::current().now_time();
        let skew = skews()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&madsim::plugin::node())
            .copied()
            .unwrap_or(0);
        if skew >= 0 {
            now + Duration::from_millis(skew as u64)
        } else {
            now - Duration::from_millis(skew.unsigned_abs())
        }
    }
    #[cfg(not(madsim))]
    {
        SystemTime::now()
    }
}

/// Each simulated host's clock skew in milliseconds (positive: ahead), set by the simulator.
#[cfg(madsim)]
fn skews() -> &'static std::sync::Mutex<std::collections::HashMap<madsim::task::NodeId, i64>> {
    static SKEWS: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<madsim::task::NodeId, i64>>,
    > = std::sync::OnceLock::new();
    SKEWS.get_or_init(Default::default)
}

/// Skew the wall clock of simulated host `node` by `skew_ms` (positive: ahead; 0: none). Only
/// the wall clock moves: timers and Raft's monotonic clock do not, as with NTP skew.
#[cfg(madsim)]
pub fn set_skew(node: madsim::task::NodeId, skew_ms: i64) {
    let mut skews = skews().lock().unwrap_or_else(|e| e.into_inner());
    if skew_ms == 0 {
        skews.remove(&node);
    } else {
        skews.insert(node, skew_ms);
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs() as i64
}

/// Milliseconds since the Unix epoch.
pub fn unix_now_ms() -> i64 {
    now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as i64
}

/// Format a time as Vault does: RFC 3339 with nanoseconds, UTC (`2024-01-01T00:00:00.123456789Z`).
pub fn rfc3339(t: SystemTime) -> String {
    let dt = time::OffsetDateTime::from(t);
    dt.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

/// `rfc3339(now())`
pub fn now_rfc3339() -> String {
    rfc3339(now())
}

/// Parse an RFC 3339 time as written by `rfc3339`.
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(SystemTime::from)
}
