//! The `jwt` auth method (also mounted as type `oidc`): `config`, `role/<name>` (and
//! `LIST role`), and `login` with `{role, jwt}`, in the shapes of Vault 1.16's jwt plugin. A
//! token is verified against static PEM keys, a JWKS URL or an OIDC discovery URL (`keys.rs`,
//! `jwks.rs`), then checked against the role (`claims.rs`, `login.rs`). The OIDC browser flow
//! (`oidc/auth_url`, `oidc/callback`) is not served: those paths answer 400.
//!
//! Storage: `config` → [`config::JwtConfig`]; `role/<name>` → [`role::JwtRole`].

pub mod claims;
pub mod config;
pub mod jwks;
pub mod keys;
pub mod login;
pub mod role;
pub mod token;

use super::stored_role::{role_key, role_op, StoredRole};
use super::{data_reply, list_response, no_content};
use super::{AuthMethod, MountRequest, Outcome};
use crate::error::ApiError;
use crate::request::Operation;
use async_trait::async_trait;
use config::{JwtConfig, KeySource};
use role::JwtRole;

/// The method (stateless apart from the key cache in `jwks.rs`).
pub struct Jwt;

const CONFIG_KEY: &str = "config";

/// The answer of the OIDC browser-flow paths.
pub const NO_BROWSER_FLOW: &str = "the OIDC browser flow (oidc/auth_url, oidc/callback) is not served by this server: log in at login with a JWT and a role whose role_type is \"jwt\"";

#[async_trait]
impl AuthMethod for Jwt {
    fn is_login_path(&self, path: &str) -> bool {
        matches!(path, "login" | "oidc/auth_url" | "oidc/callback")
    }

    async fn exists(&self, areq: MountRequest<'_>) -> Result<Option<bool>, ApiError> {
        match areq.path.strip_prefix("role/") {
            Some(name) if !name.is_empty() && !name.contains('/') => {
                super::stored(&areq, &role_key(&name.to_lowercase())).await
            }
            _ if areq.path == "config" => super::stored(&areq, CONFIG_KEY).await,
            _ => Ok(None),
        }
    }

    async fn handle(&self, areq: MountRequest<'_>) -> Result<Outcome, ApiError> {
        let op = areq.req.operation;
        let write = matches!(op, Operation::Create | Operation::Update);
        match areq.path.trim_end_matches('/') {
            "login" if write => login::login(&areq).await,
            "oidc/auth_url" | "oidc/callback" => Err(ApiError::bad(NO_BROWSER_FLOW)),
            "config" => config_op(&areq).await,
            "role" if op == Operation::List => list_response(areq.storage.list("role/").await?),
            p if p.starts_with("role/") => {
                role_op::<JwtRole>(&areq, &p["role/".len()..].to_lowercase()).await
            }
            "login" | "role" => Err(ApiError::UnsupportedOperation),
            _ => Err(ApiError::no_route(&areq.req.path)),
        }
    }
}

async fn load_config(areq: &MountRequest<'_>) -> Result<Option<JwtConfig>, ApiError> {
    areq.storage.get_json(CONFIG_KEY).await
}

/// Prove a config's key source works, with Vault's messages when it does not.
async fn check_source(config: &JwtConfig) -> Result<(), ApiError> {
    let no_ca = |pem: &str| !pem.trim().is_empty() && !pem.contains("-----BEGIN CERTIFICATE-----");
    match config.source() {
        KeySource::Static(pems) => {
            for pem in pems {
                keys::from_pem(pem)
                    .map_err(|e| ApiError::bad(format!("error parsing public key: {e}")))?;
            }
        }
        KeySource::Jwks { url, ca_pem } => {
            if no_ca(ca_pem) {
                return Err(ApiError::bad("error checking jwks_ca_pem"));
            }
            jwks::Remote::Jwks { url, ca_pem }
                .fetch()
                .await
                .map_err(|e| ApiError::bad(format!("error checking jwks URL: {e}")))?;
        }
        KeySource::Discovery { url, ca_pem } => {
            if no_ca(ca_pem) {
                return Err(ApiError::bad(
                    "error checking oidc discovery URL: could not parse CA PEM value successfully",
                ));
            }
            jwks::Remote::Discovery { url, ca_pem }
                .fetch()
                .await
                .map_err(|e| ApiError::bad(format!("error checking oidc discovery URL: {e}")))?;
        }
    }
    Ok(())
}

async fn config_op(areq: &MountRequest<'_>) -> Result<Outcome, ApiError> {
    match areq.req.operation {
        Operation::Read => match load_config(areq).await? {
            Some(c) => Ok(data_reply(c.read_json())),
            None => Err(ApiError::NotFound(String::new())),
        },
        Operation::Create | Operation::Update => {
            let existing = load_config(areq).await?;
            let config = JwtConfig::from_write(&areq.req.data, existing.as_ref())?;
            check_source(&config).await?;
            areq.storage.put_json(CONFIG_KEY, &config).await?;
            jwks::forget(&areq.mount.uuid);
            Ok(no_content())
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}

impl StoredRole for JwtRole {
    fn apply(&mut self, data: &serde_json::Map<String, serde_json::Value>) -> Result<(), ApiError> {
        JwtRole::apply(self, data)
    }

    fn read_json(&self) -> serde_json::Map<String, serde_json::Value> {
        JwtRole::read_json(self)
    }
}
