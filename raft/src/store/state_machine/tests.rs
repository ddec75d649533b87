use std::collections::BTreeMap;
use std::sync::Arc;

use openraft::impls::leader_id_adv::LeaderId;
use openraft::storage::RaftStateMachine;
use openraft::{EntryPayload, Membership, RaftSnapshotBuilder};

use super::StateMachine;
use crate::engine::{Engine, Space};
use crate::store::{keys, Storage};
use crate::types::{ClusterNode, Command, Entry, LogId};
use crate::MemEngine;

fn log_id(index: u64) -> LogId {
    LogId::new(
        LeaderId {
            term: 1,
            node_id: 1,
        },
        index,
    )
}

fn entry(index: u64, payload: EntryPayload<Command, u64, ClusterNode>) -> Entry {
    Entry {
        log_id: log_id(index),
        payload,
    }
}

fn put(key: &str, value: &[u8]) -> EntryPayload<Command, u64, ClusterNode> {
    EntryPayload::Normal(Command::Put {
        key: key.into(),
        value: value.to_vec(),
    })
}

/// A machine as openraft runs it once started.
fn machine(engine: &Arc<MemEngine>) -> StateMachine {
    let sm = starting_machine(engine);
    sm.started_flag()
        .store(true, std::sync::atomic::Ordering::Release);
    sm
}

/// A machine while `Raft::new` reads the initial state.
fn starting_machine(engine: &Arc<MemEngine>) -> StateMachine {
    let engine: Arc<dyn Engine> = engine.clone();
    StateMachine::new(Storage::new(engine, Arc::new(())), Arc::default())
}

async fn apply(sm: &mut StateMachine, entries: Vec<Entry>) {
    let items = entries.into_iter().map(|e| Ok((e, None)));
    sm.apply(futures::stream::iter(items)).await.unwrap();
}

fn membership() -> Membership<u64, ClusterNode> {
    let nodes = BTreeMap::from([(1, ClusterNode::default())]);
    Membership::new(vec![[1].into()], nodes).unwrap()
}

#[tokio::test]
async fn each_applied_batch_is_reported_with_its_entry_count() {
    let engine: Arc<dyn Engine> = Arc::new(MemEngine::new());
    let stats = Arc::new(crate::RaftStats::default());
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    stats.observe_apply(Box::new(move |_, n| record.lock().unwrap().push(n)));
    let mut sm = StateMachine::new(Storage::new(engine, Arc::new(())), stats);
    apply(
        &mut sm,
        vec![entry(1, put("a", b"1")), entry(2, put("b", b"2"))],
    )
    .await;
    apply(&mut sm, Vec::new()).await;
    apply(&mut sm, vec![entry(3, EntryPayload::Blank)]).await;
    assert_eq!(
        *seen.lock().unwrap(),
        [2, 1],
        "an empty stream is not a batch"
    );
}

#[tokio::test]
async fn a_fenced_command_applies_only_in_its_own_term() {
    let engine = Arc::new(MemEngine::new());
    let mut sm = machine(&engine);
    let fenced = |term, key: &str| {
        EntryPayload::Normal(Command::Fenced {
            term,
            cmd: Box::new(Command::Put {
                key: key.into(),
                value: b"v".to_vec(),
            }),
        })
    };
    // `log_id` proposes every entry in term 1.
    apply(
        &mut sm,
        vec![entry(1, fenced(1, "same")), entry(2, fenced(0, "stale"))],
    )
    .await;
    assert_eq!(
        engine.get(Space::Data, b"same").unwrap(),
        Some(b"v".to_vec())
    );
    assert_eq!(engine.get(Space::Data, b"stale").unwrap(), None);
    assert_eq!(
        sm.applied_state().await.unwrap().0,
        Some(log_id(2)),
        "still applied"
    );
}

#[tokio::test]
async fn apply_records_data_and_applied_state_together() {
    let engine = Arc::new(MemEngine::new());
    let mut sm = machine(&engine);
    assert_eq!(sm.applied_state().await.unwrap().0, None);

    let batch = Command::Batch(vec![
        Command::Put {
            key: "b".into(),
            value: b"2".to_vec(),
        },
        Command::Delete { key: "a".into() },
    ]);
    apply(
        &mut sm,
        vec![
            entry(1, EntryPayload::Membership(membership())),
            entry(2, put("a", b"1")),
            entry(3, EntryPayload::Blank),
            entry(4, EntryPayload::Normal(batch)),
        ],
    )
    .await;

    assert_eq!(engine.get(Space::Data, b"a").unwrap(), None);
    assert_eq!(engine.get(Space::Data, b"b").unwrap(), Some(b"2".to_vec()));
    let (applied, stored) = sm.applied_state().await.unwrap();
    assert_eq!(applied, Some(log_id(4)));
    assert_eq!(stored.log_id(), &Some(log_id(1)));
    assert_eq!(
        engine.unsynced_batches(),
        1,
        "one atomic batch per apply call"
    );
}

#[tokio::test]
async fn snapshot_built_on_one_machine_installs_on_another() {
    let source = Arc::new(MemEngine::new());
    let mut sm = machine(&source);
    apply(
        &mut sm,
        vec![
            entry(1, EntryPayload::Membership(membership())),
            entry(2, put("x/y", b"cipher")),
        ],
    )
    .await;
    let mut builder = sm.get_snapshot_builder().await;
    // Applied after the builder was created: after the snapshot's log id, but (the snapshot is
    // fuzzy) in the bytes sent, and replayed by the follower without harm.
    let late = vec![
        entry(3, put("late", b"z")),
        entry(4, put("x/y", b"newer")),
        entry(
            5,
            EntryPayload::Normal(Command::Delete { key: "late".into() }),
        ),
    ];
    apply(&mut sm, late.clone()).await;
    let built = builder.build_snapshot().await.unwrap();
    assert_eq!(built.meta.last_log_id, Some(log_id(2)));
    assert!(built.snapshot.is_empty(), "a build stores only metadata");
    assert_eq!(
        source.get(Space::Meta, keys::SNAPSHOT_DATA).unwrap(),
        None,
        "no copy of the data is stored"
    );
    let snapshot = sm.get_current_snapshot().await.unwrap().unwrap();
    assert_eq!(snapshot.meta, built.meta);

    let target = Arc::new(MemEngine::new());
    let mut other = machine(&target);
    apply(&mut other, vec![entry(1, put("stale", b"gone"))]).await;
    other
        .install_snapshot(&snapshot.meta, snapshot.snapshot.clone())
        .await
        .unwrap();
    assert_eq!(
        target.get(Space::Data, b"stale").unwrap(),
        None,
        "install replaces the data"
    );
    assert_eq!(other.applied_state().await.unwrap().0, Some(log_id(2)));
    assert_eq!(
        target.unsynced_batches(),
        0,
        "an installed snapshot is durable"
    );
    // The follower replays what follows the snapshot's log id: the same state as the source.
    apply(&mut other, late).await;
    assert_eq!(
        target.scan(Space::Data, b"", None).unwrap(),
        source.scan(Space::Data, b"", None).unwrap()
    );
    assert_eq!(
        target.get(Space::Data, b"x/y").unwrap(),
        Some(b"newer".to_vec())
    );
    let current = other.get_current_snapshot().await.unwrap().unwrap();
    assert_eq!(current.meta, snapshot.meta);
}

#[tokio::test]
async fn restore_replaces_the_data_space_in_one_batch() {
    let engine = Arc::new(MemEngine::new());
    let mut sm = machine(&engine);
    apply(
        &mut sm,
        vec![
            entry(1, EntryPayload::Membership(membership())),
            entry(2, put("old/a", b"1")),
            entry(3, put("keep", b"before")),
        ],
    )
    .await;
    let batches = engine.unsynced_batches();
    let restore = Command::Restore {
        pairs: vec![
            ("keep".into(), b"after".to_vec()),
            ("new/b".into(), b"2".to_vec()),
        ],
    };
    apply(&mut sm, vec![entry(4, EntryPayload::Normal(restore))]).await;

    assert_eq!(engine.get(Space::Data, b"old/a").unwrap(), None);
    assert_eq!(
        engine.get(Space::Data, b"keep").unwrap(),
        Some(b"after".to_vec())
    );
    assert_eq!(
        engine.get(Space::Data, b"new/b").unwrap(),
        Some(b"2".to_vec())
    );
    let (applied, stored) = sm.applied_state().await.unwrap();
    assert_eq!(applied, Some(log_id(4)));
    assert_eq!(stored.log_id(), &Some(log_id(1)), "membership untouched");
    assert_eq!(
        engine.unsynced_batches(),
        batches + 1,
        "restore and applied index in one batch"
    );
}

fn cmd(command: Command) -> EntryPayload<Command, u64, ClusterNode> {
    EntryPayload::Normal(command)
}

fn stage(id: u64, paths: &[&str]) -> EntryPayload<Command, u64, ClusterNode> {
    cmd(Command::StageRestore {
        id,
        pairs: paths
            .iter()
            .map(|p| (p.to_string(), format!("restored {p}").into_bytes()))
            .collect(),
    })
}

/// Writes interleaved with two restores: restore 1 (three pairs in two chunks) commits; restore
/// 2 expects more pairs than it staged and changes nothing.
fn restore_history() -> Vec<Entry> {
    let payloads = vec![
        EntryPayload::Membership(membership()),
        put("a", b"before"),
        stage(1, &["x", "y"]),
        put("b", b"during"),
        stage(1, &["z"]),
        cmd(Command::Delete { key: "a".into() }),
        cmd(Command::CommitRestore { id: 1, pairs: 3 }),
        put("c", b"after"),
        put("x", b"overwritten"),
        stage(2, &["q"]),
        cmd(Command::CommitRestore { id: 2, pairs: 5 }),
        put("d", b"last"),
    ];
    payloads
        .into_iter()
        .enumerate()
        .map(|(i, p)| entry(i as u64 + 1, p))
        .collect()
}

#[tokio::test]
async fn a_staged_restore_swaps_in_whole_at_its_commit() {
    let engine = Arc::new(MemEngine::new());
    let mut sm = machine(&engine);
    let history = restore_history();
    apply(&mut sm, history[..6].to_vec()).await;
    let handle_view = engine.scan(Space::Data, b"", Some(&[0xFF])).unwrap();
    assert_eq!(
        handle_view,
        vec![(b"b".to_vec(), b"during".to_vec())],
        "staged pairs are not data yet"
    );
    apply(&mut sm, history[6..].to_vec()).await;
    let data = engine.scan(Space::Data, b"", None).unwrap();
    let expected: Vec<(Vec<u8>, Vec<u8>)> = [
        ("c", "after"),
        ("d", "last"),
        ("x", "overwritten"),
        ("y", "restored y"),
        ("z", "restored z"),
    ]
    .iter()
    .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
    .collect();
    assert_eq!(
        data, expected,
        "no staging left, no write from before the commit"
    );
    let current = sm.get_current_snapshot().await.unwrap().unwrap();
    assert_eq!(
        current.meta.last_log_id,
        Some(log_id(11)),
        "the last commit is the current snapshot's point"
    );
    assert_eq!(current.meta.last_membership.log_id(), &Some(log_id(1)));
}

/// The fuzzy-snapshot contract with restores in the log: a snapshot whose metadata is captured
/// after any prefix of the history, and whose bytes are read after all of it, installed on a
/// fresh node and followed by the entries after its metadata, gives the same data.
#[tokio::test]
async fn any_fuzzy_snapshot_plus_replay_matches_the_original() {
    let history = restore_history();
    for captured_at in 1..=history.len() {
        let engine = Arc::new(MemEngine::new());
        let mut sm = machine(&engine);
        apply(&mut sm, history[..captured_at].to_vec()).await;
        let mut builder = sm.get_snapshot_builder().await;
        apply(&mut sm, history[captured_at..].to_vec()).await;
        builder.build_snapshot().await.unwrap();
        let snapshot = sm.get_current_snapshot().await.unwrap().unwrap();

        let follower_engine = Arc::new(MemEngine::new());
        let mut follower = machine(&follower_engine);
        follower
            .install_snapshot(&snapshot.meta, snapshot.snapshot)
            .await
            .unwrap();
        let from = snapshot.meta.last_log_id.map_or(0, |id| id.index as usize);
        apply(&mut follower, history[from..].to_vec()).await;
        assert_eq!(
            follower_engine.scan(Space::Data, b"", None).unwrap(),
            engine.scan(Space::Data, b"", None).unwrap(),
            "snapshot metadata captured after entry {captured_at}, replay from {from}"
        );
    }
}

/// A machine over `engine` that applied a membership and `k = v`, and the snapshot it built.
async fn snapshot_of_one_pair(engine: &Arc<MemEngine>) -> crate::types::Snapshot {
    let mut sm = machine(engine);
    apply(
        &mut sm,
        vec![
            entry(1, EntryPayload::Membership(membership())),
            entry(2, put("k", b"v")),
        ],
    )
    .await;
    let mut builder = sm.get_snapshot_builder().await;
    builder.build_snapshot().await.unwrap()
}

#[tokio::test]
async fn a_starting_node_reads_its_snapshot_metadata_without_scanning_the_data() {
    let engine = Arc::new(MemEngine::new());
    let built = snapshot_of_one_pair(&engine).await;

    // Restarted: while openraft reads the initial state, the metadata comes without the bytes.
    let mut restarted = starting_machine(&engine);
    let at_start = restarted.get_current_snapshot().await.unwrap().unwrap();
    assert_eq!(at_start.meta, built.meta);
    assert!(at_start.snapshot.is_empty(), "no scan while starting");
    assert!(
        crate::store::snapshot::decode(&at_start.snapshot).is_err(),
        "metadata-only bytes can never be installed"
    );
    // Once started, the bytes are the data, ready to send.
    restarted
        .started_flag()
        .store(true, std::sync::atomic::Ordering::Release);
    let sent = restarted.get_current_snapshot().await.unwrap().unwrap();
    let pairs = crate::store::snapshot::decode(&sent.snapshot).unwrap();
    assert_eq!(pairs, vec![(b"k".to_vec(), b"v".to_vec())]);
}

#[tokio::test]
async fn a_snapshot_newer_than_the_applied_state_is_read_whole_even_while_starting() {
    // openraft installs such a snapshot at start, so its bytes must be real.
    let built = snapshot_of_one_pair(&Arc::new(MemEngine::new())).await;
    // Only the snapshot record, no applied state: as if the applies were lost.
    let target = Arc::new(MemEngine::new());
    let mut batch = crate::engine::WriteBatch::new();
    batch.put(
        Space::Meta,
        keys::SNAPSHOT_META,
        crate::store::to_json(&built.meta).unwrap(),
    );
    batch.put(Space::Data, b"k".to_vec(), b"v".to_vec());
    target.write(batch, true).unwrap();
    let mut restarted = starting_machine(&target);
    let at_start = restarted.get_current_snapshot().await.unwrap().unwrap();
    assert!(crate::store::snapshot::decode(&at_start.snapshot).is_ok());
}
