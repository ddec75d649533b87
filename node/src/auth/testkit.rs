//! Test harness: one auth method over a real (in-memory, encrypted) barrier whose every storage
//! call yields first, so concurrent requests interleave at each step, called as the router would.

use super::{AuthMethod, MountRequest, Outcome};
use crate::error::ApiError;
use crate::mounts::MountEntry;
use crate::request::{Operation, Request};
use crate::storage::StorageView;
use crate::testkit::{mount_entry, unsealed_barrier, YieldingPhysical};
use coffer_barrier::MemPhysical;
use serde_json::Value;
use std::sync::Arc;

/// A mounted method and its storage.
pub struct Mount {
    pub storage: StorageView,
    entry: MountEntry,
    method: &'static dyn AuthMethod,
}

impl Mount {
    pub async fn new(kind: &str) -> Mount {
        let physical = Arc::new(YieldingPhysical(Arc::new(MemPhysical::new())));
        let barrier = unsealed_barrier(physical).await;
        let entry = MountEntry {
            accessor: format!("auth_{kind}_test"),
            ..mount_entry(&format!("{kind}/"), kind)
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
        let areq = MountRequest {
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
