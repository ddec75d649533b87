//! The transit secrets engine: encryption as a service, as Vault's `transit` backend has it.
//! Named keys (`keys/<name>`) of Vault's types (aes128/256-gcm96, chacha20-poly1305, ed25519,
//! ecdsa-p256/384/521, rsa-2048/3072/4096, hmac) encrypt, decrypt, rewrap, make data keys, HMAC,
//! sign and verify; nothing they protect is stored. Key material is stored only through the
//! mount's `StorageView`.
//!
//! - `keytype.rs`, `ciphertext.rs` (`vault:v<N>:<base64>`), `key.rs` (version rules, pure),
//!   `key_view.rs` (the read answer), `secret.rs`, `material.rs` (one version's bytes), `cipher.rs`,
//!   `ecdsa.rs`, `signing.rs`, `backup.rs` (the backup blob), `import.rs` (BYOK unwrapping):
//!   the crypto and formats, no I/O.
//! - `store.rs`: `policy/<name>` and `import/key` in the mount's storage. `batch.rs`: request
//!   fields; `options.rs`: the fields of a new key. `auto_rotate.rs`: keys past their `auto_rotate_period` rotate when next loaded.
//! - `keys_api.rs`, `crypt_api.rs`, `sign_api.rs`, `export_api.rs`, `tools_api.rs`,
//!   `backup_api.rs`, `import_api.rs`, `cache_api.rs`: endpoints.

mod auto_rotate;
mod backup;
mod backup_api;
mod batch;
mod cache_api;
mod cipher;
mod ciphertext;
mod crypt_api;
mod ecdsa;
mod error;
mod export_api;
mod import;
mod import_api;
mod key;
mod key_view;
mod keys_api;
mod keytype;
mod material;
mod options;
mod secret;
mod sign_api;
mod signing;
mod store;
mod tools_api;

use super::{MountRequest, SecretEngine};
use crate::error::ApiError;
use crate::request::{Operation, Response};
use async_trait::async_trait;

pub use error::TransitError;

/// One transit mount. Writers of a key (create, rotate, config, trim, delete, and encrypt's
/// create-on-first-use) hold `writes`, so two of them never interleave their read-modify-write.
#[derive(Default)]
pub struct Transit {
    writes: tokio::sync::Mutex<()>,
}

/// Vault's 404 for a path no route of the backend matches.
fn unsupported_path() -> ApiError {
    ApiError::NotFound("unsupported path".into())
}

/// The key name segment, checked.
fn key_name(name: &str) -> Result<&str, ApiError> {
    if store::valid_name(name) {
        Ok(name)
    } else {
        Err(unsupported_path())
    }
}

fn is_write(op: Operation) -> bool {
    matches!(op, Operation::Create | Operation::Update)
}

#[async_trait]
impl SecretEngine for Transit {
    async fn handle(&self, m: MountRequest<'_>) -> Result<Option<Response>, ApiError> {
        let (head, rest) = m.path.split_once('/').unwrap_or((m.path, ""));
        let op = m.req.operation;
        match head {
            "keys" => keys_api::route(self, &m, rest).await,
            "export" if op == Operation::Read => export_api::export(&m, rest).await,
            "backup" if op == Operation::Read => backup_api::backup(self, &m, rest).await,
            "restore" if is_write(op) => backup_api::restore(self, &m, rest).await,
            "wrapping_key" if rest.is_empty() && op == Operation::Read => {
                import_api::read_wrapping_key(self, &m).await
            }
            "cache-config" if rest.is_empty() => cache_api::route(&m).await,
            "random" if is_write(op) => tools_api::random(&m, rest),
            "hash" if is_write(op) => tools_api::hash(&m, rest),
            "encrypt" | "decrypt" | "rewrap" | "datakey" | "hmac" | "sign" | "verify"
                if !is_write(op) =>
            {
                Err(ApiError::UnsupportedOperation)
            }
            "encrypt" => crypt_api::encrypt(self, &m, key_name(rest)?).await,
            "decrypt" => crypt_api::decrypt(self, &m, key_name(rest)?).await,
            "rewrap" => crypt_api::rewrap(self, &m, key_name(rest)?).await,
            "datakey" => {
                let (kind, name) = rest.split_once('/').ok_or_else(unsupported_path)?;
                crypt_api::datakey(self, &m, kind, key_name(name)?).await
            }
            "hmac" | "sign" | "verify" => {
                let (name, algorithm) = rest.split_once('/').unwrap_or((rest, ""));
                let name = key_name(name)?;
                match head {
                    "hmac" => sign_api::hmac(self, &m, name, algorithm).await,
                    "sign" => sign_api::sign(self, &m, name, algorithm).await,
                    _ => sign_api::verify(self, &m, name, algorithm).await,
                }
            }
            "export" | "random" | "hash" | "backup" | "restore" => {
                Err(ApiError::UnsupportedOperation)
            }
            "wrapping_key" if rest.is_empty() => Err(ApiError::UnsupportedOperation),
            _ => Err(unsupported_path()),
        }
    }

    /// `encrypt/<name>` creates the key on first use, so a missing key makes the ACL check
    /// `create`, as Vault's existence check does.
    async fn exists(&self, m: MountRequest<'_>) -> Result<Option<bool>, ApiError> {
        match m.path.split_once('/') {
            Some(("encrypt", name)) if store::valid_name(name) => {
                Ok(Some(store::load(m.storage, name).await?.is_some()))
            }
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests;
