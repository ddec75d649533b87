//! `service_registration "kubernetes" {}`: the node keeps its own pod's labels current, so
//! Kubernetes services can select the active node (`coffer-active=true`), the standbys, or the
//! sealed pods, as Vault's `vault-active` / `vault-sealed` labels allow.
//!
//! - `labels.rs`: the four labels as plain data and the JSON patch that sets them (both builds).
//! - `in_cluster.rs`: where the API server is and who this pod is (`KUBERNETES_SERVICE_HOST` /
//!   `_PORT`, the service-account directory, `VAULT_K8S_POD_NAME` / `VAULT_K8S_NAMESPACE`).
//! - `kube_client.rs`: GET the pod and PATCH it (`application/json-patch+json`) over rustls,
//!   trusting only the service account's CA, with its bearer token.
//! - `kubernetes.rs`: the loop: label at start, whenever seal or active state changes, and
//!   every minute anyway; retries with capped backoff, re-reads the token after 401/403.
//!
//! Not under simulation: there is no Kubernetes API there.

pub mod labels;

#[cfg(not(madsim))]
pub mod in_cluster;
#[cfg(not(madsim))]
pub mod kube_client;
#[cfg(not(madsim))]
pub mod kubernetes;

#[cfg(not(madsim))]
pub use kubernetes::start;
