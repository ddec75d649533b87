//! Test harness: one auth method over a real (in-memory, encrypted) barrier whose every storage
//! call yields first, so concurrent requests interleave at each step, called as the router would.

use super::{AuthMethod, AuthRequest, Outcome};
use crate::error::ApiError;
use crate::mounts::{MountConfig, MountEntry};
use crate::request::{Operation, Request};
use crate::storage::StorageView;
use coffer_barrier::{Barrier, MemPhysical, Physical, PhysicalError, RootKey};
use serde_json::Value;
use std::sync::Arc;

struct YieldingPhysical(Arc<MemPhysical>);

#[async_trait::async_trait]
impl Physical for YieldingPhysical {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, PhysicalError> {
        tokio::task::yield_now().await;
        self.0.get(key).await
    }
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), PhysicalError> {
        tokio::task::yield_now().await;
        self.0.put(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<(), PhysicalError> {
        tokio::task::yield_now().await;
        self.0.delete(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, PhysicalError> {
        tokio::task::yield_now().await;
        self.0.list(prefix).await
    }
}

/// A mounted method and its storage.
pub struct Mount {
    pub storage: StorageView,
    entry: MountEntry,
    method: &'static dyn AuthMethod,
}

impl Mount {
    pub async fn new(kind: &str) -> Mount {
        let physical = Arc::new(MemPhysical::new());
        let barrier = Arc::new(Barrier::new(Arc::new(YieldingPhysical(physical))));
        let key = RootKey::generate();
        barrier.initialize(&key, 0).await.unwrap();
        barrier.unseal(&key).await.unwrap();
        let entry = MountEntry {
            path: format!("{kind}/"),
            kind: kind.into(),
            description: String::new(),
            uuid: "test".into(),
            accessor: format!("auth_{kind}_test"),
            config: MountConfig::default(),
            options: Default::default(),
            local: false,
            seal_wrap: false,
            external_entropy_access: false,
            running_since: 0,
        };
        Mount {
            storage: StorageView::new(barrier, "auth/test/"),
            method: super::method_for(kind).expect("a known auth method type"),
            entry,
        }
    }

    /// Call `op` on `path` (inside the mount) with `body`.
    pub async fn call(&self, op: Operation, path: &str, body: Value) -> Result<Outcome, ApiError> {
        let req = Request::new(op, format!("auth/{}{path}", self.entry.path)).with_data(body);
        let areq = AuthRequest {
            req: &req,
            path,
            storage: &self.storage,
            mount: &self.entry,
        };
        self.method.handle(areq).await
    }

    /// `call`, expecting a response with `data`.
    pub async fn data(
        &self,
        op: Operation,
        path: &str,
        body: Value,
    ) -> serde_json::Map<String, Value> {
        match self.call(op, path, body).await {
            Ok(Outcome::Reply(Some(resp))) => resp.data.unwrap_or_default(),
            Ok(Outcome::Reply(None)) => panic!("{path}: 204, expected data"),
            Ok(Outcome::Login(_)) => panic!("{path}: a login, expected data"),
            Err(e) => panic!("{path}: {e}"),
        }
    }
}
