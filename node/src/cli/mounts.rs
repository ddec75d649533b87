//! `secrets enable|disable|list|tune` and `auth enable|disable|list|tune`.

use super::client::{Client, ClientError};
use super::mount_args::{AuthCmd, SecretsCmd, TuneArgs};
use super::output::{self, cell, human_duration, Format};
use serde_json::{json, Map, Value};

/// Vault's `secrets list` / `auth list` table, sorted by path; `-detailed` adds the TTLs and
/// options.
fn mounts_table(body: &Value, format: Format, detailed: bool) {
    if format == Format::Json {
        return output::json(&body["data"]);
    }
    let ttl = |v: &Value| match v.as_i64() {
        Some(0) | None => "system".to_string(),
        Some(s) => human_duration(s),
    };
    let mut header = vec!["Path", "Type", "Accessor"];
    if detailed {
        header.extend(["Default TTL", "Max TTL", "Options"]);
    }
    header.push("Description");
    let mut rows = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    if let Some(m) = body["data"].as_object() {
        let mut paths: Vec<&String> = m.keys().collect();
        paths.sort();
        for path in paths {
            let e = &m[path.as_str()];
            let mut row = vec![path.clone(), cell(&e["type"]), cell(&e["accessor"])];
            if detailed {
                row.push(ttl(&e["config"]["default_lease_ttl"]));
                row.push(ttl(&e["config"]["max_lease_ttl"]));
                row.push(cell(&e["options"]));
            }
            row.push(e["description"].as_str().unwrap_or_default().to_string());
            rows.push(row);
        }
    }
    print!("{}", output::columns(&rows));
}

fn tune_body(tune: &TuneArgs) -> Result<Map<String, Value>, ClientError> {
    tune.body().map_err(ClientError::Usage)
}

/// An `enable` body: type, description, options, and the rest of the tune flags as `config`.
fn enable_body(kind: &str, tune: &TuneArgs, version: Option<u8>) -> Result<Value, ClientError> {
    let mut config = tune_body(tune)?;
    let description = config.remove("description").unwrap_or(json!(""));
    let mut options = match config.remove("options") {
        Some(Value::Object(o)) => o,
        _ => Map::new(),
    };
    if let Some(v) = version {
        options.insert("version".into(), json!(v.to_string()));
    }
    let mut body = json!({ "type": kind, "description": description, "config": config });
    if !options.is_empty() {
        body["options"] = Value::Object(options);
    }
    Ok(body)
}

pub fn secrets(client: &Client, cmd: SecretsCmd, format: Format) -> Result<i32, ClientError> {
    match cmd {
        SecretsCmd::Enable {
            kind,
            path,
            version,
            tune,
        } => {
            let path = path.unwrap_or_else(|| kind.clone());
            let path = path.trim_matches('/');
            let body = enable_body(&kind, &tune, version)?;
            client.write(&format!("sys/mounts/{path}"), &body)?;
            println!("Success! Enabled the {kind} secrets engine at: {path}/");
        }
        SecretsCmd::Disable { path } => {
            client.delete(&format!("sys/mounts/{}", path.trim_matches('/')))?;
            println!(
                "Success! Disabled the secrets engine (if it existed) at: {}/",
                path.trim_matches('/')
            );
        }
        SecretsCmd::List { detailed } => {
            mounts_table(&client.read("sys/mounts")?.body, format, detailed)
        }
        SecretsCmd::Tune {
            path,
            version,
            tune,
        } => {
            let mut body = tune_body(&tune)?;
            if let Some(v) = version {
                let options = body.entry("options").or_insert_with(|| json!({}));
                options["version"] = json!(v.to_string());
            }
            let path = path.trim_matches('/');
            client.write(&format!("sys/mounts/{path}/tune"), &Value::Object(body))?;
            println!("Success! Tuned the secrets engine at: {path}/");
        }
    }
    Ok(0)
}

pub fn auth(client: &Client, cmd: AuthCmd, format: Format) -> Result<i32, ClientError> {
    match cmd {
        AuthCmd::Enable { kind, path, tune } => {
            let path = path.unwrap_or_else(|| kind.clone());
            let path = path.trim_matches('/');
            let body = enable_body(&kind, &tune, None)?;
            client.write(&format!("sys/auth/{path}"), &body)?;
            println!("Success! Enabled {kind} auth method at: {path}/");
        }
        AuthCmd::Disable { path } => {
            client.delete(&format!("sys/auth/{}", path.trim_matches('/')))?;
            println!(
                "Success! Disabled the auth method (if it existed) at: {}/",
                path.trim_matches('/')
            );
        }
        AuthCmd::List { detailed } => {
            mounts_table(&client.read("sys/auth")?.body, format, detailed)
        }
        AuthCmd::Tune {
            path,
            token_type,
            tune,
        } => {
            let mut body = tune_body(&tune)?;
            if let Some(t) = token_type {
                body.insert("token_type".into(), json!(t));
            }
            let path = path.trim_matches('/');
            client.write(&format!("sys/auth/{path}/tune"), &Value::Object(body))?;
            println!("Success! Tuned the auth method at: {path}/");
        }
    }
    Ok(0)
}
