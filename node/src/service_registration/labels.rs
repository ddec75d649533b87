//! The labels a node puts on its own pod, and the JSON patch (RFC 6902) that sets them. Plain
//! data and functions: the loop in `kubernetes.rs` does the I/O.

use serde_json::{json, Value};

/// `"true"` when this node is the unsealed Raft leader that serves requests.
pub const ACTIVE: &str = "coffer-active";
/// `"true"` while the barrier is sealed.
pub const SEALED: &str = "coffer-sealed";
/// `"true"` once the cluster has been initialised.
pub const INITIALIZED: &str = "coffer-initialized";
/// The coffer release running in the pod.
pub const VERSION: &str = "coffer-version";

/// What a node's labels say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodLabels {
    pub active: bool,
    pub sealed: bool,
    pub initialized: bool,
    pub version: String,
}

impl PodLabels {
    /// Label name and value, in a fixed order.
    pub fn pairs(&self) -> [(&'static str, String); 4] {
        [
            (ACTIVE, self.active.to_string()),
            (SEALED, self.sealed.to_string()),
            (INITIALIZED, self.initialized.to_string()),
            (VERSION, self.version.clone()),
        ]
    }

    /// The JSON patch that sets every label. `add` on an object member replaces it when
    /// present; a pod without any labels first gets an empty `labels` map, as `add` needs the
    /// parent to exist.
    pub fn json_patch(&self, pod_has_labels: bool) -> Value {
        let mut ops = Vec::new();
        if !pod_has_labels {
            ops.push(json!({"op": "add", "path": "/metadata/labels", "value": {}}));
        }
        for (name, value) in self.pairs() {
            ops.push(json!({
                "op": "add",
                "path": format!("/metadata/labels/{}", escape_pointer(name)),
                "value": value,
            }));
        }
        Value::Array(ops)
    }
}

/// A JSON pointer token (RFC 6901): `~` as `~0`, `/` as `~1`.
fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Whether a pod (as the API returns it) has a `metadata.labels` map.
pub fn pod_has_labels(pod: &Value) -> bool {
    pod.pointer("/metadata/labels")
        .is_some_and(Value::is_object)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> PodLabels {
        PodLabels {
            active: true,
            sealed: false,
            initialized: true,
            version: "0.1.0".into(),
        }
    }

    #[test]
    fn the_patch_adds_all_four_labels_as_strings() {
        let patch = labels().json_patch(true);
        assert_eq!(
            patch,
            json!([
                {"op": "add", "path": "/metadata/labels/coffer-active", "value": "true"},
                {"op": "add", "path": "/metadata/labels/coffer-sealed", "value": "false"},
                {"op": "add", "path": "/metadata/labels/coffer-initialized", "value": "true"},
                {"op": "add", "path": "/metadata/labels/coffer-version", "value": "0.1.0"},
            ])
        );
    }

    #[test]
    fn a_pod_without_labels_gets_the_map_first() {
        let patch = labels().json_patch(false);
        assert_eq!(
            patch[0],
            json!({"op": "add", "path": "/metadata/labels", "value": {}})
        );
        assert_eq!(patch.as_array().map(Vec::len), Some(5));
        assert!(!pod_has_labels(&json!({"metadata": {"name": "coffer-0"}})));
        assert!(pod_has_labels(
            &json!({"metadata": {"labels": {"app": "coffer"}}})
        ));
        assert_eq!(escape_pointer("a/b~c"), "a~1b~0c");
    }
}
