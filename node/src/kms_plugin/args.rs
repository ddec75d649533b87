//! `coffer kms-plugin` flags (besides the global `-address`, `-ca-cert`, `-tls-skip-verify`).

use crate::plugin_client::Login;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct KmsPluginArgs {
    /// The unix socket kube-apiserver dials (the `endpoint` of the EncryptionConfiguration).
    #[arg(long, default_value = "unix:///var/run/kms/coffer.sock")]
    pub listen: String,
    /// Mount path of the transit engine.
    #[arg(long = "transit-mount", default_value = "transit")]
    pub transit_mount: String,
    /// Name of the transit key that wraps kube-apiserver's DEK seeds.
    #[arg(long)]
    pub key: String,
    /// Bound on every call (Go duration or seconds); keep it below the EncryptionConfiguration's
    /// `timeout` so kube-apiserver sees this plugin's status rather than its own deadline.
    #[arg(long, default_value = "3s")]
    pub timeout: String,
    /// Authenticate with the token in this file (re-read when Coffer refuses it).
    #[arg(long = "token-file")]
    pub token_file: Option<PathBuf>,
    /// AppRole login: the file holding the role_id.
    #[arg(long = "approle-role-id-file")]
    pub approle_role_id_file: Option<PathBuf>,
    /// AppRole login: the file holding the secret_id.
    #[arg(long = "approle-secret-id-file")]
    pub approle_secret_id_file: Option<PathBuf>,
    /// Mount path of the AppRole auth method.
    #[arg(long = "approle-mount", default_value = "approle")]
    pub approle_mount: String,
    /// Kubernetes login: the role to log in as.
    #[arg(long = "k8s-role")]
    pub k8s_role: Option<String>,
    /// Kubernetes login: the service account token file.
    #[arg(
        long = "k8s-token-path",
        default_value = "/var/run/secrets/kubernetes.io/serviceaccount/token"
    )]
    pub k8s_token_path: PathBuf,
    /// Mount path of the Kubernetes auth method.
    #[arg(long = "k8s-mount", default_value = "kubernetes")]
    pub k8s_mount: String,
}

impl KmsPluginArgs {
    /// The one login the flags choose.
    pub fn login(&self) -> Result<Login, String> {
        let mut chosen = Vec::new();
        if let Some(path) = &self.token_file {
            chosen.push(Login::TokenFile(path.clone()));
        }
        match (&self.approle_role_id_file, &self.approle_secret_id_file) {
            (Some(role), Some(secret)) => chosen.push(Login::AppRole {
                mount: self.approle_mount.clone(),
                role_id_file: role.clone(),
                secret_id_file: secret.clone(),
            }),
            (None, None) => {}
            _ => {
                return Err(
                    "AppRole login needs both -approle-role-id-file and -approle-secret-id-file"
                        .into(),
                )
            }
        }
        if let Some(role) = &self.k8s_role {
            chosen.push(Login::Kubernetes {
                mount: self.k8s_mount.clone(),
                role: role.clone(),
                jwt_file: self.k8s_token_path.clone(),
            });
        }
        match chosen.len() {
            1 => Ok(chosen.remove(0)),
            0 => Err("choose a login: -token-file, -approle-role-id-file/-approle-secret-id-file, or -k8s-role".into()),
            _ => Err("choose only one login: -token-file, AppRole, or -k8s-role".into()),
        }
    }
}
