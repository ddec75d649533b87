//! Where a `kv` path lives: the mount and KV version found through
//! `sys/internal/ui/mounts/<path>`, and how a write's answer is printed.

use super::client::{Client, ClientError};
use super::kv_args::Mount;
use super::output::{self, Format};
use super::Out;
use serde_json::Value;

/// A KV path split into mount and the rest, with the mount's version.
pub struct KvPath {
    pub mount: String,
    pub rest: String,
    pub v2: bool,
}

impl KvPath {
    /// `-mount=M KEY` or the path-like `M/KEY`.
    pub fn resolve(client: &Client, path: &str, mount: &Mount) -> Result<KvPath, ClientError> {
        let lookup = match &mount.mount {
            Some(m) => m.trim_matches('/').to_string(),
            None => path.trim_matches('/').to_string(),
        };
        let reply = client.preflight(&format!("sys/internal/ui/mounts/{lookup}"))?;
        let data = &reply.body["data"];
        let found = data["path"].as_str().unwrap_or_default();
        if found.is_empty() {
            return Err(ClientError::Usage(format!(
                "no KV mount found for {lookup}"
            )));
        }
        let mount_path = format!("{}/", found.trim_end_matches('/'));
        let rest = match &mount.mount {
            Some(_) => path.trim_matches('/').to_string(),
            None => lookup
                .strip_prefix(mount_path.trim_end_matches('/'))
                .unwrap_or("")
                .trim_matches('/')
                .to_string(),
        };
        let v2 = data["options"]["version"].as_str() == Some("2");
        Ok(KvPath {
            mount: mount_path,
            rest,
            v2,
        })
    }

    /// The API path: `<mount><section>/<rest>` on v2, `<mount><rest>` on v1.
    pub fn api(&self, section: &str) -> String {
        let p = if self.v2 {
            format!("{}{}/{}", self.mount, section, self.rest)
        } else {
            format!("{}{}", self.mount, self.rest)
        };
        p.trim_end_matches('/').to_string()
    }

    /// Fail with Vault's message unless the mount is KV version 2.
    pub fn require_v2(&self, what: &str) -> Result<(), ClientError> {
        if self.v2 {
            Ok(())
        } else {
            Err(ClientError::Usage(format!(
                "{what} is only supported on KV Version 2"
            )))
        }
    }
}

/// What `kv put`/`patch`/`rollback` print: the path and the new version's metadata.
pub fn written(out: &Out, full: &str, body: &Value) -> i32 {
    if body.is_null() {
        if out.format == Format::Table {
            println!("Success! Data written to: {full}");
        }
        return 0;
    }
    if out.field.is_some() || out.format == Format::Json || body["wrap_info"].is_object() {
        return out.secret(body);
    }
    output::path_section("Secret Path", full);
    output::titled_map("Metadata", &body["data"]);
    0
}
