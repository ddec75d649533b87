//! Barrier behaviour over `MemPhysical`.

use std::sync::Arc;

use super::*;
use crate::aead::DecryptError;
use crate::memory::MemPhysical;

/// An initialized, unsealed barrier, its store and its root key.
async fn open_barrier() -> (Arc<MemPhysical>, Barrier, RootKey) {
    let mem = Arc::new(MemPhysical::new());
    let barrier = Barrier::new(mem.clone());
    let root = RootKey::generate();
    barrier.initialize(&root, 1_000).await.unwrap();
    barrier.unseal(&root).await.unwrap();
    (mem, barrier, root)
}

fn raw(mem: &MemPhysical, path: &str) -> Vec<u8> {
    let dump = mem.dump();
    dump.into_iter()
        .find(|(k, _)| k == path)
        .map(|(_, v)| v)
        .unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn roundtrip_put_get_delete_list() {
    let (_, b, _) = open_barrier().await;
    assert_eq!(b.get("secret/a").await.unwrap(), None);
    b.put("secret/a", b"hello").await.unwrap();
    b.put("secret/dir/b", b"").await.unwrap();
    assert_eq!(b.get("secret/a").await.unwrap().unwrap(), b"hello");
    assert_eq!(b.get("secret/dir/b").await.unwrap().unwrap(), b"");
    assert_eq!(b.list("secret/").await.unwrap(), ["a", "dir/"]);
    b.delete("secret/a").await.unwrap();
    assert_eq!(b.get("secret/a").await.unwrap(), None);
    assert_eq!(b.list("secret/").await.unwrap(), ["dir/"]);
}

#[tokio::test]
async fn stored_bytes_hold_no_plaintext_or_keys() {
    let (mem, b, root) = open_barrier().await;
    b.put("secret/a", b"plaintext-marker").await.unwrap();
    let stored = raw(&mem, "secret/a");
    assert_eq!(stored.len(), aead::OVERHEAD + b"plaintext-marker".len());
    assert_eq!(&stored[..5], &[0, 0, 0, 1, aead::VERSION_AES_GCM]);
    for (path, bytes) in mem.dump() {
        assert!(
            !contains(&bytes, b"plaintext-marker"),
            "plaintext at {path}"
        );
        assert!(!contains(&bytes, root.as_bytes()), "root key at {path}");
        assert!(!contains(&bytes, b"root_key"), "keyring JSON at {path}");
    }
}

#[tokio::test]
async fn initialize_leaves_sealed_and_only_once() {
    let mem = Arc::new(MemPhysical::new());
    let b = Barrier::new(mem);
    let root = RootKey::generate();
    assert!(!b.initialized().await.unwrap());
    assert!(matches!(
        b.unseal(&root).await,
        Err(BarrierError::NotInitialized)
    ));
    b.initialize(&root, 5).await.unwrap();
    assert!(b.initialized().await.unwrap());
    assert!(b.is_sealed());
    let again = b.initialize(&RootKey::generate(), 6).await;
    assert!(matches!(again, Err(BarrierError::AlreadyInitialized)));
    b.unseal(&root).await.unwrap();
    assert_eq!(
        b.key_status().unwrap(),
        KeyInfo {
            term: 1,
            install_time: 5,
            encryptions: 0
        }
    );
}

#[tokio::test]
async fn wrong_root_key_rejected() {
    let (mem, b, _) = open_barrier().await;
    b.seal();
    let other = Barrier::new(mem);
    let wrong = RootKey::generate();
    assert!(matches!(
        b.unseal(&wrong).await,
        Err(BarrierError::InvalidKey)
    ));
    assert!(matches!(
        other.unseal(&wrong).await,
        Err(BarrierError::InvalidKey)
    ));
    assert!(b.is_sealed() && other.is_sealed());
}

#[tokio::test]
async fn flipping_any_byte_is_detected() {
    let (mem, b, _) = open_barrier().await;
    b.put("secret/x", b"short").await.unwrap();
    let good = raw(&mem, "secret/x");
    for i in 0..good.len() {
        for mask in [0x01, 0x80, 0xff] {
            let mut bad = good.clone();
            bad[i] ^= mask;
            mem.put("secret/x", bad).await.unwrap();
            let got = b.get("secret/x").await;
            assert!(got.is_err(), "byte {i} ^ {mask:#x} gave {got:?}");
        }
    }
    mem.put("secret/x", good).await.unwrap();
    assert_eq!(b.get("secret/x").await.unwrap().unwrap(), b"short");
}

#[tokio::test]
async fn truncation_rejected() {
    let (mem, b, _) = open_barrier().await;
    b.put("secret/x", b"some value").await.unwrap();
    let good = raw(&mem, "secret/x");
    for len in 0..good.len() {
        mem.put("secret/x", good[..len].to_vec()).await.unwrap();
        let got = b.get("secret/x").await;
        assert!(got.is_err(), "truncated to {len} gave {got:?}");
    }
}

#[tokio::test]
async fn moved_value_rejected() {
    let (mem, b, _) = open_barrier().await;
    b.put("secret/a", b"for a").await.unwrap();
    mem.put("secret/b", raw(&mem, "secret/a")).await.unwrap();
    let got = b.get("secret/b").await;
    assert!(
        matches!(
            &got,
            Err(BarrierError::Decrypt { path, reason: DecryptError::Authentication })
                if path == "secret/b"
        ),
        "{got:?}"
    );
}

#[tokio::test]
async fn rotate_writes_new_term_and_reads_old() {
    let (mem, b, _) = open_barrier().await;
    b.put("old", b"one").await.unwrap();
    assert_eq!(b.key_status().unwrap().encryptions, 1);
    let info = b.rotate(2_000).await.unwrap();
    assert_eq!(
        info,
        KeyInfo {
            term: 2,
            install_time: 2_000,
            encryptions: 0
        }
    );
    b.put("new", b"two").await.unwrap();
    assert_eq!(&raw(&mem, "old")[..4], &1u32.to_be_bytes());
    assert_eq!(&raw(&mem, "new")[..4], &2u32.to_be_bytes());
    assert_eq!(b.get("old").await.unwrap().unwrap(), b"one");
    assert_eq!(b.get("new").await.unwrap().unwrap(), b"two");
    assert_eq!(b.key_status().unwrap().encryptions, 1);
}

#[tokio::test]
async fn rotation_survives_seal_and_unseal() {
    let (_, b, root) = open_barrier().await;
    b.put("old", b"one").await.unwrap();
    b.rotate(2).await.unwrap();
    b.put("new", b"two").await.unwrap();
    b.seal();
    b.unseal(&root).await.unwrap();
    assert_eq!(b.key_status().unwrap().term, 2);
    assert_eq!(b.get("old").await.unwrap().unwrap(), b"one");
    assert_eq!(b.get("new").await.unwrap().unwrap(), b"two");
}

#[tokio::test]
async fn sealed_refuses_everything() {
    let (_, b, root) = open_barrier().await;
    b.put("k", b"v").await.unwrap();
    b.seal();
    assert!(b.is_sealed());
    let sealed = |r: Result<(), BarrierError>| matches!(r, Err(BarrierError::Sealed));
    assert!(sealed(b.get("k").await.map(drop)));
    assert!(sealed(b.put("k", b"v").await));
    assert!(sealed(b.delete("k").await));
    assert!(sealed(b.list("").await.map(drop)));
    assert!(sealed(b.rotate(1).await.map(drop)));
    assert!(sealed(b.key_status().map(drop)));
    assert!(sealed(b.reload_keyring().await));
    assert!(sealed(b.encrypt("k", b"v").await.map(drop)));
    assert!(sealed(b.decrypt("k", &[0; 40]).map(drop)));
    b.unseal(&root).await.unwrap();
    assert_eq!(b.get("k").await.unwrap().unwrap(), b"v");
}

#[tokio::test]
async fn reload_picks_up_rotation_by_another_instance() {
    let (mem, active, root) = open_barrier().await;
    let standby = Barrier::new(mem.clone());
    standby.unseal(&root).await.unwrap();
    active.rotate(50).await.unwrap();
    assert_eq!(standby.key_status().unwrap().term, 1);
    standby.reload_keyring().await.unwrap();
    assert_eq!(standby.key_status().unwrap().term, 2);
}

#[tokio::test]
async fn reset_forgets_terms_the_restored_keyring_never_had() {
    let (mem, b, _) = open_barrier().await;
    let before = raw(&mem, KEYRING_PATH);
    b.rotate(2).await.unwrap();
    // A snapshot restore puts back the keyring from before the rotation.
    mem.put(KEYRING_PATH, before).await.unwrap();
    b.reload_keyring().await.unwrap();
    assert_eq!(
        b.key_status().unwrap().term,
        2,
        "reload merges: keeps term 2"
    );
    b.reset_keyring().await.unwrap();
    assert_eq!(
        b.key_status().unwrap().term,
        1,
        "reset uses exactly what is stored"
    );
    b.put("k", b"v").await.unwrap();
    assert_eq!(&raw(&mem, "k")[..4], &1u32.to_be_bytes());
    assert!(matches!(b.reset_keyring().await, Ok(())));
    b.seal();
    assert!(matches!(b.reset_keyring().await, Err(BarrierError::Sealed)));
}

#[tokio::test]
async fn get_reloads_once_on_unknown_term() {
    let (mem, active, root) = open_barrier().await;
    let standby = Barrier::new(mem.clone());
    standby.unseal(&root).await.unwrap();
    active.rotate(50).await.unwrap();
    active.put("k", b"after rotate").await.unwrap();
    assert!(matches!(
        standby.decrypt("k", &raw(&mem, "k")),
        Err(BarrierError::UnknownTerm(2))
    ));
    assert_eq!(standby.get("k").await.unwrap().unwrap(), b"after rotate");
    let mut forged = raw(&mem, "k");
    forged[..4].copy_from_slice(&77u32.to_be_bytes());
    mem.put("k", forged).await.unwrap();
    assert!(matches!(
        standby.get("k").await,
        Err(BarrierError::UnknownTerm(77))
    ));
}

#[tokio::test]
async fn stale_node_rotation_does_not_reuse_a_term() {
    let (mem, first, root) = open_barrier().await;
    let stale = Barrier::new(mem.clone());
    stale.unseal(&root).await.unwrap();
    first.rotate(10).await.unwrap();
    first.put("by-first", b"a").await.unwrap();
    assert_eq!(stale.rotate(20).await.unwrap().term, 3);
    stale.put("by-stale", b"b").await.unwrap();
    let fresh = Barrier::new(mem);
    fresh.unseal(&root).await.unwrap();
    assert_eq!(fresh.get("by-first").await.unwrap().unwrap(), b"a");
    assert_eq!(fresh.get("by-stale").await.unwrap().unwrap(), b"b");
}

#[tokio::test]
async fn concurrent_rotations_claim_distinct_terms() {
    let (_, b, _) = open_barrier().await;
    let b = Arc::new(b);
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let b = b.clone();
            tokio::spawn(async move { b.rotate(i).await.unwrap().term })
        })
        .collect();
    let mut terms = Vec::new();
    for t in tasks {
        terms.push(t.await.unwrap());
    }
    terms.sort_unstable();
    assert_eq!(terms, (2..=9).collect::<Vec<u32>>());
    assert_eq!(b.key_status().unwrap().term, 9);
}

#[tokio::test]
async fn keyring_path_is_reserved() {
    let (_, b, _) = open_barrier().await;
    let reserved = |r: Result<(), BarrierError>| matches!(r, Err(BarrierError::ReservedPath(_)));
    assert!(reserved(b.put(KEYRING_PATH, b"x").await));
    assert!(reserved(b.delete(KEYRING_PATH).await));
    assert!(reserved(b.get(KEYRING_PATH).await.map(drop)));
}

#[tokio::test]
async fn encrypt_decrypt_without_io() {
    let (_, b, _) = open_barrier().await;
    let stored = b.encrypt("p/q", b"data").await.unwrap();
    assert_eq!(stored.len(), 17 + 4 + 16);
    assert_eq!(b.decrypt("p/q", &stored).unwrap(), b"data");
    assert!(b.decrypt("p/r", &stored).is_err());
}
