//! Vault durations: accepted as `"1h"`, `"30m"`, `"1h30m"`, `"90s"` or plain seconds (`3600`,
//! `"3600"`); returned as whole seconds, or formatted the way Go prints a `time.Duration`.

use serde_json::Value;

/// The longest duration accepted, in seconds: Go's `time.Duration` limit (about 292 years,
/// `2562047h47m16s`), past which Vault answers "invalid duration". Keeping every duration under
/// it keeps every `now + duration` in milliseconds far from overflowing.
pub const MAX_SECS: u64 = i64::MAX as u64 / 1_000_000_000;

fn bounded(secs: u64, shown: &str) -> Result<u64, String> {
    if secs > MAX_SECS {
        return Err(format!(
            "time: invalid duration \"{shown}\": longer than the maximum of 2562047h47m16s"
        ));
    }
    Ok(secs)
}

/// Parse a duration string to whole seconds (at most [`MAX_SECS`]).
pub fn parse_secs(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(0);
    }
    if let Ok(n) = s.parse::<u64>() {
        return bounded(n, s);
    }
    // Go accepts "d"? Vault does (parseutil): days.
    if let Some(days) = s.strip_suffix('d').and_then(|d| d.parse::<u64>().ok()) {
        return bounded(days.saturating_mul(86_400), s);
    }
    match humantime::parse_duration(s) {
        Ok(d) => bounded(d.as_secs(), s),
        Err(humantime::DurationError::NumberOverflow) => bounded(u64::MAX, s),
        Err(_) => Err(format!("time: invalid duration \"{s}\"")),
    }
}

/// Parse a duration that may be negative (`"-1s"`: KV's "disabled" marker).
pub fn parse_signed_secs(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let secs = parse_secs(body).map_err(|_| format!("time: invalid duration \"{s}\""))?;
    let secs = i64::try_from(secs).map_err(|_| format!("duration \"{s}\" is too large"))?;
    Ok(if negative { -secs } else { secs })
}

/// Parse a JSON field that may be a number of seconds or a duration string.
pub fn from_value(v: &Value) -> Result<u64, String> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .ok_or_else(|| "duration must not be negative".to_string())
            .and_then(|secs| bounded(secs, &n.to_string())),
        Value::String(s) => parse_secs(s),
        Value::Null => Ok(0),
        _ => Err("duration must be a string or a number".to_string()),
    }
}

/// Format seconds as Go's `time.Duration.String()` does: `0s`, `90s` → `1m30s`, `1h0m0s`.
pub fn go_format(secs: u64) -> String {
    go_format_signed(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// `go_format` for a possibly negative duration (`-1s`).
pub fn go_format_signed(secs: i64) -> String {
    let sign = if secs < 0 { "-" } else { "" };
    let abs = secs.unsigned_abs();
    let (h, m, s) = (abs / 3600, (abs % 3600) / 60, abs % 60);
    if h > 0 {
        format!("{sign}{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{sign}{m}m{s}s")
    } else {
        format!("{sign}{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vault_forms() {
        assert_eq!(parse_secs("1h").unwrap(), 3600);
        assert_eq!(parse_secs("30m").unwrap(), 1800);
        assert_eq!(parse_secs("1h30m").unwrap(), 5400);
        assert_eq!(parse_secs("45").unwrap(), 45);
        assert_eq!(parse_secs("768h").unwrap(), 768 * 3600);
        assert_eq!(parse_secs("2d").unwrap(), 172_800);
        assert!(parse_secs("soon").is_err());
        assert_eq!(from_value(&serde_json::json!(60)).unwrap(), 60);
        assert_eq!(from_value(&serde_json::json!("2m")).unwrap(), 120);
        assert!(from_value(&serde_json::json!(true)).is_err());
    }

    #[test]
    fn absurd_durations_are_refused_not_overflowed() {
        assert_eq!(parse_secs("2562047h").unwrap(), 2_562_047 * 3600);
        for absurd in [
            "999999999999999h",
            "99999999999999999999h",
            "9999999999999999d",
            "18446744073709551615",
        ] {
            let err = parse_secs(absurd).unwrap_err();
            assert!(err.contains("invalid duration"), "{absurd}: {err}");
        }
        assert!(from_value(&serde_json::json!(u64::MAX)).is_err());
        assert!(from_value(&serde_json::json!(1e300)).is_err());
        assert_eq!(from_value(&serde_json::json!(MAX_SECS)).unwrap(), MAX_SECS);
    }

    #[test]
    fn formats_like_go() {
        assert_eq!(go_format(0), "0s");
        assert_eq!(go_format(90), "1m30s");
        assert_eq!(go_format(3600), "1h0m0s");
        assert_eq!(go_format(12319), "3h25m19s");
        assert_eq!(go_format_signed(-1), "-1s");
        assert_eq!(parse_signed_secs("-1s").unwrap(), -1);
    }

    #[test]
    fn huge_day_counts_are_an_error_not_an_overflow() {
        assert!(parse_secs("213503982334602d").is_err());
        assert_eq!(parse_secs("2d"), Ok(172_800));
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// Near-valid durations: numbers with Go/humantime units, combined, signed, padded.
    fn near_valid() -> impl Strategy<Value = String> {
        let unit = prop::sample::select(vec!["", "s", "m", "h", "d", "ms", "us", "ns", "w", "x"]);
        let part = (any::<u64>(), unit).prop_map(|(n, u)| format!("{n}{u}"));
        (
            prop::sample::select(vec!["", "-", " ", "+"]),
            prop::collection::vec(part, 0..4),
        )
            .prop_map(|(sign, parts)| format!("{sign}{}", parts.join("")))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 10000, ..ProptestConfig::default() })]

        #[test]
        fn fuzz_duration(
            secs in any::<u64>(),
            signed in any::<i64>(),
            junk in any::<String>(),
            near in near_valid(),
        ) {
            // Go's format parses back to the same seconds, signed and unsigned, up to Go's
            // limit (`MAX_SECS`); past it, a clear error and never a wrapped value.
            let capped = secs.min(MAX_SECS);
            prop_assert_eq!(parse_secs(&go_format(capped)), Ok(capped));
            let max = MAX_SECS as i64;
            let clamped = signed.clamp(-max, max);
            prop_assert_eq!(parse_signed_secs(&go_format_signed(clamped)), Ok(clamped));
            if signed.unsigned_abs() > MAX_SECS {
                prop_assert!(parse_signed_secs(&go_format_signed(signed)).is_err());
            }
            if secs <= MAX_SECS {
                prop_assert_eq!(parse_secs(&secs.to_string()), Ok(secs));
            } else {
                prop_assert!(parse_secs(&secs.to_string()).is_err());
            }
            // Anything else: an answer, never a panic.
            for s in [&junk, &near] {
                let _ = parse_secs(s);
                let _ = parse_signed_secs(s);
                let _ = from_value(&Value::String(s.clone()));
            }
        }
    }
}
