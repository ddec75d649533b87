//! `kv put|patch|get|list` and the dispatch of every `kv` subcommand. The mount and its KV
//! version come from `sys/internal/ui/mounts/<path>` (as Vault's CLI finds them, even under
//! `-output-curl-string`, see `kv_path.rs`); `kv_versions.rs` has delete/undelete/destroy/rollback
//! and metadata.

use super::client::{Client, ClientError};
use super::kv_args::KvCmd;
use super::kv_path::{written, KvPath};
use super::output::{self, Format};
use super::Out;
use serde_json::{json, Value};

pub fn run(client: &Client, cmd: KvCmd, out: &Out) -> Result<i32, ClientError> {
    match cmd {
        KvCmd::Put {
            path,
            pairs,
            mount,
            cas,
        } => {
            let kv = KvPath::resolve(client, &path, &mount)?;
            let data = super::parse_pairs(&pairs)?;
            if data.is_empty() {
                return Err(ClientError::Usage("Must supply data".into()));
            }
            let full = kv.api("data");
            let body = if kv.v2 {
                let mut b = json!({ "data": data, "options": {} });
                if let Some(c) = cas.filter(|c| *c > -1) {
                    b["options"]["cas"] = json!(c);
                }
                b
            } else {
                Value::Object(data)
            };
            let reply = client.write(&full, &body)?;
            Ok(written(out, &full, &reply.body))
        }
        KvCmd::Patch {
            path,
            pairs,
            mount,
            cas,
            method,
            remove_data,
        } => {
            let kv = KvPath::resolve(client, &path, &mount)?;
            if !kv.v2 {
                eprintln!("KV engine mount must be version 2 for patch support");
                return Ok(2);
            }
            let mut data = super::parse_pairs(&pairs)?;
            if data.is_empty() && remove_data.is_empty() {
                return Err(ClientError::Usage("Must supply data".into()));
            }
            for k in remove_data {
                // A null in a JSON merge patch removes the key.
                data.insert(k, Value::Null);
            }
            let full = kv.api("data");
            let reply = match method.as_deref() {
                None | Some("patch") => {
                    let mut b = json!({ "data": data, "options": {} });
                    if let Some(c) = cas.filter(|c| *c > 0) {
                        b["options"]["cas"] = json!(c);
                    }
                    client.call("PATCH", &full, Some(&b), &[])?
                }
                Some("rw") => {
                    let current = client.call("GET", &full, None, &[404])?;
                    let (Some(old), Some(version)) = (
                        current.body["data"]["data"].as_object(),
                        current.body["data"]["metadata"]["version"].as_u64(),
                    ) else {
                        eprintln!("No value found at {full}");
                        return Ok(2);
                    };
                    let mut merged = old.clone();
                    for (k, v) in data {
                        merged.insert(k, v);
                    }
                    let b = json!({ "data": merged, "options": { "cas": version } });
                    client.write(&full, &b)?
                }
                Some(other) => {
                    eprintln!("Unsupported method provided to -method flag: {other}");
                    return Ok(2);
                }
            };
            Ok(written(out, &full, &reply.body))
        }
        KvCmd::Get {
            path,
            mount,
            version,
        } => {
            let kv = KvPath::resolve(client, &path, &mount)?;
            let full = kv.api("data");
            let query = match version {
                Some(v) if kv.v2 => format!("{full}?version={v}"),
                _ => full.clone(),
            };
            let reply = client.call("GET", &query, None, &[404])?;
            let body = reply.body;
            if reply.status == 404 && body["data"].is_null() {
                eprintln!("No value found at {full}");
                return Ok(2);
            }
            Ok(show_secret(out, &full, kv.v2, &body))
        }
        KvCmd::List { path, mount } => {
            let kv = KvPath::resolve(client, &path, &mount)?;
            super::commands::list(client, &kv.api("metadata"), out.format)
        }
        other => super::kv_versions::run(client, other, out),
    }
}

/// `kv get`: `-field` from the secret's data first, then Vault's sections: the path (v2),
/// `Metadata` (v2) and `Data`.
fn show_secret(out: &Out, full: &str, v2: bool, body: &Value) -> i32 {
    let data = if v2 {
        &body["data"]["data"]
    } else {
        &body["data"]
    };
    if let Some(f) = &out.field {
        let value = data
            .get(f.as_str())
            .cloned()
            .or_else(|| output::secret_field(body, f));
        return output::raw_field(out.format, value.as_ref(), f);
    }
    if out.format == Format::Json || body["wrap_info"].is_object() {
        output::secret(out.format, body);
        return 0;
    }
    for w in body["warnings"].as_array().into_iter().flatten() {
        eprintln!("WARNING! {}", w.as_str().unwrap_or_default());
    }
    if v2 {
        output::path_section("Secret Path", full);
        let metadata = &body["data"]["metadata"];
        if metadata.is_object() {
            output::titled_map("Metadata", metadata);
            println!();
        }
    }
    if data.is_object() {
        output::titled_map("Data", data);
    }
    0
}
