//! The registration loop: one task per node that keeps its pod's labels equal to its state.
//!
//! The node's state is local and cheap to read (`Core::is_sealed`, `is_active`, the plain
//! seal-config record), so the task looks every [`POLL`] and patches the pod when the labels
//! it would set differ from the ones it last set; every [`REASSERT`] it patches anyway, which
//! heals a label someone edited by hand. A failed call is retried with capped exponential
//! backoff; the pod is read again first, in case it lost its labels map.

use super::in_cluster::{InCluster, InClusterError};
use super::kube_client::{KubeClient, KubeError};
use super::labels::{pod_has_labels, PodLabels};
use crate::core::Core;
use std::sync::Arc;
use std::time::Duration;

/// How often the node's state is compared with the labels last set.
pub const POLL: Duration = Duration::from_millis(250);
/// Patch at least this often even when nothing changed.
pub const REASSERT: Duration = Duration::from_secs(60);
const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Start labelling this node's pod when the config asks for it. Fails (and so does the
/// server's start) when the pod's identity or the API server cannot be found.
pub fn start(core: Arc<Core>) -> Result<(), InClusterError> {
    let Some(reg) = &core.config.service_registration else {
        return Ok(());
    };
    let cluster = InCluster::from_env(reg, |name| std::env::var(name).ok())?;
    tracing::info!(
        pod = %cluster.pod_name,
        namespace = %cluster.namespace,
        api = %cluster.authority,
        "service registration: kubernetes"
    );
    tokio::spawn(run(core, KubeClient::new(cluster)));
    Ok(())
}

/// The labels this node should carry now.
pub async fn observe(core: &Core) -> PodLabels {
    PodLabels {
        active: core.is_active(),
        sealed: core.is_sealed(),
        initialized: core.is_initialized().await.unwrap_or(false),
        version: crate::core::VERSION.to_string(),
    }
}

async fn run(core: Arc<Core>, mut client: KubeClient) {
    let mut applied: Option<PodLabels> = None;
    let mut applied_at = tokio::time::Instant::now();
    let mut has_labels: Option<bool> = None;
    let mut backoff = BACKOFF_MIN;
    loop {
        let want = observe(&core).await;
        let due = applied.as_ref() != Some(&want) || applied_at.elapsed() >= REASSERT;
        if due {
            match apply(&mut client, &want, &mut has_labels).await {
                Ok(()) => {
                    if applied.as_ref() != Some(&want) {
                        tracing::info!(
                            pod = %client.cluster().pod_name,
                            active = want.active,
                            sealed = want.sealed,
                            initialized = want.initialized,
                            "pod labels updated"
                        );
                    }
                    applied = Some(want);
                    applied_at = tokio::time::Instant::now();
                    backoff = BACKOFF_MIN;
                }
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        retry_in_ms = backoff.as_millis() as u64,
                        "service registration: could not label the pod"
                    );
                    has_labels = None;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    continue;
                }
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Set the labels: GET the pod first when it is not known whether it has a labels map.
async fn apply(
    client: &mut KubeClient,
    want: &PodLabels,
    has_labels: &mut Option<bool>,
) -> Result<(), KubeError> {
    let has = match *has_labels {
        Some(has) => has,
        None => {
            let pod = client.get_pod().await?;
            let has = pod_has_labels(&pod);
            *has_labels = Some(has);
            has
        }
    };
    client.patch_pod(&want.json_patch(has)).await?;
    *has_labels = Some(true);
    Ok(())
}
