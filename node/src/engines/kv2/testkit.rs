//! Test harness: a KV v2 mount over a real (in-memory, encrypted) barrier, called through
//! `SecretEngine::handle` as the router would.

use super::KvV2;
use crate::engines::{MountRequest, SecretEngine};
use crate::error::ApiError;
use crate::mounts::MountEntry;
use crate::request::{Operation, Request, Response};
use crate::storage::StorageView;
use crate::testkit::{mount_entry, unsealed_barrier, YieldingPhysical};
use coffer_barrier::MemPhysical;
use serde_json::{json, Value};
use std::sync::Arc;

pub(super) struct Kv {
    pub storage: StorageView,
    pub physical: Arc<MemPhysical>,
    mount: MountEntry,
    engine: KvV2,
}

impl Kv {
    pub async fn new() -> Kv {
        let physical = Arc::new(MemPhysical::new());
        let barrier = unsealed_barrier(Arc::new(YieldingPhysical(physical.clone()))).await;
        let mount = MountEntry {
            options: [("version".to_string(), "2".to_string())].into(),
            ..mount_entry("secret/", "kv")
        };
        Kv {
            storage: StorageView::new(barrier, "logical/test/"),
            physical,
            mount,
            engine: KvV2::default(),
        }
    }

    pub async fn call(
        &self,
        op: Operation,
        path: &str,
        body: Value,
    ) -> Result<Option<Response>, ApiError> {
        let req = Request::new(op, format!("secret/{path}")).with_data(body);
        let mreq = MountRequest {
            req: &req,
            path,
            storage: &self.storage,
            mount: &self.mount,
        };
        self.engine.handle(mreq).await
    }

    /// A call expected to answer 200 with data; returns `data`.
    pub async fn ok(&self, op: Operation, path: &str, body: Value) -> Value {
        let resp = self
            .call(op, path, body)
            .await
            .unwrap()
            .expect("a response body");
        assert!(
            resp.raw_body().is_none(),
            "unexpected raw response {:?}",
            resp.body
        );
        Value::Object(resp.data.unwrap_or_default())
    }

    /// A call expected to answer 204.
    pub async fn no_content(&self, op: Operation, path: &str, body: Value) {
        assert!(self.call(op, path, body).await.unwrap().is_none());
    }

    /// A call expected to answer a raw 404 body; returns the envelope's `data`.
    pub async fn raw_404(&self, op: Operation, path: &str, body: Value) -> Value {
        let resp = self.call(op, path, body).await.unwrap().unwrap();
        let (status, body) = resp.raw_body().map(|(s, b)| (s, b.clone())).unwrap();
        assert_eq!(status, 404);
        assert_eq!(body["lease_id"], "");
        assert!(body["request_id"].as_str().is_some_and(|s| !s.is_empty()));
        body["data"].clone()
    }

    pub async fn bad(&self, op: Operation, path: &str, body: Value) -> String {
        match self.call(op, path, body).await {
            Err(ApiError::BadRequest(m)) => m,
            other => panic!("expected 400, got {other:?}"),
        }
    }

    pub async fn exists(&self, path: &str) -> Option<bool> {
        let req = Request::new(Operation::Create, format!("secret/{path}"));
        let mreq = MountRequest {
            req: &req,
            path,
            storage: &self.storage,
            mount: &self.mount,
        };
        self.engine.exists(mreq).await.unwrap()
    }

    pub async fn put(&self, path: &str, data: Value) -> Value {
        self.ok(
            Operation::Update,
            &format!("data/{path}"),
            json!({ "data": data }),
        )
        .await
    }

    pub async fn stored(&self, key: &str) -> bool {
        self.storage.get(key).await.unwrap().is_some()
    }
}

pub(super) fn is_404(r: Result<Option<Response>, ApiError>) -> bool {
    matches!(r, Err(ApiError::NotFound(m)) if m.is_empty())
}
