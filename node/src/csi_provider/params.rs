//! A Mount request's `attributes`: the SecretProviderClass `parameters` (vault-csi-provider's
//! names) plus what the CSI driver adds about the pod, among them the service account tokens it
//! requested for the provider (`csi.storage.k8s.io/serviceAccount.tokens`, a JSON string of
//! `{"<audience>": {"token": ..., "expirationTimestamp": ...}}`). Plain data in, a verdict out.

use super::objects::{self, Object, ObjectsError};
use serde_json::{Map, Value};
use std::path::PathBuf;

const POD_NAME: &str = "csi.storage.k8s.io/pod.name";
const POD_NAMESPACE: &str = "csi.storage.k8s.io/pod.namespace";
const SERVICE_ACCOUNT: &str = "csi.storage.k8s.io/serviceAccount.name";
const SA_TOKENS: &str = "csi.storage.k8s.io/serviceAccount.tokens";

/// Why the attributes cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    #[error("attributes are not a JSON object of strings: {0}")]
    Json(String),
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("{SA_TOKENS}: {0}")]
    Tokens(String),
    #[error("no service account token for audience {0:?}: set tokenRequests on the CSIDriver")]
    NoToken(String),
    #[error("{name}: {value:?} is not a boolean")]
    Bool { name: &'static str, value: String },
    #[error(transparent)]
    Objects(#[from] ObjectsError),
}

/// What one Mount needs to know.
#[derive(Debug, Clone, PartialEq)]
pub struct MountParams {
    pub role: String,
    /// `vaultAddress`; `None`: the provider's `-address`.
    pub address: Option<String>,
    pub auth_mount: String,
    pub skip_verify: bool,
    pub ca_cert: Option<PathBuf>,
    pub jwt: String,
    pub pod: PodInfo,
    pub objects: Vec<Object>,
}

/// Who the volume is for (logged; the login itself is the token's business).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodInfo {
    pub name: String,
    pub namespace: String,
    pub service_account: String,
}

fn text<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Parse `attributes`.
pub fn parse(attributes: &str) -> Result<MountParams, ParamsError> {
    let map: Map<String, Value> =
        serde_json::from_str(attributes).map_err(|e| ParamsError::Json(e.to_string()))?;
    let role = text(&map, "roleName").ok_or(ParamsError::Missing("roleName"))?;
    let objects_yaml = text(&map, "objects").ok_or(ParamsError::Missing("objects"))?;
    let objects = objects::parse(objects_yaml)?;
    let skip_verify = match text(&map, "vaultSkipTLSVerify") {
        None => false,
        Some(v) => parse_bool(v).ok_or_else(|| ParamsError::Bool {
            name: "vaultSkipTLSVerify",
            value: v.to_string(),
        })?,
    };
    let audience = text(&map, "audience").unwrap_or("");
    let tokens = text(&map, SA_TOKENS).ok_or(ParamsError::NoToken(audience.to_string()))?;
    let jwt = token_for(tokens, audience)?;
    Ok(MountParams {
        role: role.to_string(),
        address: text(&map, "vaultAddress").map(str::to_string),
        auth_mount: text(&map, "vaultKubernetesMountPath")
            .unwrap_or("kubernetes")
            .trim_matches('/')
            .to_string(),
        skip_verify,
        ca_cert: text(&map, "vaultCACertPath").map(PathBuf::from),
        jwt,
        pod: PodInfo {
            name: text(&map, POD_NAME).unwrap_or_default().to_string(),
            namespace: text(&map, POD_NAMESPACE).unwrap_or_default().to_string(),
            service_account: text(&map, SERVICE_ACCOUNT).unwrap_or_default().to_string(),
        },
        objects,
    })
}

/// The token for `audience` in the driver's token JSON.
fn token_for(tokens: &str, audience: &str) -> Result<String, ParamsError> {
    let map: Map<String, Value> =
        serde_json::from_str(tokens).map_err(|e| ParamsError::Tokens(e.to_string()))?;
    map.get(audience)
        .and_then(|t| t.get("token"))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ParamsError::NoToken(audience.to_string()))
}

/// Go's `strconv.ParseBool`.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn attributes(extra: Value) -> String {
        let mut base = json!({
            "roleName": "app",
            "objects": "- objectName: pw\n  secretPath: secret/data/db\n  secretKey: password\n",
            "csi.storage.k8s.io/pod.name": "web-0",
            "csi.storage.k8s.io/pod.namespace": "default",
            "csi.storage.k8s.io/serviceAccount.name": "web",
            "csi.storage.k8s.io/serviceAccount.tokens":
                json!({"": {"token": "jwt-default", "expirationTimestamp": "2030-01-01T00:00:00Z"},
                       "coffer": {"token": "jwt-coffer", "expirationTimestamp": "2030-01-01T00:00:00Z"}})
                    .to_string(),
        });
        if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        base.to_string()
    }

    #[test]
    fn the_drivers_attributes_parse() {
        let p = parse(&attributes(json!({}))).unwrap();
        assert_eq!(p.role, "app");
        assert_eq!(p.auth_mount, "kubernetes");
        assert_eq!(p.jwt, "jwt-default");
        assert_eq!(p.pod.service_account, "web");
        assert_eq!(p.objects.len(), 1);
        assert!(!p.skip_verify);
        let p = parse(&attributes(json!({"audience": "coffer",
            "vaultKubernetesMountPath": "/k8s-east/", "vaultSkipTLSVerify": "true",
            "vaultAddress": "https://coffer:8200"})))
        .unwrap();
        assert_eq!(p.jwt, "jwt-coffer");
        assert_eq!(p.auth_mount, "k8s-east");
        assert!(p.skip_verify);
        assert_eq!(p.address.as_deref(), Some("https://coffer:8200"));
    }

    #[test]
    fn missing_pieces_are_named() {
        assert_eq!(
            parse(&attributes(json!({"roleName": ""}))),
            Err(ParamsError::Missing("roleName"))
        );
        assert_eq!(
            parse(&attributes(json!({"audience": "other"}))),
            Err(ParamsError::NoToken("other".into()))
        );
        assert!(matches!(
            parse(&attributes(json!({"vaultSkipTLSVerify": "maybe"}))),
            Err(ParamsError::Bool { .. })
        ));
        assert!(parse("[]").is_err());
    }

    proptest! {
        #[test]
        fn fuzz_attributes_never_panic(s in "\\PC{0,300}") {
            let _ = parse(&s);
        }

        #[test]
        fn fuzz_attribute_values_never_panic(
            objects in "\\PC{0,120}",
            tokens in "\\PC{0,80}",
            audience in "[a-z]{0,4}",
        ) {
            let a = json!({"roleName": "r", "objects": objects, "audience": audience,
                "csi.storage.k8s.io/serviceAccount.tokens": tokens}).to_string();
            let _ = parse(&a);
        }
    }
}
