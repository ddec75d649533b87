//! [`TransitSeal`]: auto-unseal through the transit secrets engine of another Coffer (or Vault)
//! cluster, as Vault's `seal "transit"`. The root key is encrypted with
//! `POST <mount_path>/encrypt/<key_name>` and decrypted with `.../decrypt/<key_name>`, sending
//! the configured token; the key never leaves the unsealer.
//!
//! Settings come from the stanza, and as in Vault the environment wins for `VAULT_ADDR`,
//! `VAULT_TOKEN`, `VAULT_TRANSIT_SEAL_KEY_NAME`, `VAULT_TRANSIT_SEAL_MOUNT_PATH`,
//! `VAULT_NAMESPACE` and `VAULT_TRANSIT_SEAL_DISABLE_RENEWAL`; the TLS files and flags fall back to
//! `VAULT_CACERT`, `VAULT_CLIENT_CERT`, `VAULT_CLIENT_KEY`, `VAULT_TLS_SERVER_NAME`,
//! `VAULT_SKIP_VERIFY` when the stanza does not set them. A namespace is sent as
//! `X-Vault-Namespace` (a Coffer unsealer has none and ignores it).
//!
//! Unless `disable_renewal`, a renewable token is renewed with `auth/token/renew-self` at two
//! thirds of its TTL for as long as the node runs ([`TransitSeal::spawn_renewal`]).
//!
//! The wire rules are plain functions in `wire.rs`; `client.rs` does the I/O. Built only outside
//! simulation (under madsim the remote key service is `simkms`).

mod client;
#[cfg(test)]
mod conformance_tests;
pub mod wire;

use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::error::SealError;
use crate::seal::Seal;

/// How long to wait before trying a failed renewal again.
const RENEW_RETRY: Duration = Duration::from_secs(5);

/// The `seal "transit"` stanza as written (before the environment is consulted).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TransitConfig {
    /// The unsealer's address, `https://host:port`.
    pub address: Option<String>,
    /// The token that may use the key. Never in Debug output.
    pub token: Option<String>,
    /// The transit key's name.
    pub key_name: Option<String>,
    /// Where the transit engine is mounted (`transit/`).
    pub mount_path: Option<String>,
    /// A Vault Enterprise namespace, sent as `X-Vault-Namespace`.
    pub namespace: Option<String>,
    /// Do not renew the token.
    pub disable_renewal: Option<bool>,
    /// A PEM file of CA certificates to trust (else the system's).
    pub tls_ca_cert: Option<String>,
    /// A PEM client certificate, with
    pub tls_client_cert: Option<String>,
    /// its PEM private key.
    pub tls_client_key: Option<String>,
    /// The name the unsealer's certificate must carry (SNI too).
    pub tls_server_name: Option<String>,
    /// Accept any certificate (tests only).
    pub tls_skip_verify: Option<bool>,
}

impl std::fmt::Debug for TransitConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransitConfig")
            .field("address", &self.address)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("key_name", &self.key_name)
            .field("mount_path", &self.mount_path)
            .field("namespace", &self.namespace)
            .field("disable_renewal", &self.disable_renewal)
            .field("tls_ca_cert", &self.tls_ca_cert)
            .field("tls_client_cert", &self.tls_client_cert)
            .field("tls_client_key", &self.tls_client_key)
            .field("tls_server_name", &self.tls_server_name)
            .field("tls_skip_verify", &self.tls_skip_verify)
            .finish()
    }
}

/// The settings in force: the stanza with the environment applied, required fields present.
pub struct TransitSettings {
    /// See [`TransitConfig::address`].
    pub address: String,
    /// See [`TransitConfig::token`].
    pub token: Zeroizing<String>,
    /// See [`TransitConfig::key_name`].
    pub key_name: String,
    /// See [`TransitConfig::mount_path`].
    pub mount_path: String,
    /// See [`TransitConfig::namespace`].
    pub namespace: Option<String>,
    /// See [`TransitConfig::disable_renewal`].
    pub disable_renewal: bool,
    /// See [`TransitConfig::tls_ca_cert`].
    pub tls_ca_cert: Option<String>,
    /// See [`TransitConfig::tls_client_cert`].
    pub tls_client_cert: Option<String>,
    /// See [`TransitConfig::tls_client_key`].
    pub tls_client_key: Option<String>,
    /// See [`TransitConfig::tls_server_name`].
    pub tls_server_name: Option<String>,
    /// See [`TransitConfig::tls_skip_verify`].
    pub tls_skip_verify: bool,
}

fn flag(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "t" | "true" => Some(true),
        "0" | "f" | "false" => Some(false),
        _ => None,
    }
}

impl TransitConfig {
    /// Apply the environment (`env` looks a variable up; empty counts as unset) and check the
    /// required fields, with Vault's rules: the variables of the module docs win over the stanza
    /// for the connection and key, and fill in for the TLS options.
    pub fn resolve(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<TransitSettings, SealError> {
        let env = |name: &str| env(name).filter(|v| !v.is_empty());
        let required = |what: &str, v: Option<String>| {
            v.filter(|v| !v.is_empty())
                .ok_or_else(|| SealError::InvalidRequest(format!("transit: {what} is required")))
        };
        let env_flag = |name: &str| -> Result<Option<bool>, SealError> {
            env(name)
                .map(|v| {
                    flag(&v).ok_or_else(|| {
                        SealError::InvalidRequest(format!("transit: {name} must be a boolean"))
                    })
                })
                .transpose()
        };
        Ok(TransitSettings {
            address: required(
                "address",
                env("VAULT_ADDR").or_else(|| self.address.clone()),
            )?,
            token: Zeroizing::new(required(
                "token",
                env("VAULT_TOKEN").or_else(|| self.token.clone()),
            )?),
            key_name: required(
                "key_name",
                env("VAULT_TRANSIT_SEAL_KEY_NAME").or_else(|| self.key_name.clone()),
            )?,
            mount_path: required(
                "mount_path",
                env("VAULT_TRANSIT_SEAL_MOUNT_PATH").or_else(|| self.mount_path.clone()),
            )?,
            namespace: env("VAULT_NAMESPACE")
                .or_else(|| self.namespace.clone())
                .filter(|n| !n.is_empty()),
            disable_renewal: env_flag("VAULT_TRANSIT_SEAL_DISABLE_RENEWAL")?
                .or(self.disable_renewal)
                .unwrap_or(false),
            tls_ca_cert: self.tls_ca_cert.clone().or_else(|| env("VAULT_CACERT")),
            tls_client_cert: self
                .tls_client_cert
                .clone()
                .or_else(|| env("VAULT_CLIENT_CERT")),
            tls_client_key: self
                .tls_client_key
                .clone()
                .or_else(|| env("VAULT_CLIENT_KEY")),
            tls_server_name: self
                .tls_server_name
                .clone()
                .or_else(|| env("VAULT_TLS_SERVER_NAME")),
            tls_skip_verify: match self.tls_skip_verify {
                Some(v) => v,
                None => env_flag("VAULT_SKIP_VERIFY")?.unwrap_or(false),
            },
        })
    }
}

/// The transit seal; see the module docs.
pub struct TransitSeal {
    client: Arc<client::Client>,
    encrypt_path: String,
    decrypt_path: String,
    renew: bool,
}

impl TransitSeal {
    /// A seal for `cfg` with the process environment applied; reads the TLS files, makes no
    /// network call.
    pub fn new(cfg: &TransitConfig) -> Result<TransitSeal, SealError> {
        TransitSeal::with_env(cfg, |name| std::env::var(name).ok())
    }

    /// [`TransitSeal::new`] with `env` in place of the process environment.
    pub fn with_env(
        cfg: &TransitConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<TransitSeal, SealError> {
        let settings = cfg.resolve(env)?;
        Ok(TransitSeal {
            client: Arc::new(client::Client::new(&settings)?),
            encrypt_path: wire::op_path(&settings.mount_path, "encrypt", &settings.key_name),
            decrypt_path: wire::op_path(&settings.mount_path, "decrypt", &settings.key_name),
            renew: !settings.disable_renewal,
        })
    }

    /// Start renewing the token in the background (unless `disable_renewal`, or there is no
    /// runtime, as in `server -check`): look it up, and while it is renewable renew it at two
    /// thirds of its TTL. Failures are logged and retried; they never touch the node's state.
    pub fn spawn_renewal(&self) {
        if !self.renew {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let client = self.client.clone();
        runtime.spawn(renew_forever(client));
    }
}

async fn renew_forever(client: Arc<client::Client>) {
    let mut op = ("lookup-self", "GET", "/v1/auth/token/lookup-self");
    loop {
        let wait = match client.call("token renewal", op.1, op.2, Vec::new()).await {
            Ok((200, body)) => match wire::renewable_ttl(&body) {
                Some(ttl) => {
                    op = ("renew-self", "POST", "/v1/auth/token/renew-self");
                    tracing::debug!(ttl_secs = ttl.as_secs(), "transit seal token renewed");
                    wire::renew_after(ttl)
                }
                None => {
                    tracing::info!("transit seal token is not renewable; not renewing it");
                    return;
                }
            },
            Ok((status, body)) => {
                let e = wire::status_error(op.0, status, &body);
                tracing::warn!(error = %e, "transit seal token renewal failed");
                RENEW_RETRY
            }
            Err(e) => {
                tracing::warn!(error = %e, "transit seal token renewal failed");
                RENEW_RETRY
            }
        };
        tokio::time::sleep(wait).await;
    }
}

#[async_trait::async_trait]
impl Seal for TransitSeal {
    fn seal_type(&self) -> &'static str {
        crate::config::SEAL_TYPE_TRANSIT
    }

    fn is_recovery(&self) -> bool {
        true
    }

    async fn wrap(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let body = wire::encrypt_body(plaintext);
        match self
            .client
            .call("encrypt", "POST", &self.encrypt_path, body.to_vec())
            .await?
        {
            (200, answer) => wire::blob_from_encrypt_answer(&answer),
            (status, answer) => Err(wire::status_error("encrypt", status, &answer)),
        }
    }

    async fn unwrap(&self, blob: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let body = wire::decrypt_body(blob)?;
        match self
            .client
            .call("decrypt", "POST", &self.decrypt_path, body)
            .await?
        {
            (200, answer) => wire::plaintext_from_decrypt_answer(&answer),
            (status, answer) => Err(wire::status_error("decrypt", status, &answer)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stanza() -> TransitConfig {
        TransitConfig {
            address: Some("https://unsealer:8200".into()),
            token: Some("s.secret-token".into()),
            key_name: Some("autounseal".into()),
            mount_path: Some("transit/".into()),
            ..TransitConfig::default()
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_stanza_alone_is_enough_and_never_shows_the_token() {
        let s = stanza().resolve(no_env).unwrap();
        assert_eq!(s.address, "https://unsealer:8200");
        assert_eq!(s.key_name, "autounseal");
        assert!(!s.disable_renewal && !s.tls_skip_verify && s.namespace.is_none());
        assert!(!format!("{:?}", stanza()).contains("secret-token"));
    }

    #[test]
    fn each_required_field_is_named_when_missing() {
        for (field, cfg) in [
            (
                "address",
                TransitConfig {
                    address: None,
                    ..stanza()
                },
            ),
            (
                "token",
                TransitConfig {
                    token: Some(String::new()),
                    ..stanza()
                },
            ),
            (
                "key_name",
                TransitConfig {
                    key_name: None,
                    ..stanza()
                },
            ),
            (
                "mount_path",
                TransitConfig {
                    mount_path: None,
                    ..stanza()
                },
            ),
        ] {
            let err = cfg.resolve(no_env).err().unwrap();
            assert!(err.to_string().contains(field), "{field}: {err}");
        }
    }

    #[test]
    fn the_environment_wins_for_the_connection_and_fills_in_for_tls() {
        let env = |name: &str| {
            Some(
                match name {
                    "VAULT_ADDR" => "http://other:8200",
                    "VAULT_TOKEN" => "env-token",
                    "VAULT_TRANSIT_SEAL_KEY_NAME" => "env-key",
                    "VAULT_TRANSIT_SEAL_MOUNT_PATH" => "env-transit/",
                    "VAULT_TRANSIT_SEAL_DISABLE_RENEWAL" => "true",
                    "VAULT_CACERT" => "/env/ca.pem",
                    "VAULT_SKIP_VERIFY" => "1",
                    "VAULT_TLS_SERVER_NAME" => "",
                    _ => return None,
                }
                .to_string(),
            )
        };
        let cfg = TransitConfig {
            tls_ca_cert: Some("/stanza/ca.pem".into()),
            tls_skip_verify: Some(false),
            ..stanza()
        };
        let s = cfg.resolve(env).unwrap();
        assert_eq!(
            (
                s.address.as_str(),
                s.token.as_str(),
                s.key_name.as_str(),
                s.mount_path.as_str()
            ),
            ("http://other:8200", "env-token", "env-key", "env-transit/")
        );
        assert!(s.disable_renewal);
        assert_eq!(s.tls_ca_cert.as_deref(), Some("/stanza/ca.pem"));
        assert!(!s.tls_skip_verify);
        assert_eq!(s.tls_server_name, None, "an empty variable is unset");
        let s = stanza().resolve(env).unwrap();
        assert_eq!(s.tls_ca_cert.as_deref(), Some("/env/ca.pem"));
        assert!(s.tls_skip_verify);
        let bad = |name: &str| (name == "VAULT_SKIP_VERIFY").then(|| "maybe".to_string());
        assert!(stanza().resolve(bad).is_err());
    }

    #[test]
    fn construction_checks_the_address_and_tls_files_without_the_network() {
        let mut cfg = stanza();
        cfg.address = Some("unsealer:8200".into());
        assert!(
            TransitSeal::with_env(&cfg, no_env).is_err(),
            "a scheme is required"
        );
        let mut cfg = stanza();
        cfg.tls_ca_cert = Some("/nonexistent/ca.pem".into());
        let err = TransitSeal::with_env(&cfg, no_env).err().unwrap();
        assert!(err.to_string().contains("tls_ca_cert"), "{err}");
        let mut cfg = stanza();
        cfg.tls_client_cert = Some("/nonexistent/c.pem".into());
        cfg.tls_skip_verify = Some(true);
        assert!(TransitSeal::with_env(&cfg, no_env).is_err());
        let mut cfg = stanza();
        cfg.address = Some("http://127.0.0.1:1".into());
        let seal = TransitSeal::with_env(&cfg, no_env).unwrap();
        assert_eq!(seal.seal_type(), "transit");
        assert!(seal.is_recovery());
        assert_eq!(seal.encrypt_path, "/v1/transit/encrypt/autounseal");
    }

    #[tokio::test]
    async fn an_unreachable_unsealer_is_a_backend_error() {
        let mut cfg = stanza();
        cfg.address = Some("http://127.0.0.1:1".into());
        let seal = TransitSeal::with_env(&cfg, no_env).unwrap();
        assert!(matches!(seal.wrap(b"k").await, Err(SealError::Backend(_))));
        let blob = [1, 0, 0, 0, 1, 7, 7, 7];
        assert!(matches!(
            seal.unwrap(&blob).await,
            Err(SealError::Backend(_))
        ));
        assert_eq!(seal.unwrap(&[9]).await.err(), Some(SealError::Malformed));
    }
}
