//! The `kubernetes` auth method: `config`, `role/<name>` (and `LIST role`), and `login` with
//! `{role, jwt}`. A login reads the service account the JWT claims to be (unverified), checks it
//! against the role's bound names and namespaces (and audience, issuer, expiry), then asks the
//! cluster's TokenReview API whether the JWT is valid and must hear back the same account.
//! In a pod, the review is authorised by the pod's own service account (`local.rs`) unless a
//! `token_reviewer_jwt` is configured.
//!
//! Storage: `config` → [`config::KubeConfig`]; `role/<name>` → [`role::KubeRole`].

pub mod config;
pub mod jwt;
pub mod local;
pub mod review;
pub mod role;

use super::stored_role::{role_key, role_op, StoredRole};
use super::{cidr, data_reply, list_response, name_segment, no_content};
use super::{AliasGrant, AuthMethod, LoginGrant, MountRequest, Outcome};
use crate::error::ApiError;
use crate::fields::Fields;
use crate::request::Operation;
use async_trait::async_trait;
use config::KubeConfig;
use local::LocalAccount;
use role::KubeRole;
use std::collections::BTreeMap;

/// The method (stateless; everything is in the mount's storage).
pub struct Kubernetes;

const CONFIG_KEY: &str = "config";

#[async_trait]
impl AuthMethod for Kubernetes {
    fn is_login_path(&self, path: &str) -> bool {
        path == "login"
    }

    async fn exists(&self, areq: MountRequest<'_>) -> Result<Option<bool>, ApiError> {
        match areq.path.strip_prefix("role/") {
            Some(name) if !name.is_empty() && !name.contains('/') => {
                super::stored(&areq, &role_key(name)).await
            }
            _ if areq.path == "config" => super::stored(&areq, CONFIG_KEY).await,
            _ => Ok(None),
        }
    }

    async fn handle(&self, areq: MountRequest<'_>) -> Result<Outcome, ApiError> {
        let op = areq.req.operation;
        let write = matches!(op, Operation::Create | Operation::Update);
        match areq.path.trim_end_matches('/') {
            "login" if write => login(&areq).await,
            "config" => config_op(&areq).await,
            "role" if op == Operation::List => list_response(areq.storage.list("role/").await?),
            p if p.starts_with("role/") => role_op::<KubeRole>(&areq, &p["role/".len()..]).await,
            "login" | "role" => Err(ApiError::UnsupportedOperation),
            _ => Err(crate::error::ApiError::no_route(&areq.req.path)),
        }
    }
}

async fn load_config(areq: &MountRequest<'_>) -> Result<Option<KubeConfig>, ApiError> {
    areq.storage.get_json(CONFIG_KEY).await
}

async fn config_op(areq: &MountRequest<'_>) -> Result<Outcome, ApiError> {
    match areq.req.operation {
        Operation::Read => match load_config(areq).await? {
            Some(c) => Ok(data_reply(c.read_json())),
            None => Err(ApiError::NotFound(String::new())),
        },
        Operation::Create | Operation::Update => {
            let config = KubeConfig::from_write(&areq.req.data, &LocalAccount::from_env())?;
            areq.storage.put_json(CONFIG_KEY, &config).await?;
            Ok(no_content())
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}

/// The JWT's own claims, checked before the cluster is asked: issuer, audience, expiry, and the
/// role's bound names and namespaces. Each failure is Vault's 403.
fn check_claims(
    claims: &jwt::Claims,
    role: &KubeRole,
    config: &KubeConfig,
) -> Result<(), ApiError> {
    if !config.disable_iss_validation && !config.issuer.is_empty() && claims.issuer != config.issuer
    {
        return Err(ApiError::Forbidden("invalid issuer (iss) claim".into()));
    }
    if !role.audience.is_empty() && !claims.audiences.contains(&role.audience) {
        return Err(ApiError::Forbidden(
            "invalid audience (aud) claim: audience claim does not match any expected audience"
                .into(),
        ));
    }
    if claims
        .expires_at
        .is_some_and(|exp| crate::clock::unix_now() > exp)
    {
        return Err(ApiError::Forbidden("token is expired (exp)".into()));
    }
    role.check_bound(&claims.namespace, &claims.name)
        .map_err(|e| ApiError::Forbidden(e.to_string()))
}

async fn login(areq: &MountRequest<'_>) -> Result<Outcome, ApiError> {
    let f = Fields(&areq.req.data);
    let role_name = f.str_opt("role")?.unwrap_or_default();
    if role_name.is_empty() {
        return Err(ApiError::bad("missing role"));
    }
    let token = f.str_opt("jwt")?.unwrap_or_default().trim().to_string();
    if token.is_empty() {
        return Err(ApiError::bad("missing jwt"));
    }
    let role: KubeRole = match name_segment(&role_name, "role name") {
        Ok(n) => areq.storage.get_json(&role_key(&n)).await?,
        Err(_) => None,
    }
    .ok_or_else(|| ApiError::bad(format!("invalid role name {role_name:?}")))?;
    if !cidr::allows(
        &role.token.token_bound_cidrs,
        areq.req.remote_addr.as_deref(),
    ) {
        return Err(ApiError::PermissionDenied);
    }
    let config = load_config(areq)
        .await?
        .ok_or_else(|| ApiError::Internal("could not load backend configuration".into()))?;
    let claims = jwt::parse_unverified(&token).map_err(|e| ApiError::Forbidden(e.to_string()))?;
    check_claims(&claims, &role, &config)?;
    if claims.uid.is_empty() {
        return Err(ApiError::Forbidden(
            "could not parse UID from claims".into(),
        ));
    }
    let audiences = if role.audience.is_empty() {
        claims.audiences.clone()
    } else {
        vec![role.audience.clone()]
    };
    let reviewing = config
        .reviewing(&token, &LocalAccount::from_env())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let reviewed = review::review(
        &config.kubernetes_host,
        reviewing.ca_pem.as_deref(),
        &reviewing.bearer,
        &token,
        &audiences,
    )
    .await
        .map_err(|e| {
            tracing::info!(role = %role_name, reason = %e, "kubernetes login refused by the TokenReview");
            ApiError::PermissionDenied
        })?;
    if reviewed.name != claims.name
        || reviewed.namespace != claims.namespace
        || reviewed.uid != claims.uid
    {
        tracing::info!(role = %role_name, "kubernetes login refused: the TokenReview names another service account");
        return Err(ApiError::PermissionDenied);
    }
    let metadata: BTreeMap<String, String> = [
        ("role", role_name.clone()),
        ("service_account_name", claims.name.clone()),
        ("service_account_namespace", claims.namespace.clone()),
        ("service_account_uid", claims.uid.clone()),
        ("service_account_secret_name", claims.secret_name.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let alias = AliasGrant {
        name: match role.alias_name_source.as_str() {
            "serviceaccount_name" => format!("{}/{}", claims.namespace, claims.name),
            _ => claims.uid.clone(),
        },
        metadata: metadata
            .iter()
            .filter(|(k, _)| k.starts_with("service_account_"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    };
    Ok(Outcome::Login(Box::new(LoginGrant {
        alias: Some(alias),
        group_aliases: Vec::new(),
        bound_cidrs: role.token.token_bound_cidrs.clone(),
        display_name: format!("{}-{}", claims.namespace, claims.name),
        params: role.token,
        metadata,
    })))
}

impl StoredRole for KubeRole {
    fn apply(&mut self, data: &serde_json::Map<String, serde_json::Value>) -> Result<(), ApiError> {
        KubeRole::apply(self, data)
    }

    fn read_json(&self) -> serde_json::Map<String, serde_json::Value> {
        KubeRole::read_json(self)
    }
}
