//! Client commands other than `operator`, `kv`, `login`, `lease` and mounts: token, policy, and
//! the generic read/write/list/delete/unwrap.

use super::args::{PolicyCmd, TokenCmd};
use super::client::{Client, ClientError};
use super::output::{self, cell, Format};
use super::Out;
use serde_json::{json, Map, Value};

pub fn token(client: &Client, cmd: TokenCmd, out: &Out) -> Result<i32, ClientError> {
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
            return Ok(out.secret(&reply.body));
        }
        TokenCmd::Lookup { token, accessor } => {
            let reply = match (token, accessor) {
                (Some(a), true) => {
                    client.write("auth/token/lookup-accessor", &json!({ "accessor": a }))?
                }
                (Some(t), false) => client.write("auth/token/lookup", &json!({ "token": t }))?,
                (None, _) => client.read("auth/token/lookup-self")?,
            };
            return Ok(out.secret(&reply.body));
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
            return Ok(out.secret(&reply.body));
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
        TokenCmd::Capabilities { args } => return capabilities(client, &args, out.format),
    }
    Ok(0)
}

/// `token capabilities [TOKEN] PATH`: `sys/capabilities` for a given token, else
/// `sys/capabilities-self`; the table form is the sorted list joined by `, `.
fn capabilities(client: &Client, args: &[String], format: Format) -> Result<i32, ClientError> {
    let (reply, path) = match args {
        [path] => (
            client.write("sys/capabilities-self", &json!({ "paths": [path] }))?,
            path,
        ),
        [token, path] => (
            client.write(
                "sys/capabilities",
                &json!({ "token": token, "paths": [path] }),
            )?,
            path,
        ),
        _ => {
            return Err(ClientError::Usage(
                "Usage: token capabilities [TOKEN] PATH".into(),
            ))
        }
    };
    let b = &reply.body;
    let list = [
        &b[path.as_str()],
        &b["data"][path.as_str()],
        &b["capabilities"],
    ]
    .into_iter()
    .find_map(|v| v.as_array().cloned())
    .unwrap_or_default();
    let mut caps: Vec<String> = list
        .iter()
        .filter_map(|c| c.as_str().map(str::to_string))
        .collect();
    caps.sort();
    if format == Format::Json {
        output::json(&json!(caps));
    } else {
        println!("{}", caps.join(", "));
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

pub fn read(client: &Client, path: &str, out: &Out) -> Result<i32, ClientError> {
    let reply = client.call("GET", path, None, &[404])?;
    if reply.status == 404 {
        eprintln!("No value found at {path}");
        return Ok(2);
    }
    Ok(out.secret(&reply.body))
}

pub fn write(client: &Client, path: &str, pairs: &[String], out: &Out) -> Result<i32, ClientError> {
    let body = super::parse_pairs(pairs)?;
    let reply = client.write(path, &Value::Object(body))?;
    if reply.body.is_null() {
        println!("Success! Data written to: {path}");
        return Ok(0);
    }
    Ok(out.secret(&reply.body))
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
pub fn unwrap(client: &mut Client, token: Option<String>, out: &Out) -> Result<i32, ClientError> {
    let body = match token.map(|t| t.trim().to_string()) {
        Some(t) if client.token().is_some_and(|own| own != t) => json!({ "token": t }),
        Some(t) => {
            client.set_token(t);
            json!({})
        }
        None => json!({}),
    };
    let reply = client.write("sys/wrapping/unwrap", &body)?;
    Ok(out.secret(&reply.body))
}

pub fn delete(client: &Client, path: &str) -> Result<i32, ClientError> {
    client.delete(path)?;
    println!("Success! Data deleted (if it existed) at: {path}");
    Ok(0)
}
