//! consul-template's KV v2 path rule: a template may read `secret/app` from a KV v2 mount at
//! `secret/`, and the read goes to `secret/data/app`. The mount and its version come from
//! `sys/internal/ui/mounts/<path>` (what Vault Agent asks); the rewrite is this pure function.

use serde_json::Value;

/// The mount path (`secret/`) of a `sys/internal/ui/mounts/<path>` answer, when that mount is
/// KV version 2.
pub fn kv2_mount(answer: &Value) -> Option<String> {
    let data = &answer["data"];
    let version = &data["options"]["version"];
    let is_v2 = version.as_str() == Some("2") || version.as_u64() == Some(2);
    let mount = data["path"].as_str().filter(|p| !p.is_empty())?;
    is_v2.then(|| {
        if mount.ends_with('/') {
            mount.to_string()
        } else {
            format!("{mount}/")
        }
    })
}

/// The path a read of `raw` goes to on the KV v2 mount `mount` (ending in `/`): `data/` is
/// inserted after the mount unless the path already starts with `data/` or `metadata/`.
pub fn shim(raw: &str, mount: &str) -> String {
    let raw = raw.trim_matches('/');
    let bare = mount.trim_end_matches('/');
    if raw == bare {
        return format!("{bare}/data");
    }
    match raw.strip_prefix(mount) {
        Some(rest) if rest.starts_with("data/") || rest.starts_with("metadata/") => raw.into(),
        Some(rest) => format!("{bare}/data/{rest}"),
        None => raw.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn data_is_inserted_once_after_the_mount() {
        assert_eq!(shim("secret/app", "secret/"), "secret/data/app");
        assert_eq!(shim("secret/data/app", "secret/"), "secret/data/app");
        assert_eq!(
            shim("secret/metadata/app", "secret/"),
            "secret/metadata/app"
        );
        assert_eq!(shim("secret", "secret/"), "secret/data");
        assert_eq!(shim("team/kv/a/b", "team/kv/"), "team/kv/data/a/b");
        assert_eq!(shim("other/app", "secret/"), "other/app");
    }

    #[test]
    fn only_version_2_mounts_are_shimmed() {
        let v2 = json!({"data": {"path": "secret/", "type": "kv", "options": {"version": "2"}}});
        assert_eq!(kv2_mount(&v2).as_deref(), Some("secret/"));
        let v1 = json!({"data": {"path": "secret/", "type": "kv", "options": {"version": "1"}}});
        assert_eq!(kv2_mount(&v1), None);
        let none = json!({"data": {"path": "transit/", "type": "transit", "options": null}});
        assert_eq!(kv2_mount(&none), None);
    }
}
