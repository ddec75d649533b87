//! KV v1: Vault's unversioned `kv` engine (the "passthrough" backend).
//!
//! Storage layout: the secret at `<path>` is the JSON object of the last write, stored at
//! `<path>` in the mount's `StorageView`, so a storage list of `<folder>/` is the engine's
//! `LIST`. There is no other bookkeeping: a write replaces the whole object, a delete removes it.

use super::{MountRequest, SecretEngine};
use crate::error::ApiError;
use crate::request::{Operation, Response};
use async_trait::async_trait;
use serde_json::{json, Map, Value};

/// Lease duration reported on reads when neither the secret's `ttl` nor the mount sets one
/// (Vault's system default, 768h).
pub const DEFAULT_LEASE_SECS: u64 = 768 * 3600;

/// The KV v1 engine. Stateless: everything lives in the mount's storage.
pub struct KvV1;

#[async_trait]
impl SecretEngine for KvV1 {
    async fn handle(&self, mreq: MountRequest<'_>) -> Result<Option<Response>, ApiError> {
        match mreq.req.operation {
            Operation::Read => read(&mreq).await,
            Operation::Create | Operation::Update => write(&mreq).await,
            Operation::Delete => {
                mreq.storage.delete(mreq.path).await?;
                Ok(None)
            }
            Operation::List => list(&mreq).await,
            Operation::Patch => Err(ApiError::UnsupportedOperation),
        }
    }

    async fn exists(&self, mreq: MountRequest<'_>) -> Result<Option<bool>, ApiError> {
        Ok(Some(mreq.storage.get(mreq.path).await?.is_some()))
    }
}

async fn read(mreq: &MountRequest<'_>) -> Result<Option<Response>, ApiError> {
    let data: Map<String, Value> = mreq
        .storage
        .get_json(mreq.path)
        .await?
        .ok_or_else(|| ApiError::NotFound(String::new()))?;
    let mut resp = Response::data(Value::Object(data.clone()));
    resp.lease_duration = lease_secs(&data, mreq.mount.config.default_lease_ttl);
    Ok(Some(resp))
}

/// The lease a read reports: the secret's `ttl` (or legacy `lease`) field when it parses as a
/// duration, else the mount's default TTL, else Vault's default.
pub fn lease_secs(data: &Map<String, Value>, mount_default: u64) -> u64 {
    let fallback = if mount_default > 0 {
        mount_default
    } else {
        DEFAULT_LEASE_SECS
    };
    data.get("ttl")
        .or_else(|| data.get("lease"))
        .and_then(parse_ttl)
        .unwrap_or(fallback)
}

fn parse_ttl(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok().or_else(|| {
            humantime::parse_duration(s.trim())
                .ok()
                .map(|d| d.as_secs())
        }),
        _ => None,
    }
}

async fn write(mreq: &MountRequest<'_>) -> Result<Option<Response>, ApiError> {
    if mreq.path.is_empty() {
        return Err(ApiError::bad("missing path"));
    }
    if mreq.req.data.is_empty() {
        return Err(ApiError::bad("missing data fields"));
    }
    mreq.storage.put_json(mreq.path, &mreq.req.data).await?;
    Ok(None)
}

async fn list(mreq: &MountRequest<'_>) -> Result<Option<Response>, ApiError> {
    let mut folder = mreq.path.to_string();
    if !folder.is_empty() && !folder.ends_with('/') {
        folder.push('/');
    }
    let keys = mreq.storage.list(&folder).await?;
    if keys.is_empty() {
        return Err(ApiError::NotFound(String::new()));
    }
    Ok(Some(Response::data(json!({ "keys": keys }))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::MountRequest;
    use crate::mounts::MountEntry;
    use crate::request::Request;
    use crate::storage::StorageView;
    use crate::testkit::{mount_entry, unsealed_barrier};
    use coffer_barrier::MemPhysical;
    use std::sync::Arc;

    async fn storage() -> StorageView {
        let barrier = unsealed_barrier(Arc::new(MemPhysical::new())).await;
        StorageView::new(barrier, "logical/test/")
    }

    fn mount() -> MountEntry {
        mount_entry("kv/", "kv")
    }

    async fn call(
        s: &StorageView,
        op: Operation,
        path: &str,
        body: Value,
    ) -> Result<Option<Response>, ApiError> {
        let req = Request::new(op, format!("kv/{path}")).with_data(body);
        let m = mount();
        KvV1.handle(MountRequest {
            req: &req,
            path,
            storage: s,
            mount: &m,
        })
        .await
    }

    async fn exists(s: &StorageView, path: &str) -> Option<bool> {
        let req = Request::new(Operation::Create, format!("kv/{path}"));
        let m = mount();
        KvV1.exists(MountRequest {
            req: &req,
            path,
            storage: s,
            mount: &m,
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn write_read_list_delete() {
        let s = storage().await;
        assert_eq!(exists(&s, "app/db").await, Some(false));
        let w = call(
            &s,
            Operation::Create,
            "app/db",
            json!({"user": "u", "n": 1}),
        )
        .await
        .unwrap();
        assert!(w.is_none());
        assert_eq!(exists(&s, "app/db").await, Some(true));
        let r = call(&s, Operation::Read, "app/db", json!({}))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(Value::Object(r.data.unwrap()), json!({"user": "u", "n": 1}));
        assert_eq!(r.lease_duration, DEFAULT_LEASE_SECS);
        assert!(!r.renewable);
        call(&s, Operation::Update, "app/db", json!({"only": "this"}))
            .await
            .unwrap();
        let r = call(&s, Operation::Read, "app/db", json!({}))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(Value::Object(r.data.unwrap()), json!({"only": "this"}));

        call(&s, Operation::Create, "app/sub/x", json!({"a": 1}))
            .await
            .unwrap();
        call(&s, Operation::Create, "top", json!({"a": 1}))
            .await
            .unwrap();
        let l = call(&s, Operation::List, "app", json!({}))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(l.data.unwrap()["keys"], json!(["db", "sub/"]));
        let l = call(&s, Operation::List, "", json!({}))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(l.data.unwrap()["keys"], json!(["app/", "top"]));

        assert!(call(&s, Operation::Delete, "app/db", json!({}))
            .await
            .unwrap()
            .is_none());
        let gone = call(&s, Operation::Read, "app/db", json!({}))
            .await
            .unwrap_err();
        assert!(matches!(gone, ApiError::NotFound(ref m) if m.is_empty()));
        let empty = call(&s, Operation::List, "nothing/", json!({}))
            .await
            .unwrap_err();
        assert!(matches!(empty, ApiError::NotFound(_)));
    }

    #[tokio::test]
    async fn ttl_field_sets_lease_and_bad_input_is_refused() {
        let s = storage().await;
        call(&s, Operation::Create, "t", json!({"ttl": "1h", "v": "x"}))
            .await
            .unwrap();
        let r = call(&s, Operation::Read, "t", json!({}))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.lease_duration, 3600);
        assert!(matches!(
            call(&s, Operation::Create, "e", json!({})).await,
            Err(ApiError::BadRequest(ref m)) if m == "missing data fields"
        ));
        assert_eq!(exists(&s, "e").await, Some(false));
        assert!(matches!(
            call(&s, Operation::Patch, "t", json!({"v": "y"})).await,
            Err(ApiError::UnsupportedOperation)
        ));
    }

    #[test]
    fn lease_falls_back_to_mount_then_vault_default() {
        let m = |v: Value| v.as_object().cloned().unwrap();
        assert_eq!(lease_secs(&m(json!({})), 0), 2_764_800);
        assert_eq!(lease_secs(&m(json!({})), 60), 60);
        assert_eq!(lease_secs(&m(json!({"ttl": 30})), 60), 30);
        assert_eq!(lease_secs(&m(json!({"lease": "2m"})), 0), 120);
        assert_eq!(lease_secs(&m(json!({"ttl": "junk"})), 0), 2_764_800);
    }
}
