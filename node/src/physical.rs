//! Adapters from `coffer_barrier::Physical` to where the bytes really go: the replicated Raft
//! store (`storage "raft"`), or an in-memory map (`storage "inmem"`). Only ciphertext and the few
//! plain pre-unseal records (`core/seal-config`, `core/root-key`) pass through here.

use crate::metrics::Metrics;
use async_trait::async_trait;
use coffer_barrier::{Physical, PhysicalError};
use coffer_raft::{Command, RaftError, RaftHandle};
use std::sync::Arc;

/// `Physical` over the Raft log: writes are proposed and wait until applied; reads come from the
/// local state machine.
pub struct RaftPhysical {
    raft: RaftHandle,
    metrics: Arc<Metrics>,
}

impl RaftPhysical {
    /// Wrap a started Raft handle; write latencies go to `metrics`.
    pub fn new(raft: RaftHandle, metrics: Arc<Metrics>) -> Self {
        RaftPhysical { raft, metrics }
    }

    async fn write(&self, cmd: Command) -> Result<(), PhysicalError> {
        let cmd = match WRITE_TERM.try_with(|term| *term) {
            Ok(term) => Command::Fenced {
                term,
                cmd: Box::new(cmd),
            },
            Err(_) => cmd,
        };
        let started = tokio::time::Instant::now();
        let result = self.raft.write(cmd).await.map_err(to_physical);
        self.metrics.observe_commit(started.elapsed());
        result
    }
}

tokio::task_local! {
    /// The Raft term of the active state the current request is served from.
    static WRITE_TERM: u64;
}

/// Run `fut` (one request, from authentication to answer) with its writes fenced to `term`:
/// each is applied only if Raft commits it as an entry of that term. A request that read state
/// under one leadership can then never write under a later one — say, a KV v2 write that read
/// version 10 before a step-down and re-election, racing a write that read it after.
pub async fn fenced<F: std::future::Future>(term: u64, fut: F) -> F::Output {
    WRITE_TERM.scope(term, fut).await
}

fn to_physical(e: RaftError) -> PhysicalError {
    PhysicalError::Unavailable(e.to_string())
}

#[async_trait]
impl Physical for RaftPhysical {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, PhysicalError> {
        self.raft.get(key).await.map_err(to_physical)
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), PhysicalError> {
        let cmd = Command::Put {
            key: key.to_string(),
            value,
        };
        self.write(cmd).await
    }

    /// One Raft entry for all the pairs: one commit round (and one fsync on each node) where
    /// separate puts would pay one each, and the pairs land together or not at all.
    async fn put_many(&self, pairs: Vec<(String, Vec<u8>)>) -> Result<(), PhysicalError> {
        let puts = pairs
            .into_iter()
            .map(|(key, value)| Command::Put { key, value })
            .collect();
        self.write(Command::Batch(puts)).await
    }

    async fn delete(&self, key: &str) -> Result<(), PhysicalError> {
        let cmd = Command::Delete {
            key: key.to_string(),
        };
        self.write(cmd).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, PhysicalError> {
        self.raft.list(prefix).await.map_err(to_physical)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_raft::{MemEngine, RaftConfig};
    use std::time::Duration;

    async fn single_node() -> (RaftPhysical, RaftHandle) {
        let config = RaftConfig {
            heartbeat_ms: 50,
            election_timeout_min_ms: 150,
            election_timeout_max_ms: 300,
            ..RaftConfig::default()
        };
        let raft = RaftHandle::start(config, Arc::new(MemEngine::new()))
            .await
            .unwrap();
        raft.bootstrap_single().await.unwrap();
        raft.wait_leader(Duration::from_secs(10)).await.unwrap();
        let physical = RaftPhysical::new(raft.clone(), Arc::new(Metrics::default()));
        (physical, raft)
    }

    #[tokio::test]
    async fn raft_physical_passes_the_physical_suite() {
        let (physical, raft) = single_node().await;
        coffer_barrier::run_physical_suite(&physical).await;
        raft.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn put_many_is_one_raft_entry() {
        let (physical, raft) = single_node().await;
        let before = raft.metrics().last_log_index.unwrap();
        let pairs = vec![
            ("a".to_string(), b"1".to_vec()),
            ("b/c".to_string(), b"2".to_vec()),
        ];
        physical.put_many(pairs).await.unwrap();
        assert_eq!(raft.metrics().last_log_index, Some(before + 1));
        assert_eq!(physical.get("a").await.unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(
            physical.get("b/c").await.unwrap().as_deref(),
            Some(&b"2"[..])
        );
        raft.shutdown().await.unwrap();
    }
}
