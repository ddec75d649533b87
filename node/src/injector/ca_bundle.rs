//! With auto TLS the API server must learn the injector's fresh CA: the injector reads its
//! MutatingWebhookConfiguration and sets `clientConfig.caBundle` of every webhook in it with a
//! JSON patch, through the in-cluster client service registration uses (service-account token
//! and CA, `KUBERNETES_SERVICE_HOST`). Retried with capped backoff until it succeeds.

use crate::config::KubernetesRegistration;
use crate::service_registration::in_cluster::InCluster;
use crate::service_registration::kube_client::{KubeClient, KubeError};
use base64::Engine as _;
use serde_json::{json, Value};
use std::time::Duration;

const FIRST_RETRY: Duration = Duration::from_millis(500);
const MAX_RETRY: Duration = Duration::from_secs(30);

/// The API path of a MutatingWebhookConfiguration (cluster-scoped).
pub fn config_path(name: &str) -> String {
    format!("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{name}")
}

/// The JSON patch setting every webhook's caBundle of `config` to `ca_pem` (base64 of the PEM,
/// as the field's `[]byte` is written in JSON).
pub fn bundle_patch(config: &Value, ca_pem: &str) -> Vec<Value> {
    let bundle = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let count = config["webhooks"].as_array().map_or(0, Vec::len);
    (0..count)
        .map(|i| json!({"op": "add", "path": format!("/webhooks/{i}/clientConfig/caBundle"), "value": bundle}))
        .collect()
}

/// Why one attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(transparent)]
    Kube(#[from] KubeError),
    #[error("{0}")]
    InCluster(String),
    #[error("mutatingwebhookconfiguration {0:?} has no webhooks")]
    NoWebhooks(String),
}

async fn attempt(name: &str, ca_pem: &str) -> Result<usize, BundleError> {
    // The injector does not need its pod's name; the namespace comes from the token directory.
    let reg = KubernetesRegistration {
        namespace: None,
        pod_name: Some("coffer-injector".into()),
    };
    let cluster = InCluster::from_env(&reg, |k| std::env::var(k).ok())
        .map_err(|e| BundleError::InCluster(e.to_string()))?;
    let mut client = KubeClient::new(cluster);
    let path = config_path(name);
    let current = client.call_path("GET", &path, None).await?;
    let ops = bundle_patch(&current, ca_pem);
    if ops.is_empty() {
        return Err(BundleError::NoWebhooks(name.into()));
    }
    let body = serde_json::to_vec(&ops).unwrap_or_default();
    client
        .call_path("PATCH", &path, Some(("application/json-patch+json", body)))
        .await?;
    Ok(ops.len())
}

/// Set the caBundle of `name`'s webhooks, retrying until it is done.
pub async fn install(name: String, ca_pem: String) {
    let mut delay = FIRST_RETRY;
    loop {
        match attempt(&name, &ca_pem).await {
            Ok(n) => {
                tracing::info!(webhook_config = %name, webhooks = n, "caBundle updated");
                return;
            }
            Err(e) => {
                tracing::warn!(webhook_config = %name, error = %e, retry_in = ?delay, "updating the caBundle failed");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_RETRY);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_webhook_gets_the_bundle() {
        let config = json!({"webhooks": [{"name": "a"}, {"name": "b"}]});
        let ops = bundle_patch(&config, "PEM");
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[1]["path"], "/webhooks/1/clientConfig/caBundle");
        assert_eq!(ops[1]["value"], "UEVN");
        assert!(bundle_patch(&json!({}), "PEM").is_empty());
    }
}
