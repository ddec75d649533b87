//! Client commands other than `operator`, `kv` and `login`: status, token, secrets, auth, policy,
//! and the generic read/write/list/delete.

use super::args::{AuthCmd, PolicyCmd, SecretsCmd, TokenCmd};
use super::client::{Client, ClientError};
use super::output::{self, cell, Format};
use serde_json::{json, Map, Value};

pub fn status(client: &Client, format: Format) -> Result<i32, ClientError> {
    let reply = client.call("GET", "sys/seal-status", None, &[])?;
    let b = &reply.body;
    if format == Format::Json {
        output::json(b);
    } else {
        let mut rows = vec![
            ("Seal Type".to_string(), cell(&b["type"])),
            ("Initialized".into(), cell(&b["initialized"])),
            ("Sealed".into(), cell(&b["sealed"])),
            ("Total Shares".into(), cell(&b["n"])),
            ("Threshold".into(), cell(&b["t"])),
        ];
        if b["sealed"] == true {
            rows.push((
                "Unseal Progress".into(),
                format!("{}/{}", b["progress"], b["t"]),
            ));
            rows.push(("Unseal Nonce".into(), cell(&b["nonce"])));
        }
        rows.push(("Version".into(), cell(&b["version"])));
        rows.push(("Storage Type".into(), cell(&b["storage_type"])));
        if b["sealed"] == false {
            rows.push(("Cluster Name".into(), cell(&b["cluster_name"])));
            rows.push(("Cluster ID".into(), cell(&b["cluster_id"])));
            let leader = client.call("GET", "sys/leader", None, &[503]).ok();
            let ha = leader
                .as_ref()
                .map(|l| l.body["ha_enabled"].clone())
                .unwrap_or(Value::Bool(false));
            rows.push(("HA Enabled".into(), cell(&ha)));
        }
        output::table(&rows, ("Key", "Value"));
    }
    // Vault: exit 2 when sealed, 0 when unsealed.
    Ok(if b["sealed"] == true { 2 } else { 0 })
}

pub fn token(client: &Client, cmd: TokenCmd, format: Format) -> Result<i32, ClientError> {
    match cmd {
        TokenCmd::Create {
            policies,
            ttl,
            explicit_max_ttl,
            period,
            use_limit,
            orphan,
            no_default_policy,
            display_name,
            role,
            id,
        } => {
            let mut body = Map::new();
            if !policies.is_empty() {
                body.insert("policies".into(), json!(policies));
            }
            let mut set = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    body.insert(k.into(), v);
                }
            };
            set("ttl", ttl.map(Value::String));
            set("explicit_max_ttl", explicit_max_ttl.map(Value::String));
            set("period", period.map(Value::String));
            set("num_uses", use_limit.map(Value::from));
            set("display_name", display_name.map(Value::String));
            set("id", id.map(Value::String));
            set(
                "no_default_policy",
                no_default_policy.then_some(Value::Bool(true)),
            );
            let path = match (role, orphan) {
                (Some(r), _) => format!("auth/token/create/{r}"),
                (None, true) => "auth/token/create-orphan".into(),
                (None, false) => "auth/token/create".into(),
            };
            let reply = client.write(&path, &Value::Object(body))?;
            output::secret(format, &reply.body);
        }
        TokenCmd::Lookup { token, accessor } => {
            let reply = match (token, accessor) {
                (Some(a), true) => {
                    client.write("auth/token/lookup-accessor", &json!({ "accessor": a }))?
                }
                (Some(t), false) => client.write("auth/token/lookup", &json!({ "token": t }))?,
                (None, _) => client.read("auth/token/lookup-self")?,
            };
            output::secret(format, &reply.body);
        }
        TokenCmd::Renew { token, increment } => {
            let mut body = json!({});
            if let Some(i) = increment {
                body["increment"] = json!(i);
            }
            let reply = match token {
                Some(t) => {
                    body["token"] = json!(t);
                    client.write("auth/token/renew", &body)?
                }
                None => client.write("auth/token/renew-self", &body)?,
            };
            output::secret(format, &reply.body);
        }
        TokenCmd::Revoke {
            token,
            self_,
            accessor,
            mode,
        } => {
            if self_ {
                client.write("auth/token/revoke-self", &json!({}))?;
            } else {
                let t = token
                    .ok_or_else(|| ClientError::Usage("a token or -self is required".into()))?;
                match (accessor, mode.as_deref()) {
                    (true, _) => {
                        client.write("auth/token/revoke-accessor", &json!({ "accessor": t }))?
                    }
                    (false, Some("orphan")) => {
                        client.write("auth/token/revoke-orphan", &json!({ "token": t }))?
                    }
                    _ => client.write("auth/token/revoke", &json!({ "token": t }))?,
                };
            }
            println!("Success! Revoked token (if it existed)");
        }
    }
    Ok(0)
}

fn mounts_table(body: &Value, format: Format, kind_header: &str) {
    if format == Format::Json {
        return output::json(&body["data"]);
    }
    let mut rows = Vec::new();
    if let Some(m) = body["data"].as_object() {
        for (path, e) in m {
            rows.push((
                path.clone(),
                format!(
                    "{:<12}{:<24}{}",
                    cell(&e["type"]),
                    cell(&e["accessor"]),
                    cell(&e["description"])
                ),
            ));
        }
    }
    output::table(&rows, ("Path", kind_header));
}

pub fn secrets(client: &Client, cmd: SecretsCmd, format: Format) -> Result<i32, ClientError> {
    match cmd {
        SecretsCmd::Enable {
            kind,
            path,
            version,
            description,
        } => {
            let path = path.unwrap_or_else(|| kind.clone());
            let mut body = json!({ "type": kind, "description": description.unwrap_or_default() });
            if let Some(v) = version {
                body["options"] = json!({ "version": v.to_string() });
            }
            client.write(&format!("sys/mounts/{}", path.trim_matches('/')), &body)?;
            println!(
                "Success! Enabled the {kind} secrets engine at: {}/",
                path.trim_matches('/')
            );
        }
        SecretsCmd::Disable { path } => {
            client.delete(&format!("sys/mounts/{}", path.trim_matches('/')))?;
            println!(
                "Success! Disabled the secrets engine (if it existed) at: {}/",
                path.trim_matches('/')
            );
        }
        SecretsCmd::List => mounts_table(
            &client.read("sys/mounts")?.body,
            format,
            "Type / Accessor / Description",
        ),
    }
    Ok(0)
}

pub fn auth(client: &Client, cmd: AuthCmd, format: Format) -> Result<i32, ClientError> {
    match cmd {
        AuthCmd::Enable {
            kind,
            path,
            description,
        } => {
            let path = path.unwrap_or_else(|| kind.clone());
            let body = json!({ "type": kind, "description": description.unwrap_or_default() });
            client.write(&format!("sys/auth/{}", path.trim_matches('/')), &body)?;
            println!(
                "Success! Enabled {kind} auth method at: {}/",
                path.trim_matches('/')
            );
        }
        AuthCmd::Disable { path } => {
            client.delete(&format!("sys/auth/{}", path.trim_matches('/')))?;
            println!(
                "Success! Disabled the auth method (if it existed) at: {}/",
                path.trim_matches('/')
            );
        }
        AuthCmd::List => mounts_table(
            &client.read("sys/auth")?.body,
            format,
            "Type / Accessor / Description",
        ),
        AuthCmd::Tune {
            path,
            default_lease_ttl,
            max_lease_ttl,
            description,
            listing_visibility,
        } => {
            let mut body = Map::new();
            let fields = [
                ("default_lease_ttl", default_lease_ttl),
                ("max_lease_ttl", max_lease_ttl),
                ("description", description),
                ("listing_visibility", listing_visibility),
            ];
            for (k, v) in fields {
                if let Some(v) = v {
                    body.insert(k.into(), Value::String(v));
                }
            }
            let path = path.trim_matches('/');
            client.write(&format!("sys/auth/{path}/tune"), &Value::Object(body))?;
            println!("Success! Tuned the auth method at: {path}/");
        }
    }
    Ok(0)
}

pub fn policy(client: &Client, cmd: PolicyCmd, format: Format) -> Result<i32, ClientError> {
    match cmd {
        PolicyCmd::Write { name, file } => {
            let text = if file == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                    .map_err(|e| ClientError::Usage(format!("reading stdin: {e}")))?;
                s
            } else {
                std::fs::read_to_string(&file)
                    .map_err(|e| ClientError::Usage(format!("reading {file}: {e}")))?
            };
            client.write(
                &format!("sys/policies/acl/{name}"),
                &json!({ "policy": text }),
            )?;
            println!("Success! Uploaded policy: {name}");
        }
        PolicyCmd::Read { name } => {
            let reply = client.read(&format!("sys/policies/acl/{name}"))?;
            let rules = reply.body["data"]["policy"].clone();
            if format == Format::Json {
                output::json(&json!({ "policy": rules }));
            } else {
                println!("{}", rules.as_str().unwrap_or_default());
            }
        }
        PolicyCmd::List => {
            let reply = client.read("sys/policy")?;
            let keys = reply.body["data"]["policies"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if format == Format::Json {
                output::json(&Value::Array(keys));
            } else {
                for k in keys {
                    println!("{}", cell(&k));
                }
            }
        }
        PolicyCmd::Delete { name } => {
            client.delete(&format!("sys/policies/acl/{name}"))?;
            println!("Success! Deleted policy: {name}");
        }
    }
    Ok(0)
}

pub fn read(client: &Client, path: &str, format: Format) -> Result<i32, ClientError> {
    let reply = client.call("GET", path, None, &[404])?;
    if reply.status == 404 {
        eprintln!("No value found at {path}");
        return Ok(2);
    }
    output::secret(format, &reply.body);
    Ok(0)
}

pub fn write(
    client: &Client,
    path: &str,
    pairs: &[String],
    format: Format,
) -> Result<i32, ClientError> {
    let body = super::parse_pairs(pairs)?;
    let reply = client.write(path, &Value::Object(body))?;
    if reply.body.is_null() {
        println!("Success! Data written to: {path}");
    } else {
        output::secret(format, &reply.body);
    }
    Ok(0)
}

pub fn list(client: &Client, path: &str, format: Format) -> Result<i32, ClientError> {
    let reply = client.call(
        "GET",
        &format!("{}?list=true", path.trim_end_matches('/')),
        None,
        &[404],
    )?;
    if reply.status == 404 {
        eprintln!("No value found at {path}");
        return Ok(2);
    }
    let keys = reply.body["data"]["keys"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    output::keys(format, &keys);
    Ok(0)
}

/// `unwrap [TOKEN]`: as Vault's client does, a TOKEN different from the client's own goes in the
/// body; with no client token (or no TOKEN) the wrapping token is the request's token.
pub fn unwrap(
    client: &mut Client,
    token: Option<String>,
    format: Format,
) -> Result<i32, ClientError> {
    let body = match token.map(|t| t.trim().to_string()) {
        Some(t) if client.token().is_some_and(|own| own != t) => json!({ "token": t }),
        Some(t) => {
            client.set_token(t);
            json!({})
        }
        None => json!({}),
    };
    let reply = client.write("sys/wrapping/unwrap", &body)?;
    output::secret(format, &reply.body);
    Ok(0)
}

pub fn delete(client: &Client, path: &str) -> Result<i32, ClientError> {
    client.delete(path)?;
    println!("Success! Data deleted (if it existed) at: {path}");
    Ok(0)
}
