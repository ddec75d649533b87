//! `kv put/get/delete/list/metadata`: finds the mount and its KV version through
//! `sys/internal/ui/mounts/<path>` (as Vault's CLI does), then calls v1 or v2 paths.

use super::args::{KvCmd, KvMetadataCmd};
use super::client::{Client, ClientError};
use super::output::{self, Format};
use serde_json::{json, Value};

/// A KV path split into mount and the rest, with the mount's version.
struct KvPath {
    mount: String,
    rest: String,
    v2: bool,
}

impl KvPath {
    fn resolve(client: &Client, path: &str, mount: Option<&str>) -> Result<KvPath, ClientError> {
        let full = match mount {
            Some(m) => format!("{}/{}", m.trim_matches('/'), path.trim_matches('/')),
            None => path.trim_matches('/').to_string(),
        };
        let reply = client.read(&format!("sys/internal/ui/mounts/{full}"))?;
        let data = &reply.body["data"];
        let mount = data["path"].as_str().unwrap_or_default().to_string();
        if mount.is_empty() {
            return Err(ClientError::Usage(format!("no KV mount found for {full}")));
        }
        let rest = full
            .strip_prefix(mount.trim_end_matches('/'))
            .unwrap_or("")
            .trim_matches('/')
            .to_string();
        let v2 = data["options"]["version"].as_str() == Some("2");
        Ok(KvPath { mount, rest, v2 })
    }

    fn api(&self, section: &str) -> String {
        if self.v2 {
            format!("{}{}/{}", self.mount, section, self.rest)
        } else {
            format!("{}{}", self.mount, self.rest)
        }
    }
}

pub fn run(client: &Client, cmd: KvCmd, format: Format) -> Result<i32, ClientError> {
    match cmd {
        KvCmd::Put {
            path,
            pairs,
            mount,
            cas,
        } => {
            let kv = KvPath::resolve(client, &path, mount.as_deref())?;
            let data = super::parse_pairs(&pairs)?;
            if data.is_empty() {
                return Err(ClientError::Usage("Must supply data".into()));
            }
            let body = if kv.v2 {
                let mut b = json!({ "data": data });
                if let Some(c) = cas {
                    b["options"] = json!({ "cas": c });
                }
                b
            } else {
                Value::Object(data)
            };
            let reply = client.write(&kv.api("data"), &body)?;
            if reply.body.is_null() {
                println!("Success! Data written to: {path}");
            } else {
                output::secret(format, &reply.body);
            }
            Ok(0)
        }
        KvCmd::Get {
            path,
            mount,
            version,
        } => {
            let kv = KvPath::resolve(client, &path, mount.as_deref())?;
            let mut api = kv.api("data");
            if let Some(v) = version {
                api = format!("{api}?version={v}");
            }
            let reply = client.call("GET", &api, None, &[404])?;
            if reply.status == 404 || reply.body["data"].is_null() {
                eprintln!("No value found at {api}");
                return Ok(2);
            }
            if format == Format::Json || !kv.v2 {
                output::secret(format, &reply.body);
            } else {
                let inner = json!({ "data": reply.body["data"]["data"] });
                println!("====== Data ======");
                output::secret(format, &inner);
            }
            Ok(0)
        }
        KvCmd::Delete {
            path,
            mount,
            versions,
        } => {
            let kv = KvPath::resolve(client, &path, mount.as_deref())?;
            match versions {
                Some(v) if kv.v2 => {
                    let list: Vec<u64> =
                        v.split(',').filter_map(|s| s.trim().parse().ok()).collect();
                    client.write(&kv.api("delete"), &json!({ "versions": list }))?
                }
                _ => client.delete(&kv.api("data"))?,
            };
            println!("Success! Data deleted (if it existed) at: {path}");
            Ok(0)
        }
        KvCmd::List { path, mount } => {
            let kv = KvPath::resolve(client, &path, mount.as_deref())?;
            super::commands::list(client, &kv.api("metadata"), format)
        }
        KvCmd::Metadata(m) => metadata(client, m, format),
    }
}

fn metadata(client: &Client, cmd: KvMetadataCmd, format: Format) -> Result<i32, ClientError> {
    let (path, mount) = match &cmd {
        KvMetadataCmd::Get { path, mount }
        | KvMetadataCmd::Delete { path, mount }
        | KvMetadataCmd::Put { path, mount, .. } => (path.clone(), mount.clone()),
    };
    let kv = KvPath::resolve(client, &path, mount.as_deref())?;
    if !kv.v2 {
        eprintln!("Metadata not supported on KV Version 1");
        return Ok(1);
    }
    match cmd {
        KvMetadataCmd::Get { .. } => {
            let reply = client.read(&kv.api("metadata"))?;
            output::secret(format, &reply.body);
        }
        KvMetadataCmd::Delete { .. } => {
            client.delete(&kv.api("metadata"))?;
            println!(
                "Success! Data deleted (if it existed) at: {}",
                kv.api("metadata")
            );
        }
        KvMetadataCmd::Put {
            max_versions,
            cas_required,
            ..
        } => {
            let mut body = json!({});
            if let Some(m) = max_versions {
                body["max_versions"] = json!(m);
            }
            if let Some(c) = cas_required {
                body["cas_required"] = json!(c);
            }
            client.write(&kv.api("metadata"), &body)?;
            println!("Success! Data written to: {}", kv.api("metadata"));
        }
    }
    Ok(0)
}
