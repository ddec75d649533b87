//! The `approle` auth method: roles, role IDs, secret IDs (generate, custom, list, lookup,
//! destroy, by value or accessor), and `login` with `role_id` + `secret_id`.
//!
//! Storage: `role/<name>` → [`role::Role`]; `role_id/<sha256(role_id)>` → role name;
//! `secret_id/<name>/<hmac(secret_id)>` → [`secret_id::SecretIdEntry`];
//! `accessor/<name>/<accessor>` → that HMAC.

pub mod role;
pub mod secret_id;

use super::{cidr, data_reply, list_response, name_segment, no_content};
use super::{AliasGrant, AuthMethod, LoginGrant, MountRequest, Outcome};
use crate::error::ApiError;
use crate::fields::Fields;
use crate::request::Operation;
use async_trait::async_trait;
use role::Role;
use secret_id::{SecretIdEntry, Spend};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The method (stateless; everything is in the mount's storage).
pub struct AppRole;

/// Vault's answer to an unknown role ID or a wrong, used-up or expired secret ID.
const INVALID: &str = "invalid role or secret ID";

/// Serialises secret ID use, so two concurrent logins cannot both spend a secret ID's last use.
fn spend_lock() -> &'static tokio::sync::Mutex<()> {
    static LOCK: std::sync::OnceLock<tokio::sync::Mutex<()>> = std::sync::OnceLock::new();
    LOCK.get_or_init(|| tokio::sync::Mutex::new(()))
}

#[async_trait]
impl AuthMethod for AppRole {
    fn is_login_path(&self, path: &str) -> bool {
        path == "login"
    }

    async fn exists(&self, areq: MountRequest<'_>) -> Result<Option<bool>, ApiError> {
        match areq.path.strip_prefix("role/") {
            Some(name) if !name.is_empty() && !name.contains('/') => {
                super::stored(&areq, &role_key(name)).await
            }
            _ => Ok(None),
        }
    }

    async fn handle(&self, areq: MountRequest<'_>) -> Result<Outcome, ApiError> {
        let op = areq.req.operation;
        let write = matches!(op, Operation::Create | Operation::Update);
        let path = areq.path.trim_end_matches('/');
        if path == "login" {
            return if write {
                login(&areq).await
            } else {
                Err(ApiError::UnsupportedOperation)
            };
        }
        if path == "role" {
            return match op {
                Operation::List => list_response(areq.storage.list("role/").await?),
                _ => Err(ApiError::UnsupportedOperation),
            };
        }
        if path == "tidy/secret-id" && write {
            return tidy(&areq).await;
        }
        let Some(rest) = path.strip_prefix("role/") else {
            return Err(crate::error::ApiError::no_route(&areq.req.path));
        };
        let (name, sub) = rest.split_once('/').unwrap_or((rest, ""));
        let name = name_segment(name, "role name")?;
        match sub {
            "" => role_op(&areq, &name).await,
            "role-id" => role_id_op(&areq, &name).await,
            "secret-id" if op == Operation::List => list_accessors(&areq, &name).await,
            "secret-id" if write => generate(&areq, &name, None).await,
            "custom-secret-id" if write => {
                let id = Fields(&areq.req.data).str_req("secret_id")?;
                generate(&areq, &name, Some(id)).await
            }
            "secret-id/lookup" if write => lookup(&areq, &name, By::Value).await,
            "secret-id-accessor/lookup" if write => lookup(&areq, &name, By::Accessor).await,
            "secret-id/destroy" if write || op == Operation::Delete => {
                destroy(&areq, &name, By::Value).await
            }
            "secret-id-accessor/destroy" if write || op == Operation::Delete => {
                destroy(&areq, &name, By::Accessor).await
            }
            other => match role::field_endpoint(other) {
                Some(fields) => field_op(&areq, &name, fields).await,
                None => Err(crate::error::ApiError::no_route(&areq.req.path)),
            },
        }
    }
}

fn role_key(name: &str) -> String {
    format!("role/{name}")
}

fn role_id_key(role_id: &str) -> String {
    format!(
        "role_id/{}",
        hex::encode(Sha256::digest(role_id.as_bytes()))
    )
}

async fn load_role(areq: &MountRequest<'_>, name: &str) -> Result<Option<Role>, ApiError> {
    areq.storage.get_json(&role_key(name)).await
}

async fn existing_role(areq: &MountRequest<'_>, name: &str) -> Result<Role, ApiError> {
    load_role(areq, name)
        .await?
        .ok_or_else(|| ApiError::bad(format!("role {name:?} does not exist")))
}

/// Store a role, moving its role ID index when the ID changed; a role ID another role holds is
/// refused before anything is written.
async fn save_role(
    areq: &MountRequest<'_>,
    role: &Role,
    old_id: Option<&str>,
) -> Result<(), ApiError> {
    if old_id != Some(role.role_id.as_str()) {
        if let Some(owner) = areq.storage.get(&role_id_key(&role.role_id)).await? {
            if owner != role.name.as_bytes() {
                return Err(ApiError::bad("role_id already in use"));
            }
        }
    }
    areq.storage.put_json(&role_key(&role.name), role).await?;
    areq.storage
        .put(&role_id_key(&role.role_id), role.name.as_bytes())
        .await?;
    if let Some(old) = old_id.filter(|old| *old != role.role_id) {
        areq.storage.delete(&role_id_key(old)).await?;
    }
    Ok(())
}

async fn role_op(areq: &MountRequest<'_>, name: &str) -> Result<Outcome, ApiError> {
    match areq.req.operation {
        Operation::Read => {
            let role = load_role(areq, name)
                .await?
                .ok_or_else(|| ApiError::NotFound(String::new()))?;
            Ok(data_reply(role.read_json()))
        }
        Operation::Create | Operation::Update => {
            let existing = load_role(areq, name).await?;
            let old_id = existing.as_ref().map(|r| r.role_id.clone());
            let mut role = existing.clone().unwrap_or_else(|| Role::new(name));
            role.apply(&areq.req.data, existing.is_none())?;
            save_role(areq, &role, old_id.as_deref()).await?;
            Ok(no_content())
        }
        Operation::Delete => {
            if let Some(role) = load_role(areq, name).await? {
                delete_secret_ids(areq, name).await?;
                areq.storage.delete(&role_id_key(&role.role_id)).await?;
                areq.storage.delete(&role_key(name)).await?;
            }
            Ok(no_content())
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}

async fn role_id_op(areq: &MountRequest<'_>, name: &str) -> Result<Outcome, ApiError> {
    let mut role = existing_role(areq, name).await?;
    match areq.req.operation {
        Operation::Read => Ok(data_reply(
            [("role_id".to_string(), Value::from(role.role_id))]
                .into_iter()
                .collect(),
        )),
        Operation::Create | Operation::Update => {
            let old = role.role_id.clone();
            let new_id = Fields(&areq.req.data).str_req("role_id")?;
            role.role_id = new_id.trim().to_string();
            save_role(areq, &role, Some(&old)).await?;
            Ok(no_content())
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}

/// `role/<name>/<field>`: read or set one field of the role.
async fn field_op(
    areq: &MountRequest<'_>,
    name: &str,
    fields: &[&str],
) -> Result<Outcome, ApiError> {
    let mut role = existing_role(areq, name).await?;
    match areq.req.operation {
        Operation::Read => {
            let all = role.read_json();
            let data = fields
                .iter()
                .filter_map(|f| all.get(*f).map(|v| (f.to_string(), v.clone())))
                .collect();
            Ok(data_reply(data))
        }
        Operation::Create | Operation::Update => {
            let body: Map<String, Value> = areq
                .req
                .data
                .iter()
                .filter(|(k, _)| fields.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if body.is_empty() {
                return Err(ApiError::bad(format!("missing {}", fields[0])));
            }
            let old = role.role_id.clone();
            role.apply(&body, false)?;
            save_role(areq, &role, Some(&old)).await?;
            Ok(no_content())
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}

fn secret_key(name: &str, hmac: &str) -> String {
    format!("secret_id/{name}/{hmac}")
}

fn accessor_key(name: &str, accessor: &str) -> String {
    format!("accessor/{name}/{accessor}")
}

fn role_hmac(role: &Role, secret_id: &str) -> Result<String, ApiError> {
    let key = hex::decode(&role.hmac_key).map_err(ApiError::internal)?;
    Ok(secret_id::hmac_hex(&key, secret_id))
}

async fn generate(
    areq: &MountRequest<'_>,
    name: &str,
    custom: Option<String>,
) -> Result<Outcome, ApiError> {
    let role = existing_role(areq, name).await?;
    if !role.bind_secret_id {
        return Err(ApiError::bad("bind_secret_id is not set on the role"));
    }
    let f = Fields(&areq.req.data);
    let cidr_list = cidr::parse_list("cidr_list", f.list_opt("cidr_list")?.unwrap_or_default())?;
    if !cidr::is_subset(&cidr_list, &role.secret_id_bound_cidrs) {
        return Err(ApiError::bad(
            "failed to verify the CIDR restrictions set on the secret ID: cidr_list is not a subset of the role's secret_id_bound_cidrs",
        ));
    }
    let token_cidrs = cidr::parse_list(
        "token_bound_cidrs",
        f.list_opt("token_bound_cidrs")?.unwrap_or_default(),
    )?;
    if !cidr::is_subset(&token_cidrs, &role.token.token_bound_cidrs) {
        return Err(ApiError::bad(
            "failed to verify the CIDR restrictions set on the secret ID: token_bound_cidrs is not a subset of the role's token_bound_cidrs",
        ));
    }
    let num_uses = match areq.req.data.get("num_uses") {
        Some(v) if !v.is_null() => Some(crate::fields::unsigned(v, "num_uses")?),
        _ => None,
    };
    let (num_uses, ttl) = secret_id::resolve_limits(
        role.secret_id_num_uses,
        role.secret_id_ttl,
        num_uses,
        f.secs_opt("ttl")?,
    )?;
    let metadata = secret_id::parse_metadata(areq.req.data.get("metadata"))?;
    let value = custom.unwrap_or_else(crate::ids::uuid);
    let hmac = role_hmac(&role, &value)?;
    if areq.storage.get(&secret_key(name, &hmac)).await?.is_some() {
        return Err(ApiError::bad("SecretID is already registered"));
    }
    let now = crate::clock::unix_now_ms();
    let mut entry = SecretIdEntry::new(crate::ids::uuid(), num_uses, ttl, now);
    entry.metadata = metadata;
    entry.cidr_list = cidr_list;
    entry.token_bound_cidrs = token_cidrs;
    areq.storage
        .put_json(&secret_key(name, &hmac), &entry)
        .await?;
    areq.storage
        .put(&accessor_key(name, &entry.accessor), hmac.as_bytes())
        .await?;
    let data = json!({
        "secret_id": value,
        "secret_id_accessor": entry.accessor,
        "secret_id_ttl": ttl,
        "secret_id_num_uses": num_uses,
    });
    Ok(data_reply(data.as_object().cloned().unwrap_or_default()))
}

async fn list_accessors(areq: &MountRequest<'_>, name: &str) -> Result<Outcome, ApiError> {
    existing_role(areq, name).await?;
    list_response(areq.storage.list(&format!("accessor/{name}/")).await?)
}

/// How a lookup or destroy names its secret ID.
#[derive(Clone, Copy)]
enum By {
    Value,
    Accessor,
}

/// The HMAC of the secret ID a request names, if it exists.
async fn find(areq: &MountRequest<'_>, role: &Role, by: By) -> Result<Option<String>, ApiError> {
    let f = Fields(&areq.req.data);
    match by {
        By::Value => {
            let value = f.str_req("secret_id")?;
            let hmac = role_hmac(role, value.trim())?;
            let exists = areq
                .storage
                .get(&secret_key(&role.name, &hmac))
                .await?
                .is_some();
            Ok(exists.then_some(hmac))
        }
        By::Accessor => {
            let accessor = f.str_req("secret_id_accessor")?;
            match areq
                .storage
                .get(&accessor_key(&role.name, accessor.trim()))
                .await?
            {
                Some(hmac) => Ok(Some(String::from_utf8_lossy(&hmac).into_owned())),
                None => Err(ApiError::bad(format!(
                    "failed to find accessor entry for secret_id_accessor: {accessor:?}"
                ))),
            }
        }
    }
}

async fn remove(
    areq: &MountRequest<'_>,
    name: &str,
    hmac: &str,
    entry: &SecretIdEntry,
) -> Result<(), ApiError> {
    areq.storage
        .delete(&accessor_key(name, &entry.accessor))
        .await?;
    areq.storage.delete(&secret_key(name, hmac)).await
}

/// A live entry: an expired one is deleted on sight and counts as absent.
async fn live_entry(
    areq: &MountRequest<'_>,
    name: &str,
    hmac: &str,
) -> Result<Option<SecretIdEntry>, ApiError> {
    let Some(entry) = areq
        .storage
        .get_json::<SecretIdEntry>(&secret_key(name, hmac))
        .await?
    else {
        return Ok(None);
    };
    if entry.expired(crate::clock::unix_now_ms()) {
        remove(areq, name, hmac, &entry).await?;
        return Ok(None);
    }
    Ok(Some(entry))
}

async fn lookup(areq: &MountRequest<'_>, name: &str, by: By) -> Result<Outcome, ApiError> {
    let role = existing_role(areq, name).await?;
    let Some(hmac) = find(areq, &role, by).await? else {
        return Ok(no_content());
    };
    match live_entry(areq, name, &hmac).await? {
        Some(entry) => Ok(data_reply(entry.lookup_json())),
        None => Ok(no_content()),
    }
}

async fn destroy(areq: &MountRequest<'_>, name: &str, by: By) -> Result<Outcome, ApiError> {
    let role = existing_role(areq, name).await?;
    if let Some(hmac) = find(areq, &role, by).await? {
        if let Some(entry) = areq
            .storage
            .get_json::<SecretIdEntry>(&secret_key(name, &hmac))
            .await?
        {
            remove(areq, name, &hmac, &entry).await?;
        }
    }
    Ok(no_content())
}

async fn delete_secret_ids(areq: &MountRequest<'_>, name: &str) -> Result<(), ApiError> {
    for prefix in [format!("secret_id/{name}/"), format!("accessor/{name}/")] {
        for key in areq.storage.list(&prefix).await? {
            areq.storage.delete(&format!("{prefix}{key}")).await?;
        }
    }
    Ok(())
}

/// `tidy/secret-id`: delete every expired secret ID.
async fn tidy(areq: &MountRequest<'_>) -> Result<Outcome, ApiError> {
    for role in areq.storage.list("secret_id/").await? {
        let name = role.trim_end_matches('/');
        for hmac in areq.storage.list(&format!("secret_id/{name}/")).await? {
            live_entry(areq, name, &hmac).await?;
        }
    }
    Ok(no_content())
}

async fn login(areq: &MountRequest<'_>) -> Result<Outcome, ApiError> {
    let f = Fields(&areq.req.data);
    let role_id = f.str_opt("role_id")?.unwrap_or_default().trim().to_string();
    if role_id.is_empty() {
        return Err(ApiError::bad("missing role_id"));
    }
    let name = areq
        .storage
        .get(&role_id_key(&role_id))
        .await?
        .map(|n| String::from_utf8_lossy(&n).into_owned())
        .ok_or_else(|| ApiError::bad(INVALID))?;
    let role = load_role(areq, &name)
        .await?
        .ok_or_else(|| ApiError::bad(INVALID))?;
    let remote = areq.req.remote_addr.as_deref();
    if !cidr::allows(&role.secret_id_bound_cidrs, remote) {
        return Err(ApiError::bad(format!(
            "source address {:?} unauthorized by CIDR restrictions on the role",
            remote.unwrap_or_default()
        )));
    }
    let mut metadata: BTreeMap<String, String> = BTreeMap::new();
    let mut bound_cidrs = role.token.token_bound_cidrs.clone();
    if role.bind_secret_id {
        let value = f
            .str_opt("secret_id")?
            .unwrap_or_default()
            .trim()
            .to_string();
        if value.is_empty() {
            return Err(ApiError::bad("missing secret_id"));
        }
        let hmac = role_hmac(&role, &value)?;
        let _serial = spend_lock().lock().await;
        let entry = live_entry(areq, &name, &hmac)
            .await?
            .ok_or_else(|| ApiError::bad(INVALID))?;
        if !cidr::allows(&entry.cidr_list, remote) {
            return Err(ApiError::bad(format!(
                "source address {:?} unauthorized through CIDR restrictions on the secret ID",
                remote.unwrap_or_default()
            )));
        }
        match entry.spend(crate::clock::unix_now_ms()) {
            Spend::Remove => remove(areq, &name, &hmac, &entry).await?,
            Spend::Keep(next) if next != entry => {
                areq.storage
                    .put_json(&secret_key(&name, &hmac), &next)
                    .await?
            }
            Spend::Keep(_) => {}
        }
        if !entry.token_bound_cidrs.is_empty() {
            bound_cidrs = entry.token_bound_cidrs.clone();
        }
        metadata = entry.metadata;
    }
    metadata.insert("role_name".to_string(), name.clone());
    let alias = AliasGrant {
        name: role_id,
        metadata: [("role_name".to_string(), name)].into(),
    };
    Ok(Outcome::Login(Box::new(LoginGrant {
        params: role.token,
        metadata,
        display_name: String::new(),
        bound_cidrs,
        alias: Some(alias),
        group_aliases: Vec::new(),
    })))
}

#[cfg(test)]
mod tests {
    use crate::auth::testkit::Mount;
    use crate::auth::Outcome;
    use crate::request::Operation::{List, Read, Update};
    use serde_json::json;

    async fn role_with_secret(m: &Mount, body: serde_json::Value) -> (String, String) {
        assert!(m.call(Update, "role/web", body).await.is_ok());
        let role_id = m.data(Read, "role/web/role-id", json!({})).await["role_id"].clone();
        let secret = m.data(Update, "role/web/secret-id", json!({})).await["secret_id"].clone();
        (
            role_id.as_str().unwrap().into(),
            secret.as_str().unwrap().into(),
        )
    }

    async fn login(m: &Mount, role_id: &str, secret_id: &str) -> bool {
        let body = json!({"role_id": role_id, "secret_id": secret_id});
        match m.call(Update, "login", body).await {
            Ok(Outcome::Login(grant)) => {
                assert_eq!(grant.metadata["role_name"], "web");
                true
            }
            Ok(_) => panic!("a login must answer a grant"),
            Err(e) => {
                assert_eq!(e.to_string(), super::INVALID);
                false
            }
        }
    }

    #[tokio::test]
    async fn concurrent_logins_spend_a_single_use_secret_id_once() {
        let m = Mount::new("approle").await;
        let (role_id, secret) = role_with_secret(&m, json!({"secret_id_num_uses": 1})).await;
        let attempts = (0..4).map(|_| login(&m, &role_id, &secret));
        let wins = futures::future::join_all(attempts).await;
        assert_eq!(wins.iter().filter(|w| **w).count(), 1, "{wins:?}");
        assert!(
            m.call(List, "role/web/secret-id/", json!({}))
                .await
                .is_err(),
            "its accessor is gone"
        );
    }

    #[tokio::test]
    async fn secret_ids_are_stored_only_under_their_hmac() {
        let m = Mount::new("approle").await;
        let (role_id, secret) = role_with_secret(&m, json!({})).await;
        let keys = m.storage.list_recursive("").await.unwrap();
        assert!(keys.iter().all(|k| !k.contains(&secret)), "{keys:?}");
        for key in &keys {
            let value = m.storage.get(key).await.unwrap().unwrap();
            assert!(
                !String::from_utf8_lossy(&value).contains(&secret),
                "{key} holds the secret ID"
            );
        }
        assert!(login(&m, &role_id, &secret).await);
        assert!(login(&m, &role_id, &secret).await, "unlimited uses");
        assert!(!login(&m, &role_id, "not-it").await);
    }

    #[tokio::test]
    async fn deleting_a_role_deletes_its_secret_ids_and_role_id() {
        let m = Mount::new("approle").await;
        let (role_id, secret) = role_with_secret(&m, json!({})).await;
        assert!(m
            .call(crate::request::Operation::Delete, "role/web", json!({}))
            .await
            .is_ok());
        assert!(m.storage.list_recursive("").await.unwrap().is_empty());
        assert!(!login(&m, &role_id, &secret).await);
    }
}
