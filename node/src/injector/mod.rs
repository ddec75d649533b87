//! `coffer injector`: the Kubernetes mutating admission webhook that gives a pod the agent from
//! its `vault.hashicorp.com/*` annotations alone, as Vault's agent injector does. Client side:
//! it never imports the server's stack; the agent it injects is `coffer agent`.
//!
//! - `annotations.rs`: the annotations read into one plain `AgentSpec` (pure).
//! - `agent_config.rs`: the agent's JSON config, base64 in `VAULT_CONFIG` (pure).
//! - `patch.rs`: the RFC 6902 patch adding the init container, the sidecar and the volumes (pure).
//! - `review.rs`: one AdmissionReview in, its answer out (pure, fuzzed).
//! - `tls.rs`: the serving certificate, from files or generated with its own CA.
//! - `ca_bundle.rs`: with generated TLS, the webhook configuration's caBundle is patched.
//! - `server.rs`: the HTTPS server (`/mutate`, `/health/ready`).
//!
//! Not under simulation: there is no Kubernetes there.

pub mod agent_config;
pub mod annotations;
pub mod ca_bundle;
pub mod patch;
pub mod review;
pub mod server;
pub mod tls;

#[cfg(test)]
mod agreement_tests;
