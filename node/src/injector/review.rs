//! One AdmissionReview (`admission.k8s.io/v1`) in, its answer out: the request's uid echoed,
//! `allowed`, and for a pod that asks for the agent a base64 JSONPatch. Pods without
//! `agent-inject: true`, pods already injected, other kinds and other operations are allowed
//! untouched; annotations that cannot be honoured refuse the pod with a message (the API
//! server shows it to whoever created the pod). Pure, and total over arbitrary bytes.

use super::annotations::{self, Defaults};
use super::patch;
use base64::Engine as _;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const API_VERSION: &str = "admission.k8s.io/v1";

/// Namespaces Vault's injector never touches.
const SKIPPED_NAMESPACES: [&str; 2] = ["kube-system", "kube-public"];

/// Why a body is not an AdmissionReview the webhook can answer (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("expected an AdmissionReview of apiVersion {API_VERSION}, got kind {kind:?} apiVersion {api_version:?}")]
    NotAReview { kind: String, api_version: String },
    #[error("the AdmissionReview has no request.uid")]
    NoUid,
}

/// What the webhook decided for one pod.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Allowed, unchanged.
    Untouched,
    /// Allowed with these operations.
    Patch(Vec<Value>),
    /// Refused with this message.
    Refused(String),
}

/// Decide for the pod in `request` (its `object`).
pub fn decide(request: &Value, defaults: &Defaults) -> Verdict {
    let kind = request["kind"]["kind"].as_str().unwrap_or_default();
    let operation = request["operation"].as_str().unwrap_or_default();
    let namespace = request["namespace"].as_str().unwrap_or_default();
    if kind != "Pod" || operation != "CREATE" || SKIPPED_NAMESPACES.contains(&namespace) {
        return Verdict::Untouched;
    }
    let pod = &request["object"];
    let notes: BTreeMap<String, String> = pod["metadata"]["annotations"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect();
    match annotations::wants_injection(&notes) {
        Ok(false) => return Verdict::Untouched,
        Ok(true) => {}
        Err(e) => return Verdict::Refused(e.to_string()),
    }
    if !pod["spec"]["containers"].is_array() {
        return Verdict::Refused("the pod has no spec.containers".into());
    }
    match annotations::read(&notes, defaults) {
        Ok(spec) => Verdict::Patch(patch::inject(pod, &spec)),
        Err(e) => Verdict::Refused(e.to_string()),
    }
}

/// The AdmissionReview answering `body`.
pub fn respond(body: &[u8], defaults: &Defaults) -> Result<Value, ReviewError> {
    let review: Value =
        serde_json::from_slice(body).map_err(|e| ReviewError::NotJson(e.to_string()))?;
    let kind = review["kind"].as_str().unwrap_or_default();
    let api_version = review["apiVersion"].as_str().unwrap_or_default();
    if kind != "AdmissionReview" || api_version != API_VERSION {
        return Err(ReviewError::NotAReview {
            kind: kind.into(),
            api_version: api_version.into(),
        });
    }
    let request = &review["request"];
    let uid = request["uid"]
        .as_str()
        .filter(|u| !u.is_empty())
        .ok_or(ReviewError::NoUid)?;
    let response = match decide(request, defaults) {
        Verdict::Untouched => json!({"uid": uid, "allowed": true}),
        Verdict::Patch(ops) => {
            let bytes = serde_json::to_vec(&ops).unwrap_or_default();
            json!({
                "uid": uid,
                "allowed": true,
                "patchType": "JSONPatch",
                "patch": base64::engine::general_purpose::STANDARD.encode(bytes),
            })
        }
        Verdict::Refused(message) => json!({
            "uid": uid,
            "allowed": false,
            "status": {"status": "Failure", "message": message, "reason": "BadRequest", "code": 400},
        }),
    };
    Ok(json!({"apiVersion": API_VERSION, "kind": "AdmissionReview", "response": response}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn defaults() -> Defaults {
        Defaults {
            agent_image: "coffer:1".into(),
            vault_address: "http://c:8200".into(),
            auth_path: "auth/kubernetes".into(),
        }
    }

    fn review(annotations: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "apiVersion": API_VERSION, "kind": "AdmissionReview",
            "request": {
                "uid": "u-1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "operation": "CREATE", "namespace": "app",
                "object": {"metadata": {"annotations": annotations},
                           "spec": {"containers": [{"name": "app", "image": "a"}]}},
            }
        }))
        .unwrap()
    }

    #[test]
    fn verdicts() {
        let r = respond(&review(json!({})), &defaults()).unwrap();
        assert_eq!(r["response"], json!({"uid": "u-1", "allowed": true}));

        let ask =
            json!({"vault.hashicorp.com/agent-inject": "true", "vault.hashicorp.com/role": "r"});
        let r = respond(&review(ask), &defaults()).unwrap();
        assert_eq!(r["response"]["patchType"], "JSONPatch");
        assert_eq!(r["response"]["uid"], "u-1");

        let done = json!({"vault.hashicorp.com/agent-inject": "true",
                          "vault.hashicorp.com/agent-inject-status": "injected"});
        let r = respond(&review(done), &defaults()).unwrap();
        assert!(r["response"].get("patch").is_none());

        let bad = json!({"vault.hashicorp.com/agent-inject": "true"});
        let r = respond(&review(bad), &defaults()).unwrap();
        assert_eq!(r["response"]["allowed"], false);
        assert!(r["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .contains("role"));
    }

    #[test]
    fn non_reviews_are_errors() {
        assert!(matches!(
            respond(b"{", &defaults()),
            Err(ReviewError::NotJson(_))
        ));
        let v1beta1 = br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview"}"#;
        assert!(matches!(
            respond(v1beta1, &defaults()),
            Err(ReviewError::NotAReview { .. })
        ));
        let no_uid =
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}"#;
        assert_eq!(respond(no_uid, &defaults()), Err(ReviewError::NoUid));
    }

    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            prop_oneof![
                Just("true".to_string()),
                Just("Pod".to_string()),
                Just("CREATE".to_string()),
                ".{0,12}"
            ]
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("metadata".to_string()),
                        Just("annotations".to_string()),
                        Just("spec".to_string()),
                        Just("containers".to_string()),
                        Just("volumeMounts".to_string()),
                        Just("vault.hashicorp.com/agent-inject".to_string()),
                        Just("vault.hashicorp.com/role".to_string()),
                        Just("vault.hashicorp.com/agent-inject-secret-a".to_string()),
                        ".{0,8}"
                    ],
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn fuzz_admission_review_never_panics(object in arbitrary_json(), raw in proptest::collection::vec(any::<u8>(), 0..64)) {
            let body = serde_json::to_vec(&json!({
                "apiVersion": API_VERSION, "kind": "AdmissionReview",
                "request": {"uid": "u", "kind": {"kind": "Pod"}, "operation": "CREATE", "object": object},
            })).unwrap();
            let answer = respond(&body, &defaults()).unwrap();
            prop_assert_eq!(&answer["response"]["uid"], "u");
            let _ = respond(&raw, &defaults());
        }
    }
}
