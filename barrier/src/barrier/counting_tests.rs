//! The encryption count: persisted by reservation, never under the truth after a crash, a
//! reload or a failed write; and `rotate_if_newest` makes one new term however many ask.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::*;
use crate::counter::RESERVATION_BLOCK;
use crate::memory::MemPhysical;
use crate::physical::PhysicalError;

/// A fresh keyring in `mem`, opened by a barrier reserving `block` at a time.
async fn open(mem: &Arc<MemPhysical>, root: &RootKey, block: u64) -> Barrier {
    let barrier = Barrier::new(mem.clone()).with_reservation_block(block);
    if !barrier.initialized().await.unwrap() {
        barrier.initialize(root, 1_000).await.unwrap();
    }
    barrier.unseal(root).await.unwrap();
    barrier
}

fn count(b: &Barrier) -> u64 {
    b.key_status().unwrap().encryptions
}

#[tokio::test]
async fn counts_survive_a_restart_rounded_up_to_the_reservation() {
    let mem = Arc::new(MemPhysical::new());
    let root = RootKey::generate();
    let b = Barrier::new(mem.clone());
    b.initialize(&root, 1).await.unwrap();
    b.unseal(&root).await.unwrap();
    for i in 0..3 {
        b.put(&format!("k{i}"), b"v").await.unwrap();
    }
    assert_eq!(count(&b), 3);
    // A restart (a new process over the same store) cannot know how much of the block was
    // used, so it counts all of it.
    let again = Barrier::new(mem.clone());
    again.unseal(&root).await.unwrap();
    assert_eq!(count(&again), RESERVATION_BLOCK + 1);
    // Seal and unseal in the same process: the same rule.
    b.seal();
    b.unseal(&root).await.unwrap();
    assert_eq!(count(&b), RESERVATION_BLOCK + 1);
}

#[tokio::test]
async fn crashes_over_count_by_at_most_a_block_never_under() {
    let mem = Arc::new(MemPhysical::new());
    let root = RootKey::generate();
    let block = 5;
    let mut real = 0u64;
    for round in 1..=6u64 {
        let b = open(&mem, &root, block).await;
        let before = count(&b);
        assert!(
            before >= real,
            "round {round}: count {before} < {real} encryptions"
        );
        assert!(
            before <= real + round * (block + 1),
            "round {round}: {before}"
        );
        for i in 0..(round * 3) {
            b.put(&format!("r{round}/{i}"), b"v").await.unwrap();
            real += 1;
            assert!(count(&b) >= real);
        }
        // Crash: the barrier is dropped without a word; only storage remains.
    }
    let b = open(&mem, &root, block).await;
    assert!(count(&b) >= real);
}

#[tokio::test]
async fn put_many_and_concurrent_writers_are_all_counted() {
    let mem = Arc::new(MemPhysical::new());
    let root = RootKey::generate();
    let b = Arc::new(open(&mem, &root, 4).await);
    b.put_many(&[("a", b"1"), ("b", b"2"), ("c", b"3")])
        .await
        .unwrap();
    assert_eq!(count(&b), 3);
    let writers: Vec<_> = (0..40)
        .map(|i| {
            let b = b.clone();
            tokio::spawn(async move { b.put(&format!("w{i}"), b"v").await.unwrap() })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(count(&b), 43);
    let restarted = open(&mem, &root, 4).await;
    let after = count(&restarted);
    assert!((43..=43 + 4 + 1).contains(&after), "{after}");
}

/// A store whose `core/keyring` writes can be made to fail.
struct FailingKeyring {
    inner: MemPhysical,
    fail: AtomicBool,
}

#[async_trait::async_trait]
impl Physical for FailingKeyring {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, PhysicalError> {
        self.inner.get(key).await
    }
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), PhysicalError> {
        if key == KEYRING_PATH && self.fail.load(Ordering::SeqCst) {
            return Err(PhysicalError::Unavailable("no leader".into()));
        }
        self.inner.put(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<(), PhysicalError> {
        self.inner.delete(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, PhysicalError> {
        self.inner.list(prefix).await
    }
}

#[tokio::test]
async fn no_encryption_without_a_stored_reservation() {
    let store = Arc::new(FailingKeyring {
        inner: MemPhysical::new(),
        fail: AtomicBool::new(false),
    });
    let root = RootKey::generate();
    let b = Barrier::new(store.clone()).with_reservation_block(2);
    b.initialize(&root, 1).await.unwrap();
    b.unseal(&root).await.unwrap();
    // Block 2: the first write reserves up to 3, the fourth up to 6.
    for k in ["a", "b", "c", "d"] {
        b.put(k, b"v").await.unwrap();
    }
    store.fail.store(true, Ordering::SeqCst);
    b.put("e", b"v").await.unwrap();
    b.put("f", b"v").await.unwrap();
    // The seventh needs a reservation the store refuses: nothing is encrypted or stored.
    assert!(matches!(
        b.put("g", b"v").await,
        Err(BarrierError::Physical(_))
    ));
    assert!(b.encrypt("h", b"v").await.is_err());
    assert_eq!(store.inner.get("g").await.unwrap(), None);
    // The refused claims still count (over, never under).
    assert_eq!(count(&b), 8);
    store.fail.store(false, Ordering::SeqCst);
    let restarted = Barrier::new(store.clone());
    restarted.unseal(&root).await.unwrap();
    assert_eq!(
        count(&restarted),
        6,
        "the stored ceiling covers the six made"
    );
}

#[tokio::test]
async fn a_standby_learns_the_active_nodes_count() {
    let mem = Arc::new(MemPhysical::new());
    let root = RootKey::generate();
    let active = open(&mem, &root, 3).await;
    let standby = open(&mem, &root, 3).await;
    for i in 0..10 {
        active.put(&format!("k{i}"), b"v").await.unwrap();
    }
    assert_eq!(count(&standby), 0);
    standby.reload_keyring().await.unwrap();
    assert!(count(&standby) >= 10, "{}", count(&standby));
}

#[tokio::test]
async fn rotate_if_newest_makes_one_term_however_many_ask() {
    let mem = Arc::new(MemPhysical::new());
    let root = RootKey::generate();
    let b = Arc::new(open(&mem, &root, 3).await);
    let askers: Vec<_> = (0..8)
        .map(|_| {
            let b = b.clone();
            tokio::spawn(async move { b.rotate_if_newest(1, 2_000).await.unwrap() })
        })
        .collect();
    let mut rotated = 0;
    for a in askers {
        if let Some(info) = a.await.unwrap() {
            assert_eq!((info.term, info.encryptions), (2, 0));
            rotated += 1;
        }
    }
    assert_eq!(rotated, 1);
    assert_eq!(b.key_status().unwrap().term, 2);
    // Another node that still believes term 1 is newest finds the stored keyring says not.
    let stale = open(&mem, &root, 3).await;
    let other = Barrier::new(mem.clone());
    other.unseal(&root).await.unwrap();
    other.rotate(3_000).await.unwrap();
    assert_eq!(stale.rotate_if_newest(2, 4_000).await.unwrap(), None);
    assert_eq!(stale.key_status().unwrap().term, 3);
}

#[tokio::test]
async fn a_rotation_keeps_the_old_terms_ceiling() {
    let mem = Arc::new(MemPhysical::new());
    let root = RootKey::generate();
    let b = open(&mem, &root, 3).await;
    for i in 0..7 {
        b.put(&format!("k{i}"), b"v").await.unwrap();
    }
    b.rotate(2_000).await.unwrap();
    let restarted = open(&mem, &root, 3).await;
    assert_eq!(restarted.key_status().unwrap().encryptions, 0);
    let old = restarted
        .unsealed()
        .unwrap()
        .keyring
        .term(1)
        .unwrap()
        .info();
    assert!(old.encryptions >= 7, "{old:?}");
}

#[tokio::test]
async fn reading_back_its_own_reservation_does_not_inflate_the_count() {
    let mem = Arc::new(MemPhysical::new());
    let root = RootKey::generate();
    let b = open(&mem, &root, 100).await;
    for i in 0..3 {
        b.put(&format!("k{i}"), b"v").await.unwrap();
    }
    b.reload_keyring().await.unwrap();
    assert_eq!(count(&b), 3);
}
