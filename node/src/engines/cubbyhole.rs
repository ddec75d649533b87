//! The cubbyhole engine: a private KV space per token, mounted at `cubbyhole/` on every node
//! (it cannot be disabled or moved), as Vault's `cubbyhole` backend.
//!
//! Storage layout: `<sha256(token)>/<path>` in the mount's `StorageView`, so the raw token never
//! appears in a storage key, and one token can neither read nor list another's entries. When a
//! token is revoked (or expires) the token store deletes everything under its prefix
//! (`TokenStore::with_cubbyhole`). Response wrapping keeps a wrapped answer here, in the
//! wrapping token's own cubbyhole (`response` and `wrapinfo`, as Vault names them).

use super::{MountRequest, SecretEngine};
use crate::error::ApiError;
use crate::request::{Operation, Response};
use crate::storage::StorageView;
use crate::token::cubbyhole::token_view;
use async_trait::async_trait;
use serde_json::{json, Map, Value};

/// The cubbyhole engine. Stateless: everything lives in the mount's storage.
pub struct Cubbyhole;

fn view(mreq: &MountRequest<'_>) -> Result<StorageView, ApiError> {
    let token = mreq
        .req
        .token
        .as_deref()
        .ok_or(ApiError::PermissionDenied)?;
    Ok(token_view(mreq.storage, token))
}

#[async_trait]
impl SecretEngine for Cubbyhole {
    async fn handle(&self, mreq: MountRequest<'_>) -> Result<Option<Response>, ApiError> {
        let view = view(&mreq)?;
        let path = mreq.path;
        match mreq.req.operation {
            Operation::Read => {
                let data: Map<String, Value> = view
                    .get_json(path)
                    .await?
                    .ok_or_else(|| ApiError::NotFound(String::new()))?;
                Ok(Some(Response::data(Value::Object(data))))
            }
            Operation::Create | Operation::Update => {
                if path.is_empty() || path.ends_with('/') {
                    return Err(ApiError::bad("missing path"));
                }
                if mreq.req.data.is_empty() {
                    return Err(ApiError::bad("missing data fields"));
                }
                view.put_json(path, &mreq.req.data).await?;
                Ok(None)
            }
            Operation::Delete => {
                view.delete(path).await?;
                Ok(None)
            }
            Operation::List => {
                let mut folder = path.to_string();
                if !folder.is_empty() && !folder.ends_with('/') {
                    folder.push('/');
                }
                let keys = view.list(&folder).await?;
                if keys.is_empty() {
                    return Err(ApiError::NotFound(String::new()));
                }
                Ok(Some(Response::data(json!({ "keys": keys }))))
            }
            Operation::Patch => Err(ApiError::UnsupportedOperation),
        }
    }

    async fn exists(&self, mreq: MountRequest<'_>) -> Result<Option<bool>, ApiError> {
        let view = view(&mreq)?;
        Ok(Some(view.get(mreq.path).await?.is_some()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mounts::MountEntry;
    use crate::request::Request;
    use crate::testkit::{mount_entry, unsealed_barrier};
    use crate::token::cubbyhole::destroy;
    use coffer_barrier::MemPhysical;
    use std::sync::Arc;

    async fn storage() -> StorageView {
        let barrier = unsealed_barrier(Arc::new(MemPhysical::new())).await;
        StorageView::new(barrier, "logical/cubby/")
    }

    fn mount() -> MountEntry {
        MountEntry {
            uuid: "cubby".into(),
            accessor: "cubbyhole_test".into(),
            local: true,
            ..mount_entry("cubbyhole/", "cubbyhole")
        }
    }

    async fn call(
        s: &StorageView,
        token: &str,
        op: Operation,
        path: &str,
        body: Value,
    ) -> Result<Option<Response>, ApiError> {
        let req = Request::new(op, format!("cubbyhole/{path}"))
            .with_data(body)
            .with_token(token);
        let m = mount();
        Cubbyhole
            .handle(MountRequest {
                req: &req,
                path,
                storage: s,
                mount: &m,
            })
            .await
    }

    #[tokio::test]
    async fn each_token_sees_only_its_own_entries() {
        let s = storage().await;
        call(&s, "hvs.a", Operation::Create, "x", json!({"v": 1}))
            .await
            .unwrap();
        let r = call(&s, "hvs.a", Operation::Read, "x", json!({}))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.data.unwrap()["v"], 1);
        let other = call(&s, "hvs.b", Operation::Read, "x", json!({}))
            .await
            .unwrap_err();
        assert_eq!(other.status(), 404);
        assert!(call(&s, "hvs.b", Operation::List, "", json!({}))
            .await
            .is_err());
        // No storage key carries the raw token.
        for key in s.list_recursive("").await.unwrap() {
            assert!(!key.contains("hvs.a"), "{key}");
        }
        destroy(&s, &crate::token::token_hash("hvs.a"))
            .await
            .unwrap();
        assert!(call(&s, "hvs.a", Operation::Read, "x", json!({}))
            .await
            .is_err());
    }

    #[tokio::test]
    async fn bad_writes_change_nothing() {
        let s = storage().await;
        let e = call(&s, "hvs.a", Operation::Create, "x", json!({}))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "missing data fields");
        let e = call(&s, "hvs.a", Operation::Create, "", json!({"a": 1}))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "missing path");
        assert!(s.list_recursive("").await.unwrap().is_empty());
    }
}
