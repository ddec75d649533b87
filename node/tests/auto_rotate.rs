//! Automatic barrier-key rotation through the HTTP app of an in-process node (inmem storage):
//! `sys/rotate/config`'s `max_operations` rotates the term after that many encryptions; the
//! settings write alone never does; disabled means never.
#![cfg(not(madsim))]

mod common;

use coffer_node::config::{ServerConfig, StorageConfig};
use coffer_node::StorageHandle;
use common::call;
use serde_json::json;

/// A dev node whose `sys/rotate/config` accepts `max_operations` down to 10.
async fn node() -> (coffer_node::ServerHandle, axum::Router) {
    let config = ServerConfig {
        storage: StorageConfig::Inmem,
        listeners: Vec::new(),
        rotation_min_operations: Some(10),
        ..ServerConfig::default()
    };
    let server = coffer_node::start(config, StorageHandle::FromConfig)
        .await
        .unwrap();
    coffer_node::server::dev_setup(&server.core, Some("root"))
        .await
        .unwrap();
    let app = server.app();
    (server, app)
}

async fn term(app: &axum::Router) -> u64 {
    let (status, body) = call(app, "GET", "sys/key-status", None).await;
    assert_eq!(status, 200, "{body}");
    body["term"].as_u64().unwrap()
}

async fn write(app: &axum::Router, i: usize) {
    let body = json!({"data": {"n": i}});
    let (status, resp) = call(app, "POST", &format!("secret/data/k{i}"), Some(body)).await;
    assert_eq!(status, 200, "{resp}");
}

#[tokio::test(flavor = "multi_thread")]
async fn auto_rotate_after_max_operations_encryptions() {
    let (server, app) = node().await;
    let (status, body) = call(
        &app,
        "POST",
        "sys/rotate/config",
        Some(json!({"max_operations": 20})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(term(&app).await, 1);
    let mut writes = 0;
    while term(&app).await == 1 {
        write(&app, writes).await;
        writes += 1;
        assert!(writes <= 20, "no rotation after {writes} writes");
    }
    assert_eq!(term(&app).await, 2);
    // Every secret stays readable, and the new term counts from zero.
    let (_, status_body) = call(&app, "GET", "sys/key-status", None).await;
    assert!(status_body["encryptions"].as_u64().unwrap() < 20);
    for i in 0..writes {
        let (status, body) = call(&app, "GET", &format!("secret/data/k{i}"), None).await;
        assert_eq!((status, &body["data"]["data"]["n"]), (200, &json!(i)));
    }
    // It keeps going: the next 20 encryptions bring term 3.
    let mut more = 0;
    while term(&app).await == 2 {
        write(&app, 1_000 + more).await;
        more += 1;
        assert!(more <= 20, "no second rotation after {more} writes");
    }
    assert_eq!(term(&app).await, 3);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn auto_rotate_config_write_alone_never_rotates() {
    let (server, app) = node().await;
    for i in 0..15 {
        write(&app, i).await;
    }
    let (_, before) = call(&app, "GET", "sys/key-status", None).await;
    assert!(before["encryptions"].as_u64().unwrap() >= 15, "{before}");
    // A limit the term has already passed: the settings write itself does not rotate...
    let (status, _) = call(
        &app,
        "POST",
        "sys/rotate/config",
        Some(json!({"max_operations": 10})),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(term(&app).await, 1);
    let (_, read) = call(&app, "GET", "sys/rotate/config", None).await;
    assert_eq!(read["data"]["max_operations"], json!(10));
    // ...the next request does.
    write(&app, 99).await;
    assert_eq!(term(&app).await, 2);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn auto_rotate_disabled_or_below_the_floor() {
    let (server, app) = node().await;
    let (status, _) = call(
        &app,
        "POST",
        "sys/rotate/config",
        Some(json!({"max_operations": 9})),
    )
    .await;
    assert_eq!(status, 400, "below the node's floor");
    let (status, _) = call(
        &app,
        "POST",
        "sys/rotate/config",
        Some(json!({"max_operations": 10, "enabled": false})),
    )
    .await;
    assert_eq!(status, 204);
    for i in 0..30 {
        write(&app, i).await;
    }
    assert_eq!(term(&app).await, 1);
    server.shutdown().await;
}
