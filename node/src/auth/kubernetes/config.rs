//! `auth/<mount>/config`: where the cluster's API server is, the CA that verifies it, and the
//! JWT that authorises TokenReview calls. A write replaces the whole config, as in Vault.
//! Unless `disable_local_ca_jwt` is set, a missing CA or reviewer JWT is the pod's own (read
//! afresh at each login, see `local.rs`); with it set, the CA must be configured and a missing
//! reviewer JWT is the one under review.

use super::local::{LocalAccount, LocalFileError};
use crate::error::ApiError;
use crate::fields::Fields;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

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
    /// The config a write describes; nothing is kept from an earlier one. Without a configured
    /// CA, the pod's own must exist now (Vault refuses the write with the file's error).
    pub fn from_write(
        data: &Map<String, Value>,
        local: &LocalAccount,
    ) -> Result<KubeConfig, ApiError> {
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
        let config = KubeConfig {
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
        };
        if config.kubernetes_ca_cert.trim().is_empty() {
            if config.disable_local_ca_jwt {
                return Err(ApiError::bad(
                    "kubernetes_ca_cert must be given when disable_local_ca_jwt is true",
                ));
            }
            local.ca_pem().map_err(|e| ApiError::bad(e.to_string()))?;
        }
        Ok(config)
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

    /// What a TokenReview call needs, as things stand at this login.
    ///
    /// The CA: the configured one, else (unless disabled) the pod's own, which must exist.
    /// The bearer: the reviewer JWT, else (unless disabled) the pod's own token, else the JWT
    /// under review itself (the cluster then lets each account review itself).
    pub fn reviewing(
        &self,
        login_jwt: &str,
        local: &LocalAccount,
    ) -> Result<Reviewing, LocalFileError> {
        let use_local = !self.disable_local_ca_jwt;
        let ca_pem = if !self.kubernetes_ca_cert.trim().is_empty() {
            Some(self.kubernetes_ca_cert.clone())
        } else if use_local {
            Some(local.ca_pem()?)
        } else {
            None
        };
        let bearer = if !self.token_reviewer_jwt.is_empty() {
            Zeroizing::new(self.token_reviewer_jwt.clone())
        } else {
            use_local
                .then(|| local.token())
                .flatten()
                .unwrap_or_else(|| Zeroizing::new(login_jwt.to_string()))
        };
        Ok(Reviewing { bearer, ca_pem })
    }
}

/// The bearer token and CA of one TokenReview call.
pub struct Reviewing {
    pub bearer: Zeroizing<String>,
    pub ca_pem: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service account directory holding `files` (name, contents).
    fn account(name: &str, files: &[(&str, &str)]) -> LocalAccount {
        let d =
            std::env::temp_dir().join(format!("coffer-k8s-config-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        for (file, text) in files {
            std::fs::write(d.join(file), text).unwrap();
        }
        LocalAccount::at(d)
    }

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    fn write(v: Value, local: &LocalAccount) -> Result<KubeConfig, ApiError> {
        KubeConfig::from_write(v.as_object().unwrap(), local)
    }

    #[test]
    fn a_write_needs_a_host_and_hides_the_reviewer_jwt_on_read() {
        let none = account("none", &[]);
        assert!(write(json!({}), &none).is_err());
        assert!(write(json!({"kubernetes_host": "10.0.0.1"}), &none).is_err());
        let junk = json!({"kubernetes_host": "https://k", "kubernetes_ca_cert": "junk"});
        assert!(write(junk, &none).is_err());
        let pem_keys =
            json!({"kubernetes_host": "https://k", "kubernetes_ca_cert": PEM, "pem_keys": ["x"]});
        assert!(write(pem_keys, &none).is_err());
        let c = write(
            json!({"kubernetes_host": "https://k:6443/", "kubernetes_ca_cert": PEM,
                   "token_reviewer_jwt": "r.j.t"}),
            &none,
        )
        .unwrap();
        assert_eq!(c.kubernetes_host, "https://k:6443");
        assert!(c.disable_iss_validation);
        let shown = c.read_json();
        assert_eq!(shown["token_reviewer_jwt_set"], true);
        assert!(!serde_json::to_string(&shown).unwrap().contains("r.j.t"));
    }

    #[test]
    fn without_a_configured_ca_one_must_exist_as_vault_requires() {
        let none = account("no-ca", &[]);
        let err = write(json!({"kubernetes_host": "https://k"}), &none).unwrap_err();
        assert!(
            err.to_string()
                .contains("ca.crt: no such file or directory"),
            "{err}"
        );
        let err = write(
            json!({"kubernetes_host": "https://k", "disable_local_ca_jwt": true}),
            &account("local-ca", &[("ca.crt", PEM)]),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "kubernetes_ca_cert must be given when disable_local_ca_jwt is true"
        );
        let local = account("local-ok", &[("ca.crt", PEM)]);
        let c = write(json!({"kubernetes_host": "https://k"}), &local).unwrap();
        assert_eq!(
            c.kubernetes_ca_cert, "",
            "the local CA is read at each login, not stored"
        );
    }

    #[test]
    fn the_pods_own_token_and_ca_review_unless_disabled() {
        let local = account("own", &[("ca.crt", PEM), ("token", "own.jwt\n")]);
        let c = write(json!({"kubernetes_host": "https://k"}), &local).unwrap();
        let r = c.reviewing("login.jwt.x", &local).unwrap();
        assert_eq!(
            (r.bearer.as_str(), r.ca_pem.as_deref()),
            ("own.jwt", Some(PEM))
        );

        let configured = json!({"kubernetes_host": "https://k", "token_reviewer_jwt": "rev",
                                "kubernetes_ca_cert": "-----BEGIN CERTIFICATE-----\nX\n"});
        let c = write(configured, &local).unwrap();
        let r = c.reviewing("login.jwt.x", &local).unwrap();
        assert_eq!(r.bearer.as_str(), "rev");
        assert_ne!(r.ca_pem.as_deref(), Some(PEM));

        let disabled = json!({"kubernetes_host": "https://k", "kubernetes_ca_cert": PEM,
                              "disable_local_ca_jwt": true});
        let c = write(disabled, &local).unwrap();
        let r = c.reviewing("login.jwt.x", &local).unwrap();
        assert_eq!(
            r.bearer.as_str(),
            "login.jwt.x",
            "the JWT under review reviews itself"
        );

        // No local token: the JWT under review; the local CA gone after the write: an error.
        let ca_only = account("ca-only", &[("ca.crt", PEM)]);
        let c = write(json!({"kubernetes_host": "https://k"}), &ca_only).unwrap();
        assert_eq!(
            c.reviewing("login.jwt.x", &ca_only)
                .unwrap()
                .bearer
                .as_str(),
            "login.jwt.x"
        );
        assert!(c.reviewing("login.jwt.x", &account("gone", &[])).is_err());
    }
}
