//! Wall-clock time. Under simulation the clock is madsim's (deterministic, skewable); nothing on
//! a simulated path may read the OS clock directly.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The current wall-clock time.
pub fn now() -> SystemTime {
    #[cfg(madsim)]
    {
        madsim::time::TimeHandle::current().now_time()
    }
    #[cfg(not(madsim))]
    {
        SystemTime::now()
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
