//! A sealed node that wins a Raft election hands leadership to another voter, so the nodes an
//! operator has unsealed can become active; before, the cluster stayed without an active node
//! for as long as the sealed leader stayed sealed.
#![cfg(madsim)]

use coffer_sim::{eventually, SimNode};
use std::time::Duration;

#[madsim::test]
async fn a_sealed_leader_hands_over_to_the_unsealed_nodes() {
    let (nodes, keys, _root) = SimNode::form_three(false).await;
    // Every node restarts sealed (Shamir); one of them wins the election while sealed.
    for n in &nodes {
        n.restart();
    }
    for n in &nodes {
        n.wait_ready().await;
    }
    let leader = |n: &SimNode| n.raft_status().is_some_and(|s| s.contains("role: Leader"));
    assert!(
        eventually(Duration::from_secs(30), || nodes.iter().any(leader)).await,
        "no leader among the sealed nodes"
    );
    let sealed_leader = nodes.iter().position(leader).expect("a leader");
    for (i, n) in nodes.iter().enumerate() {
        if i != sealed_leader {
            assert_eq!(n.unseal(&keys).await.body["sealed"], false, "{}", n.name);
        }
    }
    assert!(
        eventually(Duration::from_secs(30), || nodes
            .iter()
            .any(SimNode::is_active))
        .await,
        "{} stayed the sealed leader and no unsealed node became active",
        nodes[sealed_leader].name
    );
}
