//! Auto-unseal under simulation: three nodes with `seal "simkms"`, the KMS a service on its own
//! simulated host. Init hands out recovery keys; a full restart of every node unseals without
//! anyone; while the KMS fails or is cut off a restarted node stays sealed (503 to data
//! requests) and unseals once the KMS is back; recovery keys do not unseal.
#![cfg(madsim)]

use coffer_sim::{eventually, SimKmsHost, SimNode};
use serde_json::json;
use std::net::IpAddr;
use std::time::Duration;

async fn write(node: &SimNode, root: &str, key: &str, v: &str) -> u16 {
    node.call(
        "POST",
        &format!("secret/data/{key}"),
        Some(root),
        Some(json!({"data": {"v": v}})),
    )
    .await
    .status
}

async fn read(node: &SimNode, root: &str, key: &str) -> Option<String> {
    let r = node
        .call("GET", &format!("secret/data/{key}"), Some(root), None)
        .await;
    r.body["data"]["data"]["v"].as_str().map(str::to_string)
}

#[madsim::test]
async fn a_cluster_auto_unseals_through_the_simulated_kms() {
    let kms = SimKmsHost::start(IpAddr::from([10, 0, 9, 1]));
    let nodes = SimNode::start_many_with_kms("coffer", 3, 100, 1, Some(kms.addr)).await;

    let init = nodes[0]
        .call(
            "PUT",
            "sys/init",
            None,
            Some(json!({"recovery_shares": 3, "recovery_threshold": 2})),
        )
        .await;
    assert_eq!(init.status, 200, "{:?}", init.body);
    assert_eq!(
        init.body["keys"],
        json!([]),
        "an auto seal hands out no unseal keys"
    );
    let recovery: Vec<String> = serde_json::from_value(init.body["recovery_keys"].clone()).unwrap();
    assert_eq!(recovery.len(), 3);
    let root = init.body["root_token"].as_str().unwrap().to_string();
    assert!(eventually(Duration::from_secs(10), || nodes[0].is_active()).await);
    let status = nodes[0].call("GET", "sys/seal-status", None, None).await;
    assert_eq!(status.body["type"], "simkms");
    assert_eq!(status.body["recovery_seal"], true);

    // The others join and unseal by themselves from the replicated records.
    for other in &nodes[1..] {
        nodes[0].add_voter(other).await.expect("a voter joins");
    }
    for n in &nodes {
        assert!(
            eventually(Duration::from_secs(30), || n.is_unsealed()).await,
            "{} never auto-unsealed",
            n.name
        );
    }
    let mounted = nodes[1]
        .call(
            "POST",
            "sys/mounts/secret",
            Some(&root),
            Some(json!({"type": "kv", "options": {"version": "2"}})),
        )
        .await;
    assert_eq!(mounted.status, 204, "{:?}", mounted.body);
    for i in 0..6 {
        assert_eq!(
            write(&nodes[i % 3], &root, &format!("k{i}"), &format!("v{i}")).await,
            200
        );
    }

    // Full restart of every node: all unseal with nobody typing anything, one is active.
    for n in &nodes {
        n.kill();
    }
    for n in &nodes {
        n.restart();
    }
    for n in &nodes {
        n.wait_ready().await;
    }
    for n in &nodes {
        assert!(
            eventually(Duration::from_secs(60), || n.is_unsealed()).await,
            "{} stayed sealed after a full restart",
            n.name
        );
    }
    assert!(
        eventually(Duration::from_secs(30), || nodes
            .iter()
            .any(|n| n.is_active()))
        .await
    );
    for i in 0..6 {
        assert_eq!(
            read(&nodes[(i + 1) % 3], &root, &format!("k{i}")).await,
            Some(format!("v{i}"))
        );
    }
    let before = kms.answered();
    assert!(before >= 4, "every unseal went through the KMS ({before})");

    // The KMS fails while a node restarts: it stays sealed and refuses data; back, it unseals.
    kms.set_failing(true);
    nodes[2].restart();
    nodes[2].wait_ready().await;
    madsim::time::sleep(Duration::from_secs(5)).await;
    assert!(!nodes[2].is_unsealed(), "unsealed while the KMS fails");
    let refused = nodes[2]
        .call("GET", "secret/data/k0", Some(&root), None)
        .await;
    assert_eq!(refused.status, 503, "{:?}", refused.body);
    let health = nodes[2].call("GET", "sys/health", None, None).await;
    assert_eq!(health.status, 503);
    // Recovery keys are not unseal keys: a threshold of them leaves the node sealed.
    for key in &recovery[..2] {
        let r = nodes[2]
            .call("PUT", "sys/unseal", None, Some(json!({"key": key})))
            .await;
        assert_ne!(
            r.body["sealed"], false,
            "a recovery key unsealed: {:?}",
            r.body
        );
    }
    assert!(!nodes[2].is_unsealed());
    kms.set_failing(false);
    assert!(
        eventually(Duration::from_secs(30), || nodes[2].is_unsealed()).await,
        "never unsealed once the KMS was back"
    );

    // The KMS cut off the network while a node restarts: same, and the node rejoins after.
    kms.clog();
    nodes[1].restart();
    nodes[1].wait_ready().await;
    madsim::time::sleep(Duration::from_secs(8)).await;
    assert!(
        !nodes[1].is_unsealed(),
        "unsealed while the KMS is unreachable"
    );
    kms.unclog();
    assert!(eventually(Duration::from_secs(30), || nodes[1].is_unsealed()).await);
    let active = nodes
        .iter()
        .find(|n| n.is_active())
        .expect("an active node");
    assert_eq!(write(active, &root, "after", "kms-back").await, 200);
    for n in &nodes {
        let mut seen = None;
        for _ in 0..40 {
            seen = read(n, &root, "after").await;
            if seen.is_some() {
                break;
            }
            madsim::time::sleep(Duration::from_millis(250)).await;
        }
        assert_eq!(
            seen.as_deref(),
            Some("kms-back"),
            "{} after the KMS came back",
            n.name
        );
    }
}
