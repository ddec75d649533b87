//! A revocation cut short by the active node's crash leaves no live token behind that can no
//! longer be revoked by accessor or lease (found by the chaos run, seed 99).
#![cfg(madsim)]

use coffer_sim::chaos::{Cluster, EventLog};
use serde_json::json;

/// A revocation cut short by the active node's crash never leaves a token alive without its
/// accessor: revoking it afterwards as a lease (found by accessor) must still work. The crash
/// lands at a different point of the revocation each round (found by the chaos run, seed 99).
#[madsim::test]
async fn revocation_cut_short_leaves_the_token_revocable() {
    let cluster = Cluster::form(3, false, &EventLog::default()).await;
    let root = cluster.root.clone();
    let ok = |r: &coffer_sim::Reply| r.status / 100 == 2;
    let active = cluster.active().expect("an active node");
    let policy = json!({"policy": "path \"secret/data/x\" { capabilities = [\"read\"] }"});
    assert!(ok(&active
        .call("PUT", "sys/policies/acl/r", Some(&root), Some(policy))
        .await));
    let value = json!({"data": {"v": "1"}});
    let t0 = madsim::time::Instant::now();
    assert!(ok(&active
        .call("POST", "secret/data/x", Some(&root), Some(value))
        .await));
    let commit = t0.elapsed();
    let mut alive = 0;
    for round in 0..16u32 {
        assert!(
            cluster
                .wait_active(std::time::Duration::from_secs(30))
                .await
        );
        let active = cluster.active().expect("an active node");
        let body = json!({"policies": ["r"]});
        let created = active
            .call("POST", "auth/token/create", Some(&root), Some(body))
            .await;
        let token = created.body["auth"]["client_token"]
            .as_str()
            .unwrap()
            .to_string();
        let accessor = created.body["auth"]["accessor"]
            .as_str()
            .unwrap()
            .to_string();
        // Revoke, and crash the active node 0 to 4 commit times into it.
        let body = json!({"token": token});
        let revoke = active.call("POST", "auth/token/revoke", Some(&root), Some(body));
        let crash = async {
            madsim::time::sleep(commit * round / 4).await;
            active.kill();
        };
        tokio::join!(revoke, crash);
        active.restart();
        active.wait_ready().await;
        assert!(cluster.unseal(&active).await, "{} unseals", active.name);
        assert!(
            cluster
                .wait_active(std::time::Duration::from_secs(30))
                .await
        );
        let now = cluster.active().expect("an active node");
        let lease = json!({"lease_id": format!("auth/token/create/{accessor}")});
        let revoked = now
            .call("PUT", "sys/leases/revoke", Some(&root), Some(lease))
            .await;
        assert_eq!(revoked.status, 204, "{:?}", revoked.body);
        let used = now.call("GET", "secret/data/x", Some(&token), None).await;
        if used.status != 403 {
            alive += 1;
        }
    }
    assert_eq!(alive, 0, "tokens outlived an acknowledged lease revocation");
}
