//! The JSON patch (RFC 6902) that injects the agent into a pod: the shared in-memory secrets
//! volume mounted in every app container, the agent's home volumes, the init container and the
//! sidecar, and the `agent-inject-status: injected` annotation. Pure: a pod in, operations out.

use super::agent_config::{self, HOME};
use super::annotations::{AgentSpec, AGENT_INJECT_STATUS};
use serde_json::{json, Value};

/// The in-memory volume the agent renders into.
pub const SECRETS_VOLUME: &str = "vault-secrets";
pub const INIT_HOME: &str = "home-init";
pub const SIDECAR_HOME: &str = "home-sidecar";
pub const INIT_CONTAINER: &str = "vault-agent-init";
pub const SIDECAR: &str = "vault-agent";
/// Where the kubelet mounts the service account token.
pub const TOKEN_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// RFC 6901: `~` → `~0`, `/` → `~1`.
pub fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn add(path: String, value: Value) -> Value {
    json!({"op": "add", "path": path, "value": value})
}

/// Append `items` to the array at `path`: create it when the pod has none, else add each.
fn append(ops: &mut Vec<Value>, existing: Option<&Value>, path: &str, items: Vec<Value>) {
    if items.is_empty() {
        return;
    }
    match existing.and_then(Value::as_array) {
        Some(_) => ops.extend(items.into_iter().map(|i| add(format!("{path}/-"), i))),
        None => ops.push(add(path.to_string(), Value::Array(items))),
    }
}

/// The service-account token mount of the pod's first container that has one (the kubelet
/// mounts the same projected volume in each): the agents reuse it to log in.
fn token_mount(pod: &Value) -> Option<Value> {
    let containers = pod["spec"]["containers"].as_array()?;
    containers.iter().find_map(|c| {
        c["volumeMounts"].as_array()?.iter().find_map(|m| {
            let name = m["name"].as_str()?;
            (m["mountPath"].as_str()? == TOKEN_DIR)
                .then(|| json!({"name": name, "mountPath": TOKEN_DIR, "readOnly": true}))
        })
    })
}

fn container(spec: &AgentSpec, name: &str, home: &str, init: bool, token: Option<&Value>) -> Value {
    let config = agent_config::build(spec, init);
    let mut mounts = vec![
        json!({"name": home, "mountPath": HOME}),
        json!({"name": SECRETS_VOLUME, "mountPath": spec.secret_volume_path}),
    ];
    mounts.extend(token.cloned());
    let r = &spec.resources;
    json!({
        "name": name,
        "image": spec.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-ec"],
        "args": [agent_config::shell_args()],
        "env": [
            {"name": "VAULT_CONFIG", "value": agent_config::encoded(&config)},
            {"name": "HOME", "value": HOME},
        ],
        "resources": {
            "limits": {"cpu": r.limits_cpu, "memory": r.limits_mem},
            "requests": {"cpu": r.requests_cpu, "memory": r.requests_mem},
        },
        "securityContext": {
            "runAsUser": spec.run_as_user,
            "runAsGroup": spec.run_as_group,
            "runAsNonRoot": spec.run_as_user != 0,
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": mounts,
    })
}

fn empty_dir(name: &str) -> Value {
    json!({"name": name, "emptyDir": {"medium": "Memory"}})
}

/// The operations that inject `spec` into `pod` (call only for pods that want injection).
pub fn inject(pod: &Value, spec: &AgentSpec) -> Vec<Value> {
    let mut ops = Vec::new();
    let pod_spec = &pod["spec"];
    let token = token_mount(pod);
    let init = spec.pre_populate;
    let sidecar = !spec.pre_populate_only;

    let mut volumes = vec![empty_dir(SECRETS_VOLUME)];
    if init {
        volumes.push(empty_dir(INIT_HOME));
    }
    if sidecar {
        volumes.push(empty_dir(SIDECAR_HOME));
    }
    append(&mut ops, pod_spec.get("volumes"), "/spec/volumes", volumes);

    let secrets_mount = json!({"name": SECRETS_VOLUME, "mountPath": spec.secret_volume_path});
    for (i, c) in pod_spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        append(
            &mut ops,
            c.get("volumeMounts"),
            &format!("/spec/containers/{i}/volumeMounts"),
            vec![secrets_mount.clone()],
        );
    }

    if init {
        let c = container(spec, INIT_CONTAINER, INIT_HOME, true, token.as_ref());
        match pod_spec.get("initContainers").and_then(Value::as_array) {
            Some(_) if spec.init_first => ops.push(add("/spec/initContainers/0".into(), c)),
            existing => append(
                &mut ops,
                existing.map(|_| &pod_spec["initContainers"]),
                "/spec/initContainers",
                vec![c],
            ),
        }
    }
    if sidecar {
        let c = container(spec, SIDECAR, SIDECAR_HOME, false, token.as_ref());
        append(
            &mut ops,
            pod_spec.get("containers"),
            "/spec/containers",
            vec![c],
        );
    }

    let status = json!("injected");
    match pod["metadata"]
        .get("annotations")
        .and_then(Value::as_object)
    {
        Some(_) => ops.push(add(
            format!("/metadata/annotations/{}", escape(AGENT_INJECT_STATUS)),
            status,
        )),
        None => ops.push(add(
            "/metadata/annotations".into(),
            json!({ AGENT_INJECT_STATUS: status }),
        )),
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::injector::annotations::{read, Defaults};
    use std::collections::BTreeMap;

    fn spec(extra: &[(&str, &str)]) -> AgentSpec {
        let mut a: BTreeMap<String, String> = [("role", "r"), ("agent-inject-secret-x", "kv/x")]
            .iter()
            .chain(extra)
            .map(|(k, v)| (format!("vault.hashicorp.com/{k}"), v.to_string()))
            .collect();
        a.insert("vault.hashicorp.com/agent-inject".into(), "true".into());
        read(
            &a,
            &Defaults {
                agent_image: "coffer:1".into(),
                vault_address: "http://c:8200".into(),
                auth_path: "auth/kubernetes".into(),
            },
        )
        .unwrap()
    }

    fn paths(ops: &[Value]) -> Vec<&str> {
        ops.iter().map(|o| o["path"].as_str().unwrap()).collect()
    }

    #[test]
    fn escapes_per_rfc_6901() {
        assert_eq!(
            escape("vault.hashicorp.com/a~b"),
            "vault.hashicorp.com~1a~0b"
        );
    }

    #[test]
    fn a_bare_pod_gets_arrays_created() {
        let pod = json!({"metadata": {}, "spec": {"containers": [{"name": "app", "image": "a"}]}});
        let ops = inject(&pod, &spec(&[]));
        assert_eq!(
            paths(&ops),
            [
                "/spec/volumes",
                "/spec/containers/0/volumeMounts",
                "/spec/initContainers",
                "/spec/containers/-",
                "/metadata/annotations"
            ]
        );
        assert_eq!(ops[0]["value"].as_array().unwrap().len(), 3);
        assert_eq!(ops[2]["value"][0]["name"], INIT_CONTAINER);
        assert_eq!(ops[3]["value"]["name"], SIDECAR);
        assert_eq!(ops[4]["value"][AGENT_INJECT_STATUS], "injected");
    }

    #[test]
    fn existing_arrays_are_appended_to_and_the_token_mount_reused() {
        let pod = json!({
            "metadata": {"annotations": {"a": "b"}},
            "spec": {
                "volumes": [{"name": "kube-api-access-x", "projected": {"sources": []}}],
                "initContainers": [{"name": "first", "image": "i"}],
                "containers": [
                    {"name": "app", "image": "a", "volumeMounts": [
                        {"name": "kube-api-access-x", "mountPath": TOKEN_DIR, "readOnly": true}]},
                    {"name": "other", "image": "o"},
                ],
            }
        });
        let ops = inject(&pod, &spec(&[("agent-init-first", "true")]));
        assert_eq!(
            paths(&ops),
            [
                "/spec/volumes/-",
                "/spec/volumes/-",
                "/spec/volumes/-",
                "/spec/containers/0/volumeMounts/-",
                "/spec/containers/1/volumeMounts",
                "/spec/initContainers/0",
                "/spec/containers/-",
                "/metadata/annotations/vault.hashicorp.com~1agent-inject-status"
            ]
        );
        let mounts = ops[6]["value"]["volumeMounts"].as_array().unwrap();
        assert!(mounts.iter().any(|m| m["name"] == "kube-api-access-x"));
    }

    #[test]
    fn pre_populate_switches_pick_the_containers() {
        let pod = json!({"metadata": {}, "spec": {"containers": [{"name": "app"}]}});
        let only = inject(&pod, &spec(&[("agent-pre-populate-only", "true")]));
        assert!(!paths(&only).contains(&"/spec/containers/-"));
        assert_eq!(only[0]["value"].as_array().unwrap().len(), 2);
        let no_init = inject(&pod, &spec(&[("agent-pre-populate", "false")]));
        assert!(!paths(&no_init).contains(&"/spec/initContainers"));
    }
}
