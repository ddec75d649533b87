//! Where the Kubernetes API is and who this pod is, the way in-cluster clients find out: the
//! API server from `KUBERNETES_SERVICE_HOST` / `KUBERNETES_SERVICE_PORT`, the credentials from
//! the service-account directory (`token`, `ca.crt`, `namespace`), the pod's name and namespace
//! from `VAULT_K8S_POD_NAME` / `VAULT_K8S_NAMESPACE` (the StatefulSet sets them from the
//! downward API), else the stanza's `pod_name` / `namespace`.

use crate::config::KubernetesRegistration;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Where a pod finds its service account's credentials.
pub const DEFAULT_SERVICEACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// Overrides [`DEFAULT_SERVICEACCOUNT_DIR`] (tests point it at a directory of their own).
pub const SERVICEACCOUNT_DIR_ENV: &str = "COFFER_K8S_SERVICEACCOUNT_DIR";

/// Why service registration cannot start or call the API.
#[derive(Debug, thiserror::Error)]
pub enum InClusterError {
    #[error("service_registration \"kubernetes\": {0}")]
    Missing(String),
    #[error("service_registration \"kubernetes\": reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

/// The API server and this pod's identity.
#[derive(Debug, Clone)]
pub struct InCluster {
    /// `host:port` of the API server (IPv6 hosts in brackets).
    pub authority: String,
    pub namespace: String,
    pub pod_name: String,
    /// The service-account directory.
    pub dir: PathBuf,
}

/// The service account's token and the CA that signed the API server's certificate, read
/// together and re-read when the API refuses the token.
pub struct Credentials {
    pub token: Zeroizing<String>,
    pub ca_pem: String,
}

impl InCluster {
    /// Find everything from the environment (`env` is `std::env::var` outside tests).
    pub fn from_env(
        reg: &KubernetesRegistration,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<InCluster, InClusterError> {
        let get = |name: &str| {
            env(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let host = get("KUBERNETES_SERVICE_HOST").ok_or_else(|| {
            InClusterError::Missing(
                "KUBERNETES_SERVICE_HOST is not set: not running in a Kubernetes pod".into(),
            )
        })?;
        let port = get("KUBERNETES_SERVICE_PORT").unwrap_or_else(|| "443".into());
        port.parse::<u16>().map_err(|_| {
            InClusterError::Missing(format!("KUBERNETES_SERVICE_PORT {port:?} is not a port"))
        })?;
        let authority = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let dir = PathBuf::from(
            get(SERVICEACCOUNT_DIR_ENV).unwrap_or_else(|| DEFAULT_SERVICEACCOUNT_DIR.into()),
        );
        let pod_name = get("VAULT_K8S_POD_NAME")
            .or_else(|| reg.pod_name.clone().filter(|p| !p.is_empty()))
            .or_else(|| get("POD_NAME"))
            .ok_or_else(|| {
                InClusterError::Missing(
                    "the pod name is unknown: set VAULT_K8S_POD_NAME (the downward API's metadata.name) or pod_name".into(),
                )
            })?;
        let namespace = match get("VAULT_K8S_NAMESPACE")
            .or_else(|| reg.namespace.clone().filter(|n| !n.is_empty()))
        {
            Some(ns) => ns,
            None => read(&dir.join("namespace"))?.trim().to_string(),
        };
        for (what, name) in [("pod name", &pod_name), ("namespace", &namespace)] {
            if !is_dns_name(name) {
                return Err(InClusterError::Missing(format!(
                    "{what} {name:?} is not a Kubernetes object name"
                )));
            }
        }
        Ok(InCluster {
            authority,
            namespace,
            pod_name,
            dir,
        })
    }

    /// The API path of this pod.
    pub fn pod_path(&self) -> String {
        format!(
            "/api/v1/namespaces/{}/pods/{}",
            self.namespace, self.pod_name
        )
    }

    /// Read the token and the CA (again: kubelet rotates the token file).
    pub fn credentials(&self) -> Result<Credentials, InClusterError> {
        let token = Zeroizing::new(read(&self.dir.join("token"))?.trim().to_string());
        if token.is_empty() {
            return Err(InClusterError::Missing(format!(
                "{} is empty",
                self.dir.join("token").display()
            )));
        }
        let ca_pem = read(&self.dir.join("ca.crt"))?;
        Ok(Credentials { token, ca_pem })
    }
}

fn read(path: &Path) -> Result<String, InClusterError> {
    std::fs::read_to_string(path).map_err(|source| InClusterError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// RFC 1123 subdomain: what pod names and namespaces are (so they are safe in a URL path).
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !name.starts_with(['-', '.'])
        && !name.ends_with(['-', '.'])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn identity_comes_from_the_environment_first() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("namespace"), "from-file\n").unwrap();
        let dir_str = dir.path().to_str().unwrap();
        let reg = KubernetesRegistration {
            namespace: None,
            pod_name: Some("from-config".into()),
        };
        let found = InCluster::from_env(
            &reg,
            env(&[
                ("KUBERNETES_SERVICE_HOST", "fd00::1"),
                ("KUBERNETES_SERVICE_PORT", "6443"),
                (SERVICEACCOUNT_DIR_ENV, dir_str),
                ("VAULT_K8S_POD_NAME", "coffer-1"),
            ]),
        )
        .unwrap();
        assert_eq!(found.authority, "[fd00::1]:6443");
        assert_eq!(found.pod_name, "coffer-1");
        assert_eq!(found.namespace, "from-file");
        assert_eq!(
            found.pod_path(),
            "/api/v1/namespaces/from-file/pods/coffer-1"
        );

        let from_config = InCluster::from_env(
            &reg,
            env(&[
                ("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
                ("VAULT_K8S_NAMESPACE", "vault"),
            ]),
        )
        .unwrap();
        assert_eq!(from_config.authority, "10.96.0.1:443");
        assert_eq!(from_config.pod_name, "from-config");
        assert_eq!(from_config.namespace, "vault");
    }

    #[test]
    fn outside_a_pod_or_with_odd_names_it_says_why() {
        let reg = KubernetesRegistration::default();
        let err = InCluster::from_env(&reg, env(&[])).unwrap_err();
        assert!(err.to_string().contains("KUBERNETES_SERVICE_HOST"), "{err}");
        let err = InCluster::from_env(&reg, env(&[("KUBERNETES_SERVICE_HOST", "h")])).unwrap_err();
        assert!(err.to_string().contains("VAULT_K8S_POD_NAME"), "{err}");
        let err = InCluster::from_env(
            &reg,
            env(&[
                ("KUBERNETES_SERVICE_HOST", "h"),
                ("VAULT_K8S_POD_NAME", "../secrets"),
                ("VAULT_K8S_NAMESPACE", "ns"),
            ]),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("not a Kubernetes object name"),
            "{err}"
        );
    }

    #[test]
    fn credentials_are_read_from_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let found = InCluster {
            authority: "h:1".into(),
            namespace: "ns".into(),
            pod_name: "p".into(),
            dir: dir.path().to_path_buf(),
        };
        assert!(found.credentials().is_err(), "no token yet");
        std::fs::write(dir.path().join("token"), "tok\n").unwrap();
        std::fs::write(dir.path().join("ca.crt"), "PEM").unwrap();
        let creds = found.credentials().unwrap();
        assert_eq!(creds.token.as_str(), "tok");
        assert_eq!(creds.ca_pem, "PEM");
    }
}
