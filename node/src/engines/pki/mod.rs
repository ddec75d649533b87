//! The PKI secrets engine, as Vault 1.16's `pki` backend has it: root and intermediate CAs
//! (issuers and their keys), roles that bound what may be certified, `issue/<role>` and
//! `sign/<role>`, revocation with CRLs, and tidy. Certificates and CRLs are built by rcgen and
//! read by x509-parser; keys are RustCrypto's, made and used with `SysRng` (getrandom 0.3), and
//! stored only in the mount's `StorageView`, i.e. through the barrier. Private keys are
//! returned only by `*/exported` and `issue/<role>`, once; never logged, never read back.
//!
//! - `keys.rs` (key types, PEM forms, rcgen's `SigningKey`), `serial.rs`, `certgen.rs`
//!   (building and signing certificates, TTL rules), `csr.rs` (reading CSRs and certificates),
//!   `role.rs` (a role and Vault's name rules), `crl.rs`: no I/O.
//! - `store.rs`: the records and their paths; `authority.rs`: operations shared by endpoints.
//! - `input.rs`: shared request fields. Endpoints: `root_api.rs`, `intermediate_api.rs`,
//!   `fetch_api.rs`, `config_api.rs`, `roles_api.rs`, `issue_api.rs`, `revoke_api.rs`.

mod authority;
mod certgen;
mod config_api;
mod crl;
mod csr;
mod error;
mod fetch_api;
mod input;
mod intermediate_api;
mod issue_api;
mod keys;
mod revoke_api;
mod role;
mod roles_api;
mod root_api;
mod serial;
mod store;

use super::{LeaseCall, MountRequest, SecretEngine};
use crate::error::ApiError;
use crate::request::{Operation, Response};
use async_trait::async_trait;

use config_api::urls;
pub use error::PkiError;

/// One PKI mount. Writers that change issuers, keys, revocations or CRLs hold `writes`, so
/// two of them never interleave their read-modify-write (CRL numbers, default issuer).
#[derive(Default)]
pub struct Pki {
    writes: tokio::sync::Mutex<()>,
    tidy_lock: tokio::sync::Mutex<()>,
    tidy_status: parking_lot::Mutex<Option<revoke_api::TidyStatus>>,
}

/// Vault's 404 for a path no route of the backend matches.
fn unsupported_path() -> ApiError {
    ApiError::NotFound("unsupported path".into())
}

fn is_write(op: Operation) -> bool {
    matches!(op, Operation::Create | Operation::Update)
}

#[async_trait]
impl SecretEngine for Pki {
    async fn handle(&self, m: MountRequest<'_>) -> Result<Option<Response>, ApiError> {
        let op = m.req.operation;
        let path = m.path.trim_end_matches('/');
        let (head, rest) = path.split_once('/').unwrap_or((path, ""));
        let read = op == Operation::Read;
        let list = op == Operation::List;
        let write = is_write(op);
        match (head, rest) {
            ("root", r) if r.starts_with("generate/") && write => {
                let _g = self.writes.lock().await;
                root_api::generate(&m, &r["generate/".len()..]).await
            }
            ("root", "sign-intermediate") if write => root_api::sign_intermediate(&m).await,
            ("intermediate", r) if r.starts_with("generate/") && write => {
                let _g = self.writes.lock().await;
                intermediate_api::generate(&m, &r["generate/".len()..]).await
            }
            ("intermediate", "set-signed") if write => {
                let _g = self.writes.lock().await;
                intermediate_api::set_signed(&m).await
            }
            ("ca", "") if read => fetch_api::ca_der(&m).await,
            ("ca", "pem") if read => fetch_api::ca_pem(&m).await,
            ("ca_chain", "") if read => fetch_api::ca_chain(&m).await,
            ("cert", serial) if read && !serial.is_empty() => fetch_api::cert(&m, serial).await,
            ("certs", "") if list => fetch_api::list_certs(&m).await,
            ("issuers", "") if list => fetch_api::list_issuers(&m).await,
            ("issuer", r) if read && !r.is_empty() && !r.contains('/') => {
                fetch_api::read_issuer(&m, r).await
            }
            ("keys", "") if list => fetch_api::list_keys(&m).await,
            ("key", r) if read && !r.is_empty() && !r.contains('/') => {
                fetch_api::read_key(&m, r).await
            }
            ("config", "urls") => config_api::route_urls(&m).await,
            ("config", "issuers") => {
                let _g = self.writes.lock().await;
                config_api::route_defaults(&m, true).await
            }
            ("config", "keys") => {
                let _g = self.writes.lock().await;
                config_api::route_defaults(&m, false).await
            }
            ("roles", r) => roles_api::route(&m, r).await,
            ("issue", r) if write && !r.is_empty() => issue_api::issue(&m, r).await,
            ("sign", r) if write && !r.is_empty() => issue_api::sign(&m, r).await,
            ("revoke", "") if write => {
                let _g = self.writes.lock().await;
                revoke_api::revoke(&m).await
            }
            ("crl", "") if read => revoke_api::crl_der(&m).await,
            ("crl", "pem") if read => revoke_api::crl_pem_answer(&m).await,
            ("crl", "rotate") if read => {
                let _g = self.writes.lock().await;
                revoke_api::rotate(&m).await
            }
            ("tidy", "") if write => {
                let _g = self.writes.lock().await;
                revoke_api::tidy(&m, self).await
            }
            ("tidy-status", "") if read => revoke_api::tidy_status(self),
            ("root" | "intermediate" | "issue" | "sign" | "revoke" | "tidy", _) if !write => {
                Err(ApiError::UnsupportedOperation)
            }
            ("ca" | "ca_chain" | "cert" | "crl" | "issuer" | "key" | "tidy-status", _) if !read => {
                Err(ApiError::UnsupportedOperation)
            }
            _ => Err(unsupported_path()),
        }
    }

    /// A lease of a certificate issued with `generate_lease` ended: its serial goes into the
    /// CRL (already revoked, or not stored under `no_store`: nothing to do).
    async fn revoke_secret(&self, call: LeaseCall<'_>) -> Result<(), ApiError> {
        let Some(serial) = call.internal.get("serial_number").and_then(|v| v.as_str()) else {
            return Ok(());
        };
        let _g = self.writes.lock().await;
        revoke_api::revoke_serial(call.storage, serial).await
    }

    /// Vault's unauthenticated PKI paths that this engine serves: the CA certificates, the
    /// CRLs, certificates by serial and the issuers (TLS clients fetch CRLs without a token).
    fn is_unauthenticated(&self, path: &str, op: Operation) -> bool {
        let path = path.trim_end_matches('/');
        match op {
            Operation::Read => {
                matches!(path, "ca" | "ca/pem" | "ca_chain" | "crl" | "crl/pem")
                    || path.strip_prefix("cert/").is_some_and(|s| !s.contains('/'))
                    || path
                        .strip_prefix("issuer/")
                        .is_some_and(|s| !s.contains('/'))
            }
            Operation::List => path == "issuers",
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests;
