//! CLI output: `-format=json` prints the API's JSON; `table` prints Vault's two-column table.

use serde_json::Value;

/// `table` or `json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

impl Format {
    /// From `-format` or `VAULT_FORMAT`.
    pub fn parse(flag: Option<&str>) -> Result<Format, String> {
        let value = flag
            .map(str::to_string)
            .or_else(|| std::env::var("VAULT_FORMAT").ok())
            .unwrap_or_else(|| "table".into());
        match value.as_str() {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            other => Err(format!("Invalid output format: {other}")),
        }
    }
}

/// A value as the table shows it: strings bare, lists as `[a b]`, maps as `map[k:v]`.
pub fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "n/a".into(),
        Value::Array(items) => {
            format!("[{}]", items.iter().map(cell).collect::<Vec<_>>().join(" "))
        }
        Value::Object(m) => format!(
            "map[{}]",
            m.iter()
                .map(|(k, v)| format!("{k}:{}", cell(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        other => other.to_string(),
    }
}

/// Print rows as a `Key  Value` table.
pub fn table(rows: &[(String, String)], headers: (&str, &str)) {
    let width = rows
        .iter()
        .map(|(k, _)| k.len())
        .chain([headers.0.len()])
        .max()
        .unwrap_or(0);
    println!("{:<width$}    {}", headers.0, headers.1);
    println!(
        "{:<width$}    {}",
        "-".repeat(headers.0.len()),
        "-".repeat(headers.1.len())
    );
    for (k, v) in rows {
        println!("{k:<width$}    {v}");
    }
}

/// Print JSON the way Vault's CLI does (indented).
pub fn json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// Print a secret-shaped response (`data`, `auth`, lease fields) in the chosen format.
pub fn secret(format: Format, body: &Value) {
    if format == Format::Json {
        return json(body);
    }
    let mut rows = Vec::new();
    if let Some(wrap) = body.get("wrap_info").filter(|w| w.is_object()) {
        rows.push(("wrapping_token:".into(), cell(&wrap["token"])));
        rows.push(("wrapping_accessor:".into(), cell(&wrap["accessor"])));
        rows.push(("wrapping_token_ttl:".into(), duration_cell(&wrap["ttl"])));
        rows.push((
            "wrapping_token_creation_time:".into(),
            cell(&wrap["creation_time"]),
        ));
        rows.push((
            "wrapping_token_creation_path:".into(),
            cell(&wrap["creation_path"]),
        ));
        if wrap.get("wrapped_accessor").is_some_and(|a| a.is_string()) {
            rows.push(("wrapped_accessor:".into(), cell(&wrap["wrapped_accessor"])));
        }
        return table(&rows, ("Key", "Value"));
    }
    if let Some(auth) = body.get("auth").filter(|a| a.is_object()) {
        rows.push(("token".into(), cell(&auth["client_token"])));
        rows.push(("token_accessor".into(), cell(&auth["accessor"])));
        rows.push((
            "token_duration".into(),
            duration_cell(&auth["lease_duration"]),
        ));
        rows.push(("token_renewable".into(), cell(&auth["renewable"])));
        rows.push(("token_policies".into(), cell(&auth["token_policies"])));
        rows.push(("policies".into(), cell(&auth["policies"])));
    }
    if body["lease_duration"].as_u64().unwrap_or(0) > 0
        && body.get("auth").is_none_or(Value::is_null)
    {
        rows.push((
            "refresh_interval".into(),
            duration_cell(&body["lease_duration"]),
        ));
    }
    if let Some(data) = body.get("data").and_then(Value::as_object) {
        for (k, v) in data {
            rows.push((k.clone(), cell(v)));
        }
    }
    table(&rows, ("Key", "Value"));
}

/// Seconds as Vault's CLI shows them (`768h`, `∞` for zero).
pub fn duration_cell(v: &Value) -> String {
    match v.as_u64() {
        Some(0) | None => "∞".into(),
        Some(s) if s % 3600 == 0 => format!("{}h", s / 3600),
        Some(s) if s % 60 == 0 => format!("{}m", s / 60),
        Some(s) => format!("{s}s"),
    }
}

/// Print a list of keys.
pub fn keys(format: Format, keys: &[Value]) {
    if format == Format::Json {
        return json(&Value::Array(keys.to_vec()));
    }
    println!("Keys\n----");
    for k in keys {
        println!("{}", cell(k));
    }
}
