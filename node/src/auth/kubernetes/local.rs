//! The pod's own service account: the token and cluster CA the kubelet mounts at
//! `/var/run/secrets/kubernetes.io/serviceaccount` (`COFFER_K8S_SERVICEACCOUNT_DIR` moves it, as
//! for service registration; tests point it at a directory of their own). Both files are read
//! on every use: the kubelet rewrites the projected token before it expires, so nothing is kept.

use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Where a pod finds its service account's files.
pub const DEFAULT_SERVICEACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// Overrides [`DEFAULT_SERVICEACCOUNT_DIR`] (the variable service registration reads too).
pub const SERVICEACCOUNT_DIR_ENV: &str = "COFFER_K8S_SERVICEACCOUNT_DIR";

/// A local file that could not be read; shown as Go's `os.ReadFile` error, as Vault shows it.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("open {path}: {reason}")]
pub struct LocalFileError {
    pub path: String,
    pub reason: String,
}

/// The service account directory of this pod.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalAccount {
    dir: PathBuf,
}

impl LocalAccount {
    /// The directory the environment names, else the standard one.
    pub fn from_env() -> LocalAccount {
        let dir = std::env::var(SERVICEACCOUNT_DIR_ENV)
            .ok()
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| DEFAULT_SERVICEACCOUNT_DIR.to_string());
        LocalAccount::at(dir)
    }

    /// A given directory (tests).
    pub fn at(dir: impl Into<PathBuf>) -> LocalAccount {
        LocalAccount { dir: dir.into() }
    }

    /// The token as the file holds it now; `None` when it is missing, unreadable or empty.
    pub fn token(&self) -> Option<Zeroizing<String>> {
        let raw = Zeroizing::new(read(&self.dir.join("token")).ok()?);
        let token = Zeroizing::new(raw.trim().to_string());
        (!token.is_empty()).then_some(token)
    }

    /// The cluster CA bundle as the file holds it now.
    pub fn ca_pem(&self) -> Result<String, LocalFileError> {
        read(&self.dir.join("ca.crt"))
    }
}

fn read(path: &Path) -> Result<String, LocalFileError> {
    std::fs::read_to_string(path).map_err(|e| LocalFileError {
        path: path.display().to_string(),
        reason: match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".into(),
            std::io::ErrorKind::PermissionDenied => "permission denied".into(),
            _ => e.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("coffer-k8s-local-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn the_token_is_read_again_on_every_use() {
        let d = dir("rotate");
        let local = LocalAccount::at(&d);
        assert_eq!(local.token(), None);
        std::fs::write(d.join("token"), "first.jwt\n").unwrap();
        assert_eq!(
            local.token().as_deref().map(String::as_str),
            Some("first.jwt")
        );
        std::fs::write(d.join("token"), "second.jwt").unwrap();
        assert_eq!(
            local.token().as_deref().map(String::as_str),
            Some("second.jwt")
        );
        std::fs::write(d.join("token"), " \n").unwrap();
        assert_eq!(local.token(), None, "an empty file is no token");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_missing_ca_reads_as_gos_open_error() {
        let d = dir("ca");
        let err = LocalAccount::at(&d).ca_pem().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "open {}: no such file or directory",
                d.join("ca.crt").display()
            )
        );
        std::fs::write(d.join("ca.crt"), "-----BEGIN CERTIFICATE-----\n").unwrap();
        assert!(LocalAccount::at(&d).ca_pem().is_ok());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
