use std::sync::Arc;
use std::time::Duration;

use super::{RaftConfig, RaftHandle, Role};
use crate::engine::{Engine, Space};
use crate::store::keys;
use crate::{Command, MemEngine, RaftError};

const WAIT: Duration = Duration::from_secs(10);

fn config(node_id: u64) -> RaftConfig {
    RaftConfig {
        node_id,
        api_addr: "https://127.0.0.1:8200".into(),
        cluster_addr: "https://127.0.0.1:8201".into(),
        heartbeat_ms: 50,
        election_timeout_min_ms: 150,
        election_timeout_max_ms: 300,
        ..RaftConfig::default()
    }
}

fn put(key: &str, value: &str) -> Command {
    Command::Put {
        key: key.into(),
        value: value.as_bytes().to_vec(),
    }
}

fn key(i: usize) -> String {
    format!("secret/k{i:03}")
}

async fn start_leader(config: RaftConfig, engine: Arc<dyn Engine>) -> RaftHandle {
    let raft = RaftHandle::start(config, engine).await.unwrap();
    raft.bootstrap_single().await.unwrap();
    raft.wait_leader(WAIT).await.unwrap();
    raft
}

/// 100 puts, a batch into a sub-folder, then every tenth key deleted.
async fn write_workload(raft: &RaftHandle) {
    for i in 0..100 {
        raft.write(put(&key(i), &format!("v{i}"))).await.unwrap();
    }
    let batch = Command::Batch(vec![put("secret/dir/a", "x"), put("secret/dir/b/c", "y")]);
    raft.write(batch).await.unwrap();
    for i in (0..100).step_by(10) {
        raft.write(Command::Delete { key: key(i) }).await.unwrap();
    }
}

async fn check_workload(raft: &RaftHandle) {
    for i in 0..100 {
        let expected = (i % 10 != 0).then(|| format!("v{i}").into_bytes());
        assert_eq!(raft.get(&key(i)).await.unwrap(), expected, "{}", key(i));
    }
    let listed = raft.list("secret/").await.unwrap();
    assert_eq!(listed.len(), 91, "90 leaves and one folder");
    assert_eq!(listed.first().map(String::as_str), Some("dir/"));
    assert_eq!(listed.get(1).map(String::as_str), Some("k001"));
    assert_eq!(raft.list("secret/dir/").await.unwrap(), vec!["a", "b/"]);
}

/// Write, read back, shut down, start again on `open()`'s engine: state, log and leadership
/// come back and new writes work.
async fn restart_keeps_state(node_id: u64, open: impl Fn() -> Arc<dyn Engine>) {
    let raft = start_leader(config(node_id), open()).await;
    assert!(raft.is_leader());
    write_workload(&raft).await;
    check_workload(&raft).await;
    let before = raft.metrics();
    raft.shutdown().await.unwrap();
    drop(raft);

    let raft = RaftHandle::start(config(node_id), open()).await.unwrap();
    assert_eq!(
        raft.get(&key(1)).await.unwrap(),
        Some(b"v1".to_vec()),
        "applied state is on disk"
    );
    raft.bootstrap_single().await.unwrap();
    raft.wait_leader(WAIT).await.unwrap();
    check_workload(&raft).await;
    let after = raft.metrics();
    assert_eq!(after.role, Role::Leader);
    assert_eq!(after.voters, vec![node_id]);
    assert!(
        after.last_log_index >= before.last_log_index,
        "{after:?} vs {before:?}"
    );
    assert!(after.current_term >= before.current_term);

    raft.write(put("secret/after", "restart")).await.unwrap();
    raft.ensure_linearizable().await.unwrap();
    assert_eq!(
        raft.get("secret/after").await.unwrap(),
        Some(b"restart".to_vec())
    );
    raft.shutdown().await.unwrap();
}

#[cfg(not(madsim))]
#[tokio::test]
async fn single_node_over_rocksdb_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    restart_keeps_state(1, move || {
        Arc::new(crate::RocksEngine::open(&path).unwrap())
    })
    .await;
}

#[tokio::test]
async fn single_node_over_mem_engine_survives_restart() {
    const NODE: u64 = 0x7E57_0001;
    MemEngine::remove(NODE);
    restart_keeps_state(NODE, || MemEngine::open(NODE)).await;
    MemEngine::remove(NODE);
}

#[tokio::test]
async fn crash_keeps_every_acknowledged_write() {
    const NODE: u64 = 0x7E57_0002;
    MemEngine::remove(NODE);
    let raft = start_leader(config(NODE), MemEngine::open(NODE)).await;
    write_workload(&raft).await;
    raft.shutdown().await.unwrap();
    drop(raft);
    assert!(
        MemEngine::open(NODE).unsynced_batches() > 0,
        "the last apply was not synced"
    );
    assert!(MemEngine::crash(NODE));

    // The applied state lost its tail; the synced log still has every entry.
    let raft = start_leader(config(NODE), MemEngine::open(NODE)).await;
    check_workload(&raft).await;
    raft.shutdown().await.unwrap();
    MemEngine::remove(NODE);
}

#[tokio::test]
async fn snapshot_and_purge_then_restart() {
    const NODE: u64 = 0x7E57_0003;
    MemEngine::remove(NODE);
    let small = RaftConfig {
        snapshot_threshold: 20,
        trailing_logs: 5,
        ..config(NODE)
    };
    let engine = MemEngine::open(NODE);
    let raft = start_leader(small.clone(), engine.clone()).await;
    write_workload(&raft).await;
    let mut waited = Duration::ZERO;
    // Snapshot building and purging run in the background.
    while engine
        .get(Space::Log, &1u64.to_be_bytes())
        .unwrap()
        .is_some()
    {
        assert!(waited < WAIT, "log was never purged");
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += Duration::from_millis(10);
    }
    assert!(engine
        .get(Space::Meta, keys::SNAPSHOT_META)
        .unwrap()
        .is_some());
    assert!(engine
        .get(Space::Meta, keys::LAST_PURGED)
        .unwrap()
        .is_some());
    raft.shutdown().await.unwrap();
    drop(raft);

    let raft = start_leader(small, MemEngine::open(NODE)).await;
    check_workload(&raft).await;
    raft.write(put("secret/more", "1")).await.unwrap();
    raft.shutdown().await.unwrap();
    MemEngine::remove(NODE);
}

#[tokio::test]
async fn writes_before_bootstrap_fail_as_not_initialized() {
    let raft = RaftHandle::start(config(9), Arc::new(MemEngine::new()))
        .await
        .unwrap();
    assert_eq!(
        raft.write(put("a", "b")).await,
        Err(RaftError::NotInitialized)
    );
    assert_eq!(
        raft.ensure_linearizable().await,
        Err(RaftError::NotInitialized)
    );
    assert!(!raft.is_leader());
    let short = Duration::from_millis(200);
    assert_eq!(raft.wait_leader(short).await, Err(RaftError::Timeout));
    raft.bootstrap_single().await.unwrap();
    raft.bootstrap_single().await.unwrap();
    raft.wait_leader(WAIT).await.unwrap();
    raft.write(put("a", "b")).await.unwrap();
    assert_eq!(raft.get("a").await.unwrap(), Some(b"b".to_vec()));
    raft.shutdown().await.unwrap();
    raft.shutdown().await.unwrap();
}

/// Two simulations with one seed must be the same run: same random draws (getrandom is answered
/// by the simulator), same elections, same virtual time at the end.
#[cfg(madsim)]
#[test]
fn same_seed_gives_the_same_run() {
    use rand::Rng as _;

    type Trace = (Vec<u64>, u64, Option<u64>, Duration);
    static RUNS: parking_lot::Mutex<Vec<Trace>> = parking_lot::Mutex::new(Vec::new());
    const NODE: u64 = 0x7E57_0004;

    madsim::runtime::Runtime::check_determinism(42, madsim::Config::default(), || async {
        MemEngine::remove(NODE);
        let started = tokio::time::Instant::now();
        let draws = (0..4)
            .map(|_| crate::runtime::CofferRng.next_u64())
            .collect();
        let raft = start_leader(config(NODE), MemEngine::open(NODE)).await;
        write_workload(&raft).await;
        let status = raft.metrics();
        raft.shutdown().await.unwrap();
        MemEngine::remove(NODE);
        let trace = (
            draws,
            status.current_term,
            status.last_log_index,
            started.elapsed(),
        );
        RUNS.lock().push(trace);
    });

    let runs = RUNS.lock();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0], runs[1]);
    assert_ne!(runs[0].0[0], runs[0].0[1], "draws are random, not constant");
}

#[tokio::test]
async fn restore_travels_in_entries_under_the_limit_and_swaps_in_whole() {
    let engine = Arc::new(MemEngine::new());
    let raft = start_leader(config(1), engine.clone()).await;
    raft.write(put("old/a", "gone")).await.unwrap();
    let before = raft.metrics().last_log_index.unwrap_or(0);
    // 40 pairs of 100 bytes, at most 1000 bytes per entry: 4 chunks and a commit; the
    // duplicate path counts once, with its later value.
    let mut pairs: Vec<(String, Vec<u8>)> = (0..40)
        .map(|i| (format!("new/{i:02}"), vec![b'v'; 94]))
        .collect();
    pairs.push(("new/00".into(), b"later".to_vec()));
    raft.restore(pairs, 1000).await.unwrap();
    let entries = raft.metrics().last_log_index.unwrap_or(0) - before;
    assert_eq!(entries, 4 + 1, "chunks and one commit");

    assert_eq!(raft.get("old/a").await.unwrap(), None);
    assert_eq!(raft.get("new/00").await.unwrap(), Some(b"later".to_vec()));
    assert_eq!(raft.list("").await.unwrap(), vec!["new/".to_string()]);
    assert_eq!(raft.export_data().await.unwrap().len(), 40);
    let everything = engine.scan(Space::Data, b"", None).unwrap();
    assert_eq!(everything.len(), 40, "no staging left behind");

    // A restore whose staging another commit emptied changes nothing and says so.
    raft.write(Command::StageRestore {
        id: 7,
        pairs: vec![("other".into(), b"x".to_vec())],
    })
    .await
    .unwrap();
    raft.write(Command::AbortRestore { id: 7 }).await.unwrap();
    let refused = raft.write(Command::CommitRestore { id: 7, pairs: 1 }).await;
    assert!(
        matches!(refused, Err(RaftError::RestoreIncomplete)),
        "{refused:?}"
    );
    assert_eq!(raft.export_data().await.unwrap().len(), 40);
    raft.shutdown().await.unwrap();
}
