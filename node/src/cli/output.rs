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

/// A value as the table shows it (Go's `%v` inside Vault's columnizer): strings bare and an
/// empty one as `n/a`, null as `<nil>`, lists as `[a b]`, maps as `map[k:v]` (keys sorted).
pub fn cell(v: &Value) -> String {
    match v {
        Value::String(s) if s.is_empty() => "n/a".into(),
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".into(),
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
    let mut all = vec![vec![headers.0.to_string(), headers.1.to_string()]];
    all.extend(rows.iter().map(|(k, v)| vec![k.clone(), v.clone()]));
    print!("{}", columns(&all));
}

/// Vault's columnized table: the first row is the header, underlined with dashes; columns are
/// padded to their widest cell (counted in characters) and joined by four spaces; empty cells
/// read `n/a`; the last column is not padded.
pub fn columns(rows: &[Vec<String>]) -> String {
    let Some(header) = rows.first() else {
        return String::new();
    };
    let underline: Vec<String> = header.iter().map(|h| "-".repeat(h.len())).collect();
    let mut all: Vec<Vec<String>> = vec![header.clone(), underline];
    all.extend(rows[1..].iter().map(|row| {
        row.iter()
            .map(|c| {
                if c.is_empty() {
                    "n/a".into()
                } else {
                    c.clone()
                }
            })
            .collect()
    }));
    let n = all.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; n];
    for row in &all {
        for (i, c) in row.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for row in &all {
        let cells: Vec<String> = (0..row.len())
            .map(|i| {
                let c = &row[i];
                if i + 1 == row.len() {
                    c.to_string()
                } else {
                    format!("{c}{}", " ".repeat(widths[i] - c.chars().count()))
                }
            })
            .collect();
        out.push_str(cells.join("    ").trim_end());
        out.push('\n');
    }
    out
}

/// A map as Vault's `OutputData` prints it: `Key  Value` rows sorted by key, TTL-like keys
/// (`ttl`, `*_ttl`, `period`, `*_period`) as durations.
pub fn map_table(format: Format, data: &Value) {
    if format == Format::Json {
        return json(data);
    }
    print!("{}", map_rows(data));
}

fn map_rows(data: &Value) -> String {
    let mut rows = vec![vec!["Key".to_string(), "Value".to_string()]];
    if let Some(m) = data.as_object() {
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort();
        for k in keys {
            rows.push(vec![k.clone(), data_cell(k, &m[k.as_str()])]);
        }
    }
    if rows.len() == 1 {
        return String::new();
    }
    columns(&rows)
}

/// A `data` value, TTL-like keys shown as durations.
fn data_cell(key: &str, v: &Value) -> String {
    let ttl_like =
        key == "ttl" || key.ends_with("_ttl") || key == "period" || key.ends_with("_period");
    match v
        .as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    {
        Some(secs) if ttl_like => human_duration(secs),
        _ => cell(v),
    }
}

/// Seconds as Go's `time.Duration` prints them, trimmed as Vault does: `0s`, `45s`, `1m30s`,
/// `1h`, `768h`, `1h1m40s`.
pub fn human_duration(secs: i64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let sign = if secs < 0 { "-" } else { "" };
    let s = secs.unsigned_abs();
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    let text = if h > 0 {
        format!("{h}h{m}m{sec}s")
    } else if m > 0 {
        format!("{m}m{sec}s")
    } else {
        format!("{sec}s")
    };
    let text = text
        .strip_suffix("m0s")
        .map(|t| format!("{t}m"))
        .unwrap_or(text);
    let text = match text.find("h0m") {
        Some(i) => format!("{}{}", &text[..=i], &text[i + 3..]),
        None => text,
    };
    format!("{sign}{text}")
}

/// `title` padded with `=` on both sides to `width`, as Vault's section headers are.
pub fn pad_equal_signs(title: &str, width: usize) -> String {
    let mut signs = width as i64 - (title.len() as i64 + 2);
    if signs <= 0 {
        signs = 4;
    }
    if signs % 2 != 0 {
        signs += 1;
    }
    let side = "=".repeat((signs / 2) as usize);
    format!("{side} {title} {side}")
}

/// The header Vault prints above a map's table: as wide as the longest key plus the `Value`
/// column.
pub fn header_for_map(title: &str, data: &Value) -> String {
    let longest = data
        .as_object()
        .map(|m| m.keys().map(String::len).max().unwrap_or(0))
        .unwrap_or(0);
    pad_equal_signs(title, longest + 4 + 5)
}

/// `== Secret Path ==` and the path, then a blank line.
pub fn path_section(title: &str, path: &str) {
    println!("{}\n{path}\n", pad_equal_signs(title, path.len()));
}

/// A map under its `== Title ==` header (table format only).
pub fn titled_map(title: &str, data: &Value) {
    println!("{}", header_for_map(title, data));
    print!("{}", map_rows(data));
}

/// Print `-field`'s value as Vault does: strings bare, other values as JSON with `-format=json`
/// or as the table shows them; a trailing newline only on a terminal. Exit code 1 when absent.
pub fn raw_field(format: Format, value: Option<&Value>, field: &str) -> i32 {
    let Some(v) = value.filter(|v| !v.is_null()) else {
        eprintln!("Field \"{field}\" not present in secret");
        return 1;
    };
    let text = match (format, v) {
        (_, Value::String(s)) => s.clone(),
        (Format::Json, v) => serde_json::to_string_pretty(v).unwrap_or_default(),
        (Format::Table, v) => cell(v),
    };
    use std::io::{IsTerminal, Write};
    let mut out = std::io::stdout();
    let _ = if out.is_terminal() {
        writeln!(out, "{text}")
    } else {
        write!(out, "{text}")
    };
    let _ = out.flush();
    0
}

/// The `-field` of a secret-shaped answer: Vault's names for lease, token and wrapping fields,
/// else a key of `data`.
pub fn secret_field<'a>(body: &'a Value, field: &str) -> Option<Value> {
    let auth = &body["auth"];
    let wrap = &body["wrap_info"];
    let v: &'a Value = match field {
        "lease_id" | "lease_duration" | "renewable" if !body[field].is_null() => &body[field],
        "refresh_interval" => &body["lease_duration"],
        "lease_renewable" => &body["renewable"],
        "token" if auth.is_object() => &auth["client_token"],
        "token_accessor" if auth.is_object() => &auth["accessor"],
        "token_duration" if auth.is_object() => &auth["lease_duration"],
        "token_renewable" if auth.is_object() => &auth["renewable"],
        "token_policies" | "identity_policies" | "policies" if auth.is_object() => &auth[field],
        "wrapping_token" if wrap.is_object() => &wrap["token"],
        "wrapping_accessor" if wrap.is_object() => &wrap["accessor"],
        "wrapping_token_ttl" if wrap.is_object() => &wrap["ttl"],
        "wrapping_token_creation_time" if wrap.is_object() => &wrap["creation_time"],
        "wrapping_token_creation_path" if wrap.is_object() => &wrap["creation_path"],
        "wrapped_accessor" if wrap.is_object() => &wrap["wrapped_accessor"],
        _ => &body["data"][field],
    };
    Some(v.clone()).filter(|v| !v.is_null())
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
    let lease = body["lease_duration"].as_i64().unwrap_or(0);
    if lease > 0 && body.get("auth").is_none_or(Value::is_null) {
        match body["lease_id"].as_str().filter(|l| !l.is_empty()) {
            Some(id) => {
                rows.push(("lease_id".into(), id.to_string()));
                rows.push(("lease_duration".into(), human_duration(lease)));
                rows.push(("lease_renewable".into(), cell(&body["renewable"])));
            }
            None => rows.push(("refresh_interval".into(), human_duration(lease))),
        }
    }
    if let Some(data) = body.get("data").and_then(Value::as_object) {
        let mut keys: Vec<&String> = data.keys().collect();
        keys.sort();
        for k in keys {
            rows.push((k.clone(), data_cell(k, &data[k.as_str()])));
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_read_as_vault_prints_them() {
        for (secs, want) in [
            (0, "0s"),
            (45, "45s"),
            (90, "1m30s"),
            (60, "1m"),
            (3600, "1h"),
            (2_764_800, "768h"),
            (3700, "1h1m40s"),
            (3660, "1h1m"),
        ] {
            assert_eq!(human_duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn section_headers_are_padded_like_vaults() {
        assert_eq!(
            pad_equal_signs("Secret Path", "secret/data/creds".len()),
            "== Secret Path =="
        );
        assert_eq!(pad_equal_signs("Secret Path", 3), "== Secret Path ==");
        let meta = json!({"custom_metadata": null, "version": 1});
        assert_eq!(
            header_for_map("Metadata", &meta),
            "======= Metadata ======="
        );
        assert_eq!(
            header_for_map("Data", &json!({"passcode": "x"})),
            "====== Data ======"
        );
    }

    #[test]
    fn columns_pad_all_but_the_last_and_fill_empty_cells() {
        let rows = vec![
            vec!["Node".to_string(), "State".into(), "Voter".into()],
            vec!["n1".into(), "".into(), "true".into()],
        ];
        assert_eq!(
            columns(&rows),
            "Node    State    Voter\n----    -----    -----\nn1      n/a      true\n"
        );
        assert_eq!(cell(&json!({"b": 1, "a": [1, "x"]})), "map[a:[1 x] b:1]");
        assert_eq!(
            (cell(&json!(null)), cell(&json!(""))),
            ("<nil>".into(), "n/a".into())
        );
    }
}
