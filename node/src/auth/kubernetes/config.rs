//! `auth/<mount>/config`: where the cluster's API server is, the CA that verifies it, and the
//! JWT that authorises TokenReview calls. A write replaces the whole config, as in Vault.

use crate::error::ApiError;
use crate::fields::Fields;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// Where a pod finds its own service account token and the cluster CA.
pub const LOCAL_JWT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";
pub const LOCAL_CA_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";

/// The stored config (`config`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct KubeConfig {
    pub kubernetes_host: String,
    pub kubernetes_ca_cert: String,
    pub token_reviewer_jwt: String,
    pub issuer: String,
    pub disable_iss_validation: bool,
    pub disable_local_ca_jwt: bool,
}

impl KubeConfig {
    /// The config a write describes; nothing is kept from an earlier one.
    pub fn from_write(data: &Map<String, Value>) -> Result<KubeConfig, ApiError> {
        let f = Fields(data);
        let host = f.str_opt("kubernetes_host")?.unwrap_or_default();
        let host = host.trim().trim_end_matches('/').to_string();
        if host.is_empty() {
            return Err(ApiError::bad("no host provided"));
        }
        if !(host.starts_with("https://") || host.starts_with("http://")) {
            return Err(ApiError::bad(format!(
                "invalid kubernetes_host {host:?}: it must start with https:// or http://"
            )));
        }
        let ca = f.str_opt("kubernetes_ca_cert")?.unwrap_or_default();
        if !ca.trim().is_empty() && !ca.contains("-----BEGIN CERTIFICATE-----") {
            return Err(ApiError::bad(
                "kubernetes_ca_cert: the PEM data contains no certificate",
            ));
        }
        let pem_keys = f.list_opt("pem_keys")?.unwrap_or_default();
        if pem_keys.iter().any(|k| !k.trim().is_empty()) {
            return Err(ApiError::bad(
                "pem_keys are not supported by this server: service account tokens are verified by the cluster's TokenReview API",
            ));
        }
        Ok(KubeConfig {
            kubernetes_host: host,
            kubernetes_ca_cert: ca,
            token_reviewer_jwt: f
                .str_opt("token_reviewer_jwt")?
                .unwrap_or_default()
                .trim()
                .to_string(),
            issuer: f.str_opt("issuer")?.unwrap_or_default(),
            disable_iss_validation: f.bool_or("disable_iss_validation", true)?,
            disable_local_ca_jwt: f.bool_or("disable_local_ca_jwt", false)?,
        })
    }

    /// The `data` of a config read; the reviewer JWT is never shown, only whether it is set.
    pub fn read_json(&self) -> Map<String, Value> {
        let v = json!({
            "kubernetes_host": self.kubernetes_host,
            "kubernetes_ca_cert": self.kubernetes_ca_cert,
            "pem_keys": [],
            "issuer": self.issuer,
            "disable_iss_validation": self.disable_iss_validation,
            "disable_local_ca_jwt": self.disable_local_ca_jwt,
            "use_annotations_as_alias_metadata": false,
            "token_reviewer_jwt_set": !self.token_reviewer_jwt.is_empty(),
        });
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// The CA to verify the API server with: the configured one, else (unless disabled) the
    /// pod's own.
    pub fn ca_pem(&self) -> Option<String> {
        if !self.kubernetes_ca_cert.trim().is_empty() {
            return Some(self.kubernetes_ca_cert.clone());
        }
        self.local_file(LOCAL_CA_PATH)
    }

    /// The bearer of TokenReview calls: the reviewer JWT, else (unless disabled) the pod's own
    /// token, else the JWT under review itself (the cluster then lets each account review itself).
    pub fn reviewer_jwt(&self, login_jwt: &str) -> String {
        if !self.token_reviewer_jwt.is_empty() {
            return self.token_reviewer_jwt.clone();
        }
        self.local_file(LOCAL_JWT_PATH)
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| login_jwt.to_string())
    }

    fn local_file(&self, path: &str) -> Option<String> {
        if self.disable_local_ca_jwt {
            return None;
        }
        std::fs::read_to_string(path).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(v: Value) -> Result<KubeConfig, ApiError> {
        KubeConfig::from_write(v.as_object().unwrap())
    }

    #[test]
    fn a_write_needs_a_host_and_hides_the_reviewer_jwt_on_read() {
        assert!(write(json!({})).is_err());
        assert!(write(json!({"kubernetes_host": "10.0.0.1"})).is_err());
        assert!(
            write(json!({"kubernetes_host": "https://k", "kubernetes_ca_cert": "junk"})).is_err()
        );
        assert!(write(json!({"kubernetes_host": "https://k", "pem_keys": ["x"]})).is_err());
        let c = write(json!({"kubernetes_host": "https://k:6443/", "token_reviewer_jwt": "r.j.t"}))
            .unwrap();
        assert_eq!(c.kubernetes_host, "https://k:6443");
        assert!(c.disable_iss_validation);
        let shown = c.read_json();
        assert_eq!(shown["token_reviewer_jwt_set"], true);
        assert!(!serde_json::to_string(&shown).unwrap().contains("r.j.t"));
    }

    #[test]
    fn without_a_reviewer_jwt_the_login_jwt_reviews_itself() {
        let c =
            write(json!({"kubernetes_host": "https://k", "disable_local_ca_jwt": true})).unwrap();
        assert_eq!(c.reviewer_jwt("login.jwt.x"), "login.jwt.x");
        assert_eq!(c.ca_pem(), None);
        let c =
            write(json!({"kubernetes_host": "https://k", "token_reviewer_jwt": "rev"})).unwrap();
        assert_eq!(c.reviewer_jwt("login.jwt.x"), "rev");
    }
}
