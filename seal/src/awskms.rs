//! [`AwsKmsSeal`]: auto-unseal through AWS KMS. The root key is wrapped with KMS `Encrypt` under
//! an encryption context that names its purpose and a binding id, which the stored blob carries:
//! KMS refuses to decrypt it under any other context, so a ciphertext made for something else
//! (or with its id swapped) never opens as a root key.
//!
//! Blob: `version(1) | id_len(1) | binding id (ASCII) | KMS ciphertext blob`.
//!
//! Credentials come from the seal stanza or else the standard `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` variables; the region from the stanza or
//! `AWS_REGION` / `AWS_DEFAULT_REGION`; `endpoint` points at a KMS-compatible service (moto in the
//! tests). Every call has a deadline, so an unreachable KMS is an error, not a hang. Built only
//! outside simulation (under madsim the KMS is a simulated service).

use std::time::Duration;

use aws_sdk_kms::config::timeout::TimeoutConfig;
use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kms::primitives::Blob;
use zeroize::Zeroizing;

use crate::error::SealError;
use crate::seal::Seal;

const VERSION: u8 = 1;
/// The encryption-context key naming what the ciphertext is.
const PURPOSE_KEY: &str = "coffer:purpose";
const PURPOSE: &str = "root-key";
/// The encryption-context key carrying the blob's binding id.
const BINDING_KEY: &str = "coffer:binding";
/// How long one KMS call may take, retries included.
const CALL_DEADLINE: Duration = Duration::from_secs(10);

/// The `seal "awskms"` stanza.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AwsKmsConfig {
    /// AWS region (else `AWS_REGION`, `AWS_DEFAULT_REGION`, then us-east-1).
    pub region: Option<String>,
    /// The KMS key (id, ARN or alias).
    pub kms_key_id: String,
    /// A KMS-compatible endpoint URL instead of AWS's.
    pub endpoint: Option<String>,
    /// Access key id (else `AWS_ACCESS_KEY_ID`).
    pub access_key: Option<String>,
    /// Secret access key (else `AWS_SECRET_ACCESS_KEY`). Never in Debug output.
    pub secret_key: Option<String>,
    /// Session token (else `AWS_SESSION_TOKEN`). Never in Debug output.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for AwsKmsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsKmsConfig")
            .field("region", &self.region)
            .field("kms_key_id", &self.kms_key_id)
            .field("endpoint", &self.endpoint)
            .field("access_key", &self.access_key.as_ref().map(|_| "<set>"))
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The AWS KMS seal; see the module docs.
pub struct AwsKmsSeal {
    client: aws_sdk_kms::Client,
    key_id: String,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn backend(what: &str, e: impl std::fmt::Display) -> SealError {
    SealError::Backend(format!("awskms {what}: {e}"))
}

impl AwsKmsSeal {
    /// A seal using `cfg`; no network I/O until the first wrap or unwrap.
    pub fn new(cfg: &AwsKmsConfig) -> Result<AwsKmsSeal, SealError> {
        if cfg.kms_key_id.is_empty() {
            return Err(SealError::InvalidRequest(
                "awskms: kms_key_id is required".into(),
            ));
        }
        let region = cfg
            .region
            .clone()
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".to_string());
        let access = cfg.access_key.clone().or_else(|| env("AWS_ACCESS_KEY_ID"));
        let secret = cfg
            .secret_key
            .clone()
            .or_else(|| env("AWS_SECRET_ACCESS_KEY"));
        let token = cfg
            .session_token
            .clone()
            .or_else(|| env("AWS_SESSION_TOKEN"));
        let (Some(access), Some(secret)) = (access, secret) else {
            return Err(SealError::InvalidRequest(
                "awskms: no credentials (access_key/secret_key or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
                    .into(),
            ));
        };
        let credentials = Credentials::new(access, secret, token, None, "coffer-seal");
        let timeouts = TimeoutConfig::builder()
            .operation_timeout(CALL_DEADLINE)
            .connect_timeout(Duration::from_secs(3))
            .build();
        use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
        let https = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut builder = aws_sdk_kms::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(https)
            .region(Region::new(region))
            .credentials_provider(credentials)
            .timeout_config(timeouts);
        if let Some(endpoint) = &cfg.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        Ok(AwsKmsSeal {
            client: aws_sdk_kms::Client::from_conf(builder.build()),
            key_id: cfg.kms_key_id.clone(),
        })
    }
}

#[async_trait::async_trait]
impl Seal for AwsKmsSeal {
    fn seal_type(&self) -> &'static str {
        "awskms"
    }

    fn is_recovery(&self) -> bool {
        true
    }

    async fn wrap(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let binding = hex::encode(&crate::rng::random_key()[..16]);
        let out = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(plaintext))
            .encryption_context(PURPOSE_KEY, PURPOSE)
            .encryption_context(BINDING_KEY, &binding)
            .send()
            .await
            .map_err(|e| backend("encrypt", aws_sdk_kms::error::DisplayErrorContext(e)))?;
        let ciphertext = out
            .ciphertext_blob()
            .ok_or_else(|| backend("encrypt", "no ciphertext in the answer"))?;
        let mut blob = vec![VERSION, binding.len() as u8];
        blob.extend_from_slice(binding.as_bytes());
        blob.extend_from_slice(ciphertext.as_ref());
        Ok(blob)
    }

    async fn unwrap(&self, blob: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let (&version, rest) = blob.split_first().ok_or(SealError::Malformed)?;
        let (&id_len, rest) = rest.split_first().ok_or(SealError::Malformed)?;
        if version != VERSION || rest.len() <= usize::from(id_len) {
            return Err(SealError::Malformed);
        }
        let (binding, ciphertext) = rest.split_at(usize::from(id_len));
        let binding = std::str::from_utf8(binding).map_err(|_| SealError::Malformed)?;
        let out = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(ciphertext))
            .encryption_context(PURPOSE_KEY, PURPOSE)
            .encryption_context(BINDING_KEY, binding)
            .send()
            .await
            .map_err(|e| {
                let invalid = e
                    .as_service_error()
                    .is_some_and(|s| s.is_invalid_ciphertext_exception());
                if invalid {
                    SealError::InvalidKey
                } else {
                    backend("decrypt", aws_sdk_kms::error::DisplayErrorContext(e))
                }
            })?;
        let plaintext = out
            .plaintext()
            .ok_or_else(|| backend("decrypt", "no plaintext in the answer"))?;
        Ok(Zeroizing::new(plaintext.as_ref().to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_a_key_and_credentials_and_never_shows_the_secret() {
        let mut cfg = AwsKmsConfig {
            kms_key_id: String::new(),
            access_key: Some("AKIA".into()),
            secret_key: Some("very-secret".into()),
            ..AwsKmsConfig::default()
        };
        assert!(AwsKmsSeal::new(&cfg).is_err());
        cfg.kms_key_id = "alias/coffer".into();
        assert!(AwsKmsSeal::new(&cfg).is_ok());
        assert!(!format!("{cfg:?}").contains("very-secret"));
    }

    #[tokio::test]
    async fn a_malformed_blob_is_refused_without_calling_kms() {
        let cfg = AwsKmsConfig {
            kms_key_id: "k".into(),
            access_key: Some("a".into()),
            secret_key: Some("s".into()),
            endpoint: Some("http://127.0.0.1:1".into()),
            ..AwsKmsConfig::default()
        };
        let seal = AwsKmsSeal::new(&cfg).unwrap();
        for blob in [&[][..], &[1][..], &[2, 0, 1][..], &[1, 5, b'a'][..]] {
            assert_eq!(seal.unwrap(blob).await.err(), Some(SealError::Malformed));
        }
    }
}
