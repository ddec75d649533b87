//! A leader that crashes before its own disk has flushed entries it already replicated (and
//! that a quorum of followers committed) must not come back as leader of its old term: it
//! would write other entries at the same (term, index), the followers would keep theirs, and
//! the replicas would diverge, the acknowledged write missing from some of them.
#![cfg(madsim)]

use coffer_sim::{eventually, SimNode};
use serde_json::json;
use std::time::Duration;

#[madsim::test]
async fn a_leader_restarted_without_its_log_tail_does_not_reuse_its_term() {
    let (nodes, keys, root) = SimNode::form_three(true).await;
    let mount = json!({"type": "kv", "options": {"version": "2"}});
    let r = nodes[0]
        .call("POST", "sys/mounts/secret", Some(&root), Some(mount))
        .await;
    assert_eq!(r.status, 204, "mount: {:?}", r.body);
    assert!(nodes[0].is_active());

    // The leader's disk now takes seconds per sync: its writes commit on the followers' flushes
    // and sit unsynced on the leader.
    nodes[0].set_sync_latency(Duration::from_secs(3));
    let w = nodes[0]
        .call(
            "POST",
            "secret/data/k",
            Some(&root),
            Some(json!({"data": {"v": "acknowledged"}})),
        )
        .await;
    assert_eq!(w.status, 200, "write: {:?}", w.body);
    let (lost, _) = nodes[0].kill_keeping(|_| 0);
    assert!(lost > 0, "the leader had nothing unsynced");
    nodes[0].set_sync_latency(Duration::ZERO);
    nodes[0].restart();
    nodes[0].wait_ready().await;
    for _ in 0..40 {
        if nodes[0].unseal(&keys).await.body["sealed"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let active = eventually(Duration::from_secs(30), || {
        nodes.iter().any(SimNode::is_active)
    })
    .await;
    assert!(active, "no node became active");
    let w = nodes[1]
        .call(
            "POST",
            "secret/data/after",
            Some(&root),
            Some(json!({"data": {"v": "x"}})),
        )
        .await;
    assert_eq!(w.status, 200, "a write after the restart: {:?}", w.body);

    // Every replica converges on the same data, the acknowledged write included.
    let mut states = Vec::new();
    for _ in 0..100 {
        states.clear();
        for n in &nodes {
            states.push(n.local_data().await.expect("the node runs"));
        }
        if states.windows(2).all(|w| w[0] == w[1]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (n, state) in nodes.iter().zip(&states).skip(1) {
        assert!(
            state == &states[0],
            "{} diverged from {}",
            n.name,
            nodes[0].name
        );
    }
    for n in &nodes {
        let r = n.call("GET", "secret/data/k", Some(&root), None).await;
        assert_eq!(
            r.body["data"]["data"]["v"], "acknowledged",
            "{}: {:?}",
            n.name, r.body
        );
    }
}
