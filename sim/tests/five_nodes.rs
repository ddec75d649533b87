//! Five nodes under simulation: cut the active node off, the majority elects a new active node
//! and keeps every acknowledged write; after healing, the old node serves as a standby again.
#![cfg(madsim)]

use coffer_sim::{eventually, SimNode};
use serde_json::json;
use std::time::Duration;

#[madsim::test]
async fn a_partitioned_active_node_is_replaced_and_rejoins_as_standby() {
    let nodes = SimNode::start_many("coffer", 5, 200, 2).await;
    let (keys, root) = nodes[0].init(3, 2).await;
    assert_eq!(nodes[0].unseal(&keys[..2]).await.body["sealed"], false);
    for other in &nodes[1..] {
        nodes[0].add_voter(other).await.expect("a voter joins");
        assert!(
            other.wait_initialized().await,
            "{} never caught up",
            other.name
        );
        assert_eq!(other.unseal(&keys[1..]).await.body["sealed"], false);
    }
    let mount = nodes[2]
        .call(
            "POST",
            "sys/mounts/secret",
            Some(&root),
            Some(json!({"type": "kv", "options": {"version": "2"}})),
        )
        .await;
    assert_eq!(mount.status, 204, "{:?}", mount.body);
    for i in 0..10 {
        let w = nodes[i % 5]
            .call(
                "POST",
                &format!("secret/data/p{i}"),
                Some(&root),
                Some(json!({"data": {"v": i}})),
            )
            .await;
        assert_eq!(w.status, 200, "write {i}: {:?}", w.body);
    }

    nodes[0].clog();
    let majority = &nodes[1..];
    assert!(
        eventually(Duration::from_secs(30), || majority
            .iter()
            .any(SimNode::is_active))
        .await,
        "the majority did not elect a new active node"
    );
    for i in 10..20 {
        // Right after the election leadership may still settle (a 503 "not the leader"), as a
        // Vault client sees it; it retries, and within a few seconds the majority must serve.
        let mut w = None;
        for _ in 0..20 {
            let r = majority[i % 4]
                .call(
                    "POST",
                    &format!("secret/data/p{i}"),
                    Some(&root),
                    Some(json!({"data": {"v": i}})),
                )
                .await;
            let done = r.status != 503;
            w = Some(r);
            if done {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let w = w.expect("at least one attempt");
        assert_eq!(
            w.status, 200,
            "write {i} during the partition: {:?}",
            w.body
        );
    }

    nodes[0].unclog();
    assert!(
        eventually(Duration::from_secs(30), || !nodes[0].is_active()).await,
        "the healed node still claims to be active"
    );
    for i in 0..20 {
        let r = nodes[0]
            .call("GET", &format!("secret/data/p{i}"), Some(&root), None)
            .await;
        assert_eq!(r.status, 200, "read {i} via the healed node: {:?}", r.body);
        assert_eq!(r.body["data"]["data"]["v"], i);
    }
}
