//! Fixtures shared by unit tests of engines and auth methods: an unsealed barrier over an
//! in-memory store (optionally yielding at every storage call, so concurrent requests on one
//! thread interleave at each step as they would over a replicated store), and mount entries.

use crate::mounts::{MountConfig, MountEntry};
use coffer_barrier::{Barrier, MemPhysical, Physical, PhysicalError, RootKey};
use std::sync::Arc;

/// A `MemPhysical` whose every call first yields to the scheduler.
pub struct YieldingPhysical(pub Arc<MemPhysical>);

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

/// A barrier over `physical`, initialised and unsealed with a fresh root key.
pub async fn unsealed_barrier(physical: Arc<dyn Physical>) -> Arc<Barrier> {
    let barrier = Arc::new(Barrier::new(physical));
    let key = RootKey::generate();
    barrier.initialize(&key, 0).await.unwrap();
    barrier.unseal(&key).await.unwrap();
    barrier
}

/// A mount entry of `kind` at `path` (uuid `test`, accessor `<kind>_test`, default options).
pub fn mount_entry(path: &str, kind: &str) -> MountEntry {
    MountEntry {
        path: path.into(),
        kind: kind.into(),
        description: String::new(),
        uuid: "test".into(),
        accessor: format!("{kind}_test"),
        config: MountConfig::default(),
        options: Default::default(),
        local: false,
        seal_wrap: false,
        external_entropy_access: false,
        running_since: 0,
    }
}
