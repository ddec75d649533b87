//! Durations as Vault's `parseutil.ParseDurationSecond` reads them: a bare
//! number is seconds, `"7d"` is days, anything else is a Go duration such as
//! `"1h30m"` or `"1.5s"`.

use std::time::Duration;

use serde_json::Value;

/// Reads a duration from a number (seconds) or a string.
pub(crate) fn parse_duration_value(value: &Value) -> Result<Duration, String> {
    match value {
        Value::Number(n) => n
            .as_f64()
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
            .ok_or_else(|| format!("invalid duration {n}")),
        Value::String(s) => parse_duration_str(s),
        other => Err(format!("could not parse duration from {other}")),
    }
}

/// Reads a duration from its string form.
pub(crate) fn parse_duration_str(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Duration::ZERO);
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    if let Some(days) = text.strip_suffix('d').and_then(|d| d.parse::<u64>().ok()) {
        return Ok(Duration::from_secs(days.saturating_mul(86_400)));
    }
    go_duration(text).ok_or_else(|| format!("time: invalid duration {text:?}"))
}

/// Go's `time.ParseDuration` for non-negative values: one or more
/// `<decimal><unit>` pairs.
fn go_duration(text: &str) -> Option<Duration> {
    let mut rest = text;
    let mut secs = 0f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        secs += number * unit_seconds(&rest[..unit_len])?;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(secs).ok()
}

fn unit_seconds(unit: &str) -> Option<f64> {
    Some(match unit {
        "ns" => 1e-9,
        "us" | "µs" | "μs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_vault_forms() {
        let secs = |s| Duration::from_secs(s);
        assert_eq!(parse_duration_str("300"), Ok(secs(300)));
        assert_eq!(parse_duration_str("5m"), Ok(secs(300)));
        assert_eq!(parse_duration_str("1h30m"), Ok(secs(5400)));
        assert_eq!(parse_duration_str("2d"), Ok(secs(172_800)));
        assert_eq!(parse_duration_str("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration_str(""), Ok(Duration::ZERO));
        assert_eq!(parse_duration_value(&json!(90)), Ok(secs(90)));
        assert_eq!(parse_duration_value(&json!("90s")), Ok(secs(90)));
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_duration_str("soon").is_err());
        assert!(parse_duration_str("5x").is_err());
        assert!(parse_duration_str("h").is_err());
        assert!(parse_duration_value(&json!(-1)).is_err());
        assert!(parse_duration_value(&json!(true)).is_err());
    }
}
