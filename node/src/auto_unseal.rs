//! Auto-unseal: a `seal "awskms"`, `seal "pkcs11"` or `seal "transit"` stanza wraps the root key
//! with a key the node can use by itself, so it unseals at start with nobody typing shares, and
//! `sys/init` hands out recovery keys instead of unseal keys.
//!
//! At start a node with an auto seal tries to unseal; while the KMS is unreachable it stays
//! sealed (health answers 503), logs one line per attempt saying why (never key material), and
//! retries with capped exponential backoff until it succeeds. Under madsim the KMS is a simulated
//! service on its own host (`seal "simkms" { address }`, `coffer_seal::simkms`).

use crate::core::{Core, Seals};
use crate::error::ApiError;
use coffer_seal::Seal;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// The first wait after a failed attempt, and the longest.
const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// Why the seal stanza cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("seal {kind:?}: {reason}")]
pub struct SealStanzaError {
    pub kind: String,
    pub reason: String,
}

fn text(fields: &Map<String, Value>, key: &str) -> Option<String> {
    match fields.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The seals of the config's `seal` stanzas: one, or two during a migration (Vault's rule: one
/// of them `disabled = "true"`, the old seal; the other the new one).
pub fn from_config(
    seal: Option<&(String, Map<String, Value>)>,
    other: Option<&(String, Map<String, Value>)>,
) -> Result<Seals, SealStanzaError> {
    let Some(first) = seal else {
        return Ok(Seals::default());
    };
    let (old, new) = match other {
        None if is_disabled(&first.1) => (Some(first), None),
        None => (None, Some(first)),
        Some(other) if check_pair(first, other)? => (Some(first), Some(other)),
        Some(other) => (Some(other), Some(first)),
    };
    let build = |stanza: Option<&(String, Map<String, Value>)>| match stanza {
        Some((kind, fields)) => build(kind, fields),
        None => Ok(None),
    };
    Ok(Seals {
        active: build(new)?,
        disabled: build(old)?,
    })
}

/// With two seal stanzas exactly one is `disabled = "true"` (the old seal of a migration);
/// whether it is the first.
pub fn check_pair(
    (_, first): &(String, Map<String, Value>),
    (other_kind, other): &(String, Map<String, Value>),
) -> Result<bool, SealStanzaError> {
    match (is_disabled(first), is_disabled(other)) {
        (true, false) => Ok(true),
        (false, true) => Ok(false),
        _ => Err(stanza_error(
            other_kind,
            "with two seal blocks exactly one must be disabled = \"true\" (the old seal)".into(),
        )),
    }
}

fn is_disabled(fields: &Map<String, Value>) -> bool {
    text(fields, "disabled").is_some_and(|d| d == "true")
}

/// A boolean field: `true`/`false`, or the strings `"true"`/`"false"` (absent: `None`).
#[cfg(not(madsim))]
fn boolean(fields: &Map<String, Value>, key: &str) -> Result<Option<bool>, String> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
        Some(_) => Err(format!("{key} must be \"true\" or \"false\"")),
    }
}

/// What a seal stanza asks for: its fields checked, nothing connected yet.
enum SealSpec {
    Shamir,
    #[cfg(not(madsim))]
    AwsKms(coffer_seal::AwsKmsConfig),
    #[cfg(not(madsim))]
    Pkcs11(coffer_seal::Pkcs11Config),
    #[cfg(not(madsim))]
    Transit(coffer_seal::TransitConfig),
    /// The simulated KMS on its own simulated host.
    #[cfg(madsim)]
    SimKms(std::net::SocketAddr),
}

/// Check a stanza the way a start would, without contacting the KMS or loading the HSM's
/// library (`server -check`). An awskms seal is built (that only makes an SDK client); a pkcs11
/// one has its fields checked.
pub fn check_stanza(kind: &str, fields: &Map<String, Value>) -> Result<(), SealStanzaError> {
    match spec(kind, fields)? {
        SealSpec::Shamir => Ok(()),
        #[cfg(madsim)]
        SealSpec::SimKms(_) => Ok(()),
        #[cfg(not(madsim))]
        SealSpec::AwsKms(cfg) => coffer_seal::AwsKmsSeal::new(&cfg)
            .map(drop)
            .map_err(|e| stanza_error(kind, e.to_string())),
        #[cfg(not(madsim))]
        SealSpec::Pkcs11(cfg) => {
            if cfg.lib.is_empty() {
                return Err(stanza_error(kind, "lib is required".into()));
            }
            if cfg.key_label.is_none() && cfg.key_id.is_none() {
                return Err(stanza_error(kind, "key_label or key_id is required".into()));
            }
            if let Some(id) = &cfg.key_id {
                hex::decode(id.trim_start_matches("0x"))
                    .map_err(|_| stanza_error(kind, "key_id must be hex".into()))?;
            }
            Ok(())
        }
        #[cfg(not(madsim))]
        SealSpec::Transit(cfg) => coffer_seal::TransitSeal::new(&cfg)
            .map(drop)
            .map_err(|e| stanza_error(kind, e.to_string())),
    }
}

fn stanza_error(kind: &str, reason: String) -> SealStanzaError {
    SealStanzaError {
        kind: kind.to_string(),
        reason,
    }
}

/// The seal a stanza describes (`None` for `shamir`). Under simulation the only auto seal is the
/// simulated KMS (`simkms`, on its own simulated host).
fn build(
    kind: &str,
    fields: &Map<String, Value>,
) -> Result<Option<Arc<dyn Seal>>, SealStanzaError> {
    match spec(kind, fields)? {
        SealSpec::Shamir => Ok(None),
        #[cfg(not(madsim))]
        SealSpec::AwsKms(cfg) => {
            let seal = coffer_seal::AwsKmsSeal::new(&cfg)
                .map_err(|e| stanza_error(kind, e.to_string()))?;
            Ok(Some(Arc::new(seal)))
        }
        #[cfg(not(madsim))]
        SealSpec::Pkcs11(cfg) => {
            let seal = coffer_seal::Pkcs11Seal::new(&cfg)
                .map_err(|e| stanza_error(kind, e.to_string()))?;
            Ok(Some(Arc::new(seal)))
        }
        #[cfg(not(madsim))]
        SealSpec::Transit(cfg) => {
            let seal = coffer_seal::TransitSeal::new(&cfg)
                .map_err(|e| stanza_error(kind, e.to_string()))?;
            seal.spawn_renewal();
            Ok(Some(Arc::new(seal)))
        }
        #[cfg(madsim)]
        SealSpec::SimKms(address) => Ok(Some(Arc::new(coffer_seal::SimKmsSeal::new(address)))),
    }
}

/// The stanza's fields read into the seal's config (environment fallbacks included).
#[cfg_attr(madsim, allow(unused_variables))]
fn spec(kind: &str, fields: &Map<String, Value>) -> Result<SealSpec, SealStanzaError> {
    let err = |reason: String| stanza_error(kind, reason);
    if let Some(disabled) = fields.get("disabled") {
        let ok = match disabled {
            Value::Bool(_) => true,
            Value::String(s) => matches!(s.as_str(), "true" | "false"),
            _ => false,
        };
        if !ok {
            return Err(err("disabled must be \"true\" or \"false\"".into()));
        }
    }
    match kind {
        #[cfg(not(madsim))]
        "awskms" => Ok(SealSpec::AwsKms(coffer_seal::AwsKmsConfig {
            region: text(fields, "region"),
            kms_key_id: text(fields, "kms_key_id")
                .or_else(|| std::env::var("VAULT_AWSKMS_SEAL_KEY_ID").ok())
                .unwrap_or_default(),
            endpoint: text(fields, "endpoint").or_else(|| std::env::var("AWS_KMS_ENDPOINT").ok()),
            access_key: text(fields, "access_key"),
            secret_key: text(fields, "secret_key"),
            session_token: text(fields, "session_token"),
        })),
        #[cfg(not(madsim))]
        "pkcs11" => {
            let rsa_oaep = match text(fields, "mechanism") {
                None => false,
                Some(m) => match m.trim().to_ascii_uppercase().as_str() {
                    "0X1087" | "4231" | "CKM_AES_GCM" => false,
                    "0X9" | "9" | "CKM_RSA_PKCS_OAEP" => true,
                    _ => {
                        return Err(err(format!(
                            "mechanism {m} is not supported (CKM_AES_GCM or CKM_RSA_PKCS_OAEP)"
                        )))
                    }
                },
            };
            let slot = text(fields, "slot")
                .map(|s| s.trim().parse::<u64>())
                .transpose()
                .map_err(|_| err("slot must be a number".into()))?;
            Ok(SealSpec::Pkcs11(coffer_seal::Pkcs11Config {
                lib: text(fields, "lib").unwrap_or_default(),
                slot,
                token_label: text(fields, "token_label"),
                pin: text(fields, "pin")
                    .or_else(|| std::env::var("VAULT_HSM_PIN").ok())
                    .unwrap_or_default(),
                key_label: text(fields, "key_label"),
                key_id: text(fields, "key_id"),
                generate_key: text(fields, "generate_key").is_some_and(|g| g == "true"),
                rsa_oaep,
            }))
        }
        #[cfg(not(madsim))]
        "transit" => Ok(SealSpec::Transit(coffer_seal::TransitConfig {
            address: text(fields, "address"),
            token: text(fields, "token"),
            key_name: text(fields, "key_name"),
            mount_path: text(fields, "mount_path"),
            namespace: text(fields, "namespace"),
            disable_renewal: boolean(fields, "disable_renewal").map_err(err)?,
            tls_ca_cert: text(fields, "tls_ca_cert"),
            tls_client_cert: text(fields, "tls_client_cert"),
            tls_client_key: text(fields, "tls_client_key"),
            tls_server_name: text(fields, "tls_server_name"),
            tls_skip_verify: boolean(fields, "tls_skip_verify").map_err(err)?,
        })),
        #[cfg(madsim)]
        "simkms" => {
            let address = text(fields, "address")
                .ok_or_else(|| err("address is required".into()))?
                .parse()
                .map_err(|_| err("address must be host:port".into()))?;
            Ok(SealSpec::SimKms(address))
        }
        "shamir" => Ok(SealSpec::Shamir),
        other => Err(err(format!(
            "seal type {other:?} is not supported in this build"
        ))),
    }
}

impl Core {
    /// Unwrap the root key with the auto seal and unseal. A sealed, initialised node with an
    /// auto seal calls this at start (`sys/init` right after initialising, a joining node once
    /// its log has caught up).
    pub(crate) async fn auto_unseal(self: &Arc<Self>) -> Result<(), ApiError> {
        let _guard = self.active.transition.lock().await;
        let Some(seal) = self.storage.auto_seal.clone() else {
            return Err(ApiError::bad("this node has no auto seal"));
        };
        if !self.storage.barrier.is_sealed() {
            return Ok(());
        }
        let wrapped = self.records().wrapped_root_key().await?;
        let bytes = seal.unwrap(&wrapped).await.map_err(|e| match e {
            coffer_seal::SealError::Backend(m) => ApiError::Unavailable(m),
            other => ApiError::internal(other),
        })?;
        let root = coffer_barrier::RootKey::from_bytes(&bytes).map_err(ApiError::internal)?;
        self.storage
            .barrier
            .unseal(&root)
            .await
            .map_err(ApiError::internal)?;
        self.post_unseal().await
    }
}

/// At start: keep trying to auto-unseal until the node is unsealed (or initialised and then
/// unsealed by `sys/init`), backing off between failures.
pub async fn unseal_loop(core: Arc<Core>) {
    let mut wait = BACKOFF_MIN;
    loop {
        if !core.storage.barrier.is_sealed() {
            return;
        }
        if matches!(core.migration().await, Ok(Some(_))) {
            // A seal migration waits for the operator (`operator unseal -migrate`).
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        match core.is_initialized().await {
            Ok(true) => match core.auto_unseal().await {
                Ok(()) => {
                    tracing::info!(
                        seal = core.storage.auto_seal.as_ref().map(|s| s.seal_type()),
                        "auto-unsealed"
                    );
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "auto-unseal failed; staying sealed");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(BACKOFF_MAX);
                }
            },
            // Not initialised yet: `sys/init` unseals it.
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

impl Core {
    /// The shares that authorise operator actions (generate-root): the recovery key's with an
    /// auto seal, else the unseal key's.
    pub(crate) async fn authorising_config(&self) -> Result<coffer_seal::SealConfig, ApiError> {
        if self.storage.auto_seal.is_some() {
            return self
                .records()
                .recovery_config()
                .await?
                .ok_or_else(|| ApiError::bad("Vault is not initialized"));
        }
        self.seal_config()
            .await?
            .ok_or_else(|| ApiError::bad("Vault is not initialized"))
    }

    /// Whether `key`, combined from shares, authorises: it is the recovery key (auto seal,
    /// compared in constant time) or it opens the root key (Shamir). A recovery key opens
    /// nothing: it is only ever compared.
    pub(crate) async fn is_authorising_key(&self, key: &[u8]) -> Result<bool, ApiError> {
        if self.storage.auto_seal.is_none() {
            return Ok(self.unwrap_root_key(key).await.is_ok());
        }
        let stored = self
            .view("")
            .get(crate::records::RECOVERY_KEY_PATH)
            .await?
            .ok_or_else(|| ApiError::internal("the recovery key is missing"))?;
        let stored = zeroize::Zeroizing::new(stored);
        Ok(bool::from(subtle::ConstantTimeEq::ct_eq(&stored[..], key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stanza(kind: &str, fields: Value) -> (String, Map<String, Value>) {
        let Value::Object(map) = fields else {
            unreachable!()
        };
        (kind.to_string(), map)
    }

    #[test]
    fn stanzas_choose_the_seal() {
        assert!(from_config(None, None).unwrap().active.is_none());
        // Under simulation there is no awskms; a disabled shamir stanza is plain Shamir too.
        let kind = if cfg!(madsim) { "shamir" } else { "awskms" };
        let disabled = stanza(
            kind,
            json!({"kms_key_id": "k", "access_key": "a", "secret_key": "s", "disabled": "true"}),
        );
        let seals = from_config(Some(&disabled), None).unwrap();
        assert!(seals.active.is_none(), "a disabled stanza is Shamir");
        assert_eq!(
            seals.disabled.is_some(),
            cfg!(not(madsim)),
            "kept for the migration"
        );
        let unknown = stanza("gcpckms", json!({}));
        let err = from_config(Some(&unknown), None).err().unwrap();
        assert!(err.to_string().contains("not supported"), "{err}");
        #[cfg(not(madsim))]
        {
            let kms = stanza(
                "awskms",
                json!({"kms_key_id": "k", "access_key": "a", "secret_key": "s", "region": "eu-west-1"}),
            );
            let seal = from_config(Some(&kms), None).unwrap().active.unwrap();
            assert_eq!(seal.seal_type(), "awskms");
            assert!(seal.is_recovery());
            let no_key = stanza("awskms", json!({"access_key": "a", "secret_key": "s"}));
            if std::env::var("VAULT_AWSKMS_SEAL_KEY_ID").is_err() {
                assert!(from_config(Some(&no_key), None).is_err());
            }
        }
    }

    #[cfg(not(madsim))]
    #[test]
    fn a_transit_stanza_reads_vault_s_fields() {
        let transit = stanza(
            "transit",
            json!({"address": "http://127.0.0.1:8200", "token": "t", "key_name": "k",
                   "mount_path": "transit/", "disable_renewal": "true", "tls_skip_verify": false}),
        );
        check_stanza(&transit.0, &transit.1).unwrap();
        let seal = from_config(Some(&transit), None).unwrap().active.unwrap();
        assert_eq!(seal.seal_type(), "transit");
        assert!(seal.is_recovery());
        let SealSpec::Transit(cfg) = spec(&transit.0, &transit.1).unwrap() else {
            unreachable!("a transit stanza")
        };
        assert_eq!(cfg.disable_renewal, Some(true));
        assert_eq!(cfg.tls_skip_verify, Some(false));
        assert_eq!(cfg.mount_path.as_deref(), Some("transit/"));
        let bad = stanza("transit", json!({"disable_renewal": "sometimes"}));
        let err = check_stanza(&bad.0, &bad.1).err().unwrap();
        assert!(err.to_string().contains("disable_renewal"), "{err}");
    }

    #[cfg(not(madsim))]
    #[test]
    fn two_stanzas_need_exactly_one_disabled() {
        let kms = |disabled: &str| {
            stanza(
                "awskms",
                json!({"kms_key_id": "k", "access_key": "a", "secret_key": "s", "disabled": disabled}),
            )
        };
        let transit = |disabled: &str| {
            stanza(
                "transit",
                json!({"address": "http://127.0.0.1:1", "token": "t", "key_name": "k",
                       "mount_path": "transit", "disabled": disabled}),
            )
        };
        let seals = from_config(Some(&transit("true")), Some(&kms("false"))).unwrap();
        assert_eq!(seals.active.unwrap().seal_type(), "awskms");
        assert_eq!(seals.disabled.unwrap().seal_type(), "transit");
        let seals = from_config(Some(&transit("false")), Some(&kms("true"))).unwrap();
        assert_eq!(seals.active.unwrap().seal_type(), "transit");
        assert_eq!(seals.disabled.unwrap().seal_type(), "awskms");
        assert!(from_config(Some(&transit("false")), Some(&kms("false"))).is_err());
        assert!(from_config(Some(&transit("true")), Some(&kms("true"))).is_err());
    }
}
