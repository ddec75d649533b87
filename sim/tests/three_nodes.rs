//! A three-node cluster under simulation: standbys forward to the active node, and when the
//! active node is killed another takes over with every acknowledged write intact.
#![cfg(madsim)]

use coffer_sim::{eventually, SimNode};
use serde_json::json;
use std::time::Duration;

#[madsim::test]
async fn standbys_forward_and_a_new_active_node_keeps_every_write() {
    let nodes = SimNode::start_many("coffer", 3, 100, 1).await;
    let (keys, root) = nodes[0].init(1, 1).await;
    assert_eq!(nodes[0].unseal(&keys).await.body["sealed"], false);
    for other in &nodes[1..] {
        nodes[0].add_voter(other).await.expect("a voter joins");
    }
    // The standbys now hold the replicated seal records and unseal with the same key.
    for n in &nodes[1..] {
        assert!(n.wait_initialized().await, "{} never caught up", n.name);
        let status = n.unseal(&keys).await;
        assert_eq!(
            status.body["sealed"], false,
            "{}: {:?}",
            n.name, status.body
        );
        assert!(!n.is_active());
    }
    let mount = nodes[1]
        .call(
            "POST",
            "sys/mounts/secret",
            Some(&root),
            Some(json!({"type": "kv", "options": {"version": "2"}})),
        )
        .await;
    assert_eq!(
        mount.status, 204,
        "mount through a standby: {:?}",
        mount.body
    );

    let mut acknowledged = Vec::new();
    for i in 0..20 {
        let via = &nodes[i % 3];
        let w = via
            .call(
                "POST",
                &format!("secret/data/k{i}"),
                Some(&root),
                Some(json!({"data": {"v": i}})),
            )
            .await;
        assert_eq!(w.status, 200, "write {i} via {}: {:?}", via.name, w.body);
        acknowledged.push(i);
    }

    nodes[0].kill();
    let survivors = &nodes[1..];
    assert!(
        eventually(Duration::from_secs(30), || survivors
            .iter()
            .any(SimNode::is_active))
        .await,
        "no survivor became active"
    );
    for i in acknowledged {
        let r = survivors[i % 2]
            .call("GET", &format!("secret/data/k{i}"), Some(&root), None)
            .await;
        assert_eq!(r.status, 200, "read {i} after failover: {:?}", r.body);
        assert_eq!(r.body["data"]["data"]["v"], i);
    }
    let w = survivors[0]
        .call(
            "POST",
            "secret/data/after",
            Some(&root),
            Some(json!({"data": {"v": "x"}})),
        )
        .await;
    assert_eq!(w.status, 200, "a write after failover: {:?}", w.body);
}
