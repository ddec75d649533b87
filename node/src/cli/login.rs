//! `coffer login`: with a token (checked with `lookup-self`), or through an auth method
//! (`-method=userpass username=.. password=..`, `-method=approle role_id=.. secret_id=..`, and any
//! other method whose login takes its fields at `auth/<path>/login`). The token goes to the token
//! helper file unless `-no-store`.

use super::args::LoginArgs;
use super::client::{token_file, Client, ClientError};
use super::output::{self, cell, Format};
use serde_json::{Map, Value};

pub fn run(client: &mut Client, args: LoginArgs, format: Format) -> Result<i32, ClientError> {
    let method = args.method.clone().unwrap_or_else(|| "token".into());
    let mount = args
        .path
        .clone()
        .unwrap_or_else(|| method.clone())
        .trim_matches('/')
        .to_string();
    let (token, reply) = if method == "token" {
        with_token(client, &args)?
    } else {
        with_method(client, &method, &mount, &args.args)?
    };
    if !args.no_store {
        if let Some(path) = token_file() {
            std::fs::write(&path, &token)
                .map_err(|e| ClientError::Usage(format!("writing {}: {e}", path.display())))?;
        }
    }
    if args.token_only {
        println!("{token}");
    } else if format == Format::Json {
        output::json(&reply);
    } else {
        print_table(&token, &reply, args.no_store);
    }
    Ok(0)
}

fn read_stdin_line() -> Result<String, ClientError> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| ClientError::Usage(format!("reading stdin: {e}")))?;
    Ok(line.trim().to_string())
}

/// `login TOKEN` (or `-` / nothing: from stdin): the token must pass `lookup-self`.
fn with_token(client: &mut Client, args: &LoginArgs) -> Result<(String, Value), ClientError> {
    let token = match args.args.first().map(String::as_str) {
        Some(t) if t != "-" && !t.contains('=') => t.to_string(),
        Some(t) if t.starts_with("token=") => t["token=".len()..].to_string(),
        _ => read_stdin_line()?,
    };
    client.set_token(token.clone());
    let reply = client.read("auth/token/lookup-self")?;
    // Shown like a login's answer: the lookup's fields as the `auth` block.
    let d = &reply.body["data"];
    let auth = serde_json::json!({
        "client_token": token,
        "accessor": d["accessor"],
        "lease_duration": d["ttl"],
        "renewable": d["renewable"],
        "policies": d["policies"],
        "token_policies": d["policies"],
        "metadata": d["meta"],
    });
    let mut body = reply.body.clone();
    body["auth"] = auth;
    Ok((token, body))
}

/// Log in through an auth method with `key=value` fields.
fn with_method(
    client: &mut Client,
    method: &str,
    mount: &str,
    pairs: &[String],
) -> Result<(String, Value), ClientError> {
    let mut fields: Map<String, Value> = super::parse_pairs(pairs)?;
    let path = match method {
        "userpass" | "ldap" | "okta" | "radius" => {
            let user = fields
                .remove("username")
                .and_then(|u| u.as_str().map(str::to_string))
                .filter(|u| !u.is_empty())
                .ok_or_else(|| ClientError::Usage("missing username".into()))?;
            if !fields.contains_key("password") {
                eprintln!("Password (will be read from stdin):");
                fields.insert("password".into(), Value::String(read_stdin_line()?));
            }
            format!("auth/{mount}/login/{user}")
        }
        _ => format!("auth/{mount}/login"),
    };
    client.clear_token();
    let reply = client.call("PUT", &path, Some(&Value::Object(fields)), &[])?;
    let token = reply.body["auth"]["client_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ClientError::Usage("the login answered no token".into()))?
        .to_string();
    Ok((token, reply.body))
}

fn print_table(token: &str, body: &Value, no_store: bool) {
    if no_store {
        println!("Success! You are now authenticated. The token information displayed below");
        println!("has not been stored: set it as VAULT_TOKEN or pass it to \"coffer login\".\n");
    } else {
        println!("Success! You are now authenticated. The token information displayed below");
        println!("is already stored in the token helper. You do NOT need to run \"coffer login\"");
        println!("again. Future Coffer requests will automatically use this token.\n");
    }
    let a = &body["auth"];
    let mut rows = vec![
        ("token".to_string(), token.to_string()),
        ("token_accessor".into(), cell(&a["accessor"])),
        (
            "token_duration".into(),
            output::duration_cell(&a["lease_duration"]),
        ),
        ("token_renewable".into(), cell(&a["renewable"])),
        ("token_policies".into(), cell(&a["token_policies"])),
        ("identity_policies".into(), "[]".into()),
        ("policies".into(), cell(&a["policies"])),
    ];
    if let Some(meta) = a["metadata"].as_object() {
        for (k, v) in meta {
            rows.push((format!("token_meta_{k}"), cell(v)));
        }
    }
    output::table(&rows, ("Key", "Value"));
}
