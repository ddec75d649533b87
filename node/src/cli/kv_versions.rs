//! `kv delete|undelete|destroy|rollback` and `kv metadata get|put|delete` (v2 versions and the
//! key's metadata), with Vault's messages and sections.

use super::client::{Client, ClientError};
use super::kv_args::{parse_versions, KvCmd, KvMetadataCmd};
use super::kv_path::{written, KvPath};
use super::output::{self, Format};
use super::Out;
use serde_json::{json, Map, Value};

fn versions(flags: &[String], what: &str) -> Result<Vec<u64>, ClientError> {
    let list = parse_versions(flags).map_err(ClientError::Usage)?;
    if list.is_empty() {
        return Err(ClientError::Usage(format!(
            "No versions provided, use the \"-versions\" flag to specify the version to {what}."
        )));
    }
    Ok(list)
}

pub fn run(client: &Client, cmd: KvCmd, out: &Out) -> Result<i32, ClientError> {
    match cmd {
        KvCmd::Delete {
            path,
            mount,
            versions: flags,
        } => {
            let kv = KvPath::resolve(client, &path, &mount)?;
            let full = if kv.v2 && !flags.is_empty() {
                let full = kv.api("delete");
                client.write(&full, &json!({ "versions": versions(&flags, "delete")? }))?;
                full
            } else {
                let full = kv.api("data");
                client.delete(&full)?;
                full
            };
            println!("Success! Data deleted (if it existed) at: {full}");
            Ok(0)
        }
        KvCmd::Undelete {
            path,
            mount,
            versions: flags,
        } => version_op(client, &path, &mount, &flags, "undelete"),
        KvCmd::Destroy {
            path,
            mount,
            versions: flags,
        } => version_op(client, &path, &mount, &flags, "destroy"),
        KvCmd::Rollback {
            path,
            mount,
            version,
        } => rollback(client, &path, &mount, version, out),
        KvCmd::Metadata(m) => metadata(client, m, out.format),
        KvCmd::Put { .. } | KvCmd::Patch { .. } | KvCmd::Get { .. } | KvCmd::List { .. } => {
            Err(ClientError::Usage("not a versions command".into()))
        }
    }
}

/// `undelete` / `destroy`: `POST <mount>/<op>/<key>` with the versions.
fn version_op(
    client: &Client,
    path: &str,
    mount: &super::kv_args::Mount,
    flags: &[String],
    op: &str,
) -> Result<i32, ClientError> {
    let list = versions(flags, op)?;
    let kv = KvPath::resolve(client, path, mount)?;
    kv.require_v2(op)?;
    let full = kv.api(op);
    client.write(&full, &json!({ "versions": list }))?;
    println!("Success! Data written to: {full}");
    Ok(0)
}

/// `rollback -version=N`: write version N's data again as the newest version, with check-and-set
/// on the current version so a concurrent write is not lost.
fn rollback(
    client: &Client,
    path: &str,
    mount: &super::kv_args::Mount,
    version: Option<u64>,
    out: &Out,
) -> Result<i32, ClientError> {
    let Some(target) = version.filter(|v| *v > 0) else {
        return Err(ClientError::Usage("Must specify a version".into()));
    };
    let kv = KvPath::resolve(client, path, mount)?;
    kv.require_v2("rollback")?;
    let meta = client.call("GET", &kv.api("metadata"), None, &[404])?;
    if meta.status == 404 {
        eprintln!("No value found at {}", kv.api("metadata"));
        return Ok(2);
    }
    let current = meta.body["data"]["current_version"].as_u64().unwrap_or(0);
    let v = &meta.body["data"]["versions"][target.to_string()];
    if !v.is_object() {
        eprintln!("Cannot roll back to a version that does not exist");
        return Ok(2);
    }
    if v["destroyed"] == true {
        eprintln!("Cannot roll back to a version that has been destroyed");
        return Ok(2);
    }
    if v["deletion_time"].as_str().is_some_and(|t| !t.is_empty()) {
        eprintln!("Cannot roll back to a version that has been deleted");
        return Ok(2);
    }
    let full = kv.api("data");
    let old = client.read(&format!("{full}?version={target}"))?;
    let data = old.body["data"]["data"].clone();
    let body = json!({ "data": data, "options": { "cas": current } });
    let reply = client.write(&full, &body)?;
    Ok(written(out, &full, &reply.body))
}

fn metadata(client: &Client, cmd: KvMetadataCmd, format: Format) -> Result<i32, ClientError> {
    let (path, mount) = match &cmd {
        KvMetadataCmd::Get { path, mount }
        | KvMetadataCmd::Delete { path, mount }
        | KvMetadataCmd::Put { path, mount, .. } => (path.clone(), mount.clone()),
    };
    let kv = KvPath::resolve(client, &path, &mount)?;
    if !kv.v2 {
        eprintln!("Metadata not supported on KV Version 1");
        return Ok(1);
    }
    let full = kv.api("metadata");
    match cmd {
        KvMetadataCmd::Get { .. } => {
            let reply = client.call("GET", &full, None, &[404])?;
            if reply.status == 404 {
                eprintln!("No value found at {full}");
                return Ok(2);
            }
            if format == Format::Json {
                output::json(&reply.body);
                return Ok(0);
            }
            let mut data = reply.body["data"].clone();
            let versions = data
                .as_object_mut()
                .and_then(|d| d.remove("versions"))
                .unwrap_or(Value::Null);
            output::path_section("Metadata Path", &full);
            output::titled_map("Metadata", &data);
            let mut numbers: Vec<u64> = versions
                .as_object()
                .map(|m| m.keys().filter_map(|k| k.parse().ok()).collect())
                .unwrap_or_default();
            numbers.sort_unstable();
            for n in numbers {
                println!();
                output::titled_map(&format!("Version {n}"), &versions[n.to_string()]);
            }
        }
        KvMetadataCmd::Delete { .. } => {
            client.delete(&full)?;
            println!("Success! Data deleted (if it existed) at: {full}");
        }
        KvMetadataCmd::Put {
            max_versions,
            cas_required,
            delete_version_after,
            custom_metadata,
            ..
        } => {
            let mut body = json!({});
            if let Some(m) = max_versions.filter(|m| *m >= 0) {
                body["max_versions"] = json!(m);
            }
            if let Some(c) = cas_required {
                body["cas_required"] = json!(c);
            }
            if let Some(d) = delete_version_after {
                body["delete_version_after"] = json!(d);
            }
            if !custom_metadata.is_empty() {
                let mut custom = Map::new();
                for kv in &custom_metadata {
                    let (k, v) = kv.split_once('=').ok_or_else(|| {
                        ClientError::Usage(format!(
                            "invalid custom metadata {kv:?}: format must be key=value"
                        ))
                    })?;
                    custom.insert(k.to_string(), json!(v));
                }
                body["custom_metadata"] = Value::Object(custom);
            }
            client.write(&full, &body)?;
            println!("Success! Data written to: {full}");
        }
    }
    Ok(0)
}
