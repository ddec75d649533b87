//! A stored ciphertext with any byte flipped must fail to read — with an error, never with data.
//! Runs a real node over RocksDB on disk and tampers with the bytes its state machine stored.
#![cfg(not(madsim))]

mod common;

use coffer_node::config::{ServerConfig, StorageConfig};
use coffer_node::StorageHandle;
use coffer_raft::{Engine, RocksEngine, Space, WriteBatch};
use common::call;
use serde_json::json;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread")]
async fn flipping_any_byte_of_a_stored_secret_fails_the_read() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(RocksEngine::open(dir.path()).unwrap());
    let config = ServerConfig {
        storage: StorageConfig::Raft {
            path: dir.path().to_path_buf(),
            node_id: "1".into(),
            retry_join: Vec::new(),
            snapshot_threshold: None,
            trailing_logs: None,
            max_entry_size: None,
        },
        listeners: Vec::new(),
        ..ServerConfig::default()
    };
    let server = coffer_node::start(config, StorageHandle::Engine(engine.clone()))
        .await
        .unwrap();
    coffer_node::server::dev_setup(&server.core, Some("root"))
        .await
        .unwrap();
    let app = server.app();

    let secret = "hunter2-tamper-check";
    let (status, _) = call(
        &app,
        "POST",
        "secret/data/app",
        Some(json!({"data": {"pw": secret}})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = call(&app, "GET", "secret/data/app", None).await;
    assert_eq!(
        (status, body["data"]["data"]["pw"].as_str()),
        (200, Some(secret))
    );

    let stored = engine.scan_prefix(Space::Data, b"logical/").unwrap();
    let (key, original) = stored
        .iter()
        .find(|(k, _)| String::from_utf8_lossy(k).contains("/versions/"))
        .expect("the secret's version entry is in the state machine")
        .clone();
    assert!(!original
        .windows(secret.len())
        .any(|w| w == secret.as_bytes()));

    for pos in 0..original.len() {
        let mut tampered = original.clone();
        tampered[pos] ^= 0x01;
        let mut batch = WriteBatch::new();
        batch.put(Space::Data, key.clone(), tampered);
        engine.write(batch, true).unwrap();

        let (status, body) = call(&app, "GET", "secret/data/app", None).await;
        assert!(status >= 400, "byte {pos} flipped still read back: {body}");
        assert!(
            body["errors"].is_array(),
            "byte {pos}: not a Vault error: {body}"
        );
        assert!(
            !body.to_string().contains(secret),
            "byte {pos}: secret leaked in {body}"
        );
    }

    let mut batch = WriteBatch::new();
    batch.put(Space::Data, key, original);
    engine.write(batch, true).unwrap();
    let (status, body) = call(&app, "GET", "secret/data/app", None).await;
    assert_eq!(
        (status, body["data"]["data"]["pw"].as_str()),
        (200, Some(secret))
    );
    server.shutdown().await;
}
