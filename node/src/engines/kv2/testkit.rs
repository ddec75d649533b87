//! Test harness: a KV v2 mount over a real (in-memory, encrypted) barrier, called through
//! `SecretEngine::handle` as the router would.

use super::KvV2;
use crate::engines::{MountRequest, SecretEngine};
use crate::error::ApiError;
use crate::mounts::{MountConfig, MountEntry};
use crate::request::{Operation, Request, Response};
use crate::storage::StorageView;
use coffer_barrier::{Barrier, MemPhysical, Physical, PhysicalError, RootKey};
use serde_json::{json, Value};
use std::sync::Arc;

pub(super) struct Kv {
    pub storage: StorageView,
    pub physical: Arc<MemPhysical>,
    mount: MountEntry,
    engine: KvV2,
}

/// A `MemPhysical` whose every call first yields to the scheduler, so concurrent requests on
/// one thread interleave at each storage step (as they would over a replicated store).
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

impl Kv {
    pub async fn new() -> Kv {
        let physical = Arc::new(MemPhysical::new());
        let yielding = Arc::new(YieldingPhysical(physical.clone()));
        let barrier = Arc::new(Barrier::new(yielding));
        let key = RootKey::generate();
        barrier.initialize(&key, 0).await.unwrap();
        barrier.unseal(&key).await.unwrap();
        let mount = MountEntry {
            path: "secret/".into(),
            kind: "kv".into(),
            description: String::new(),
            uuid: "test".into(),
            accessor: "kv_test".into(),
            config: MountConfig::default(),
            options: [("version".to_string(), "2".to_string())].into(),
            local: false,
            seal_wrap: false,
            external_entropy_access: false,
            running_since: 0,
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
        assert!(resp.raw.is_none(), "unexpected raw response {:?}", resp.raw);
        Value::Object(resp.data.unwrap_or_default())
    }

    /// A call expected to answer 204.
    pub async fn no_content(&self, op: Operation, path: &str, body: Value) {
        assert!(self.call(op, path, body).await.unwrap().is_none());
    }

    /// A call expected to answer a raw 404 body; returns the envelope's `data`.
    pub async fn raw_404(&self, op: Operation, path: &str, body: Value) -> Value {
        let resp = self.call(op, path, body).await.unwrap().unwrap();
        let (status, body) = resp.raw.unwrap();
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
