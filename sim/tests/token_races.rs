//! A limited-use token revoked while one of its uses is in flight stays revoked: the use read
//! the token's entry before the revocation and writes its decremented count back after it, and
//! that write must not bring the token back (found by the chaos run, seed 22).
#![cfg(madsim)]

use coffer_sim::chaos::{Cluster, EventLog};
use serde_json::json;

#[madsim::test]
async fn revoke_racing_a_use_stays_revoked() {
    // Three nodes, so a use's write takes network round trips to commit.
    let cluster = Cluster::form(3, false, &EventLog::default()).await;
    let node = cluster.active().expect("an active node");
    let root = cluster.root.clone();
    let ok = |r: &coffer_sim::Reply| r.status / 100 == 2;
    let policy = json!({"policy": "path \"secret/data/x\" { capabilities = [\"read\"] }"});
    assert!(ok(&node
        .call("PUT", "sys/policies/acl/r", Some(&root), Some(policy))
        .await));
    let value = json!({"data": {"v": "1"}});
    assert!(ok(&node
        .call("POST", "secret/data/x", Some(&root), Some(value))
        .await));
    let t0 = madsim::time::Instant::now();
    let value = json!({"data": {"v": "2"}});
    assert!(ok(&node
        .call("POST", "secret/data/x", Some(&root), Some(value))
        .await));
    let took = t0.elapsed();
    let mut resurrected = 0;
    for round in 0..80u64 {
        let body = json!({"num_uses": 3, "policies": ["r"]});
        let created = node
            .call("POST", "auth/token/create", Some(&root), Some(body))
            .await;
        let token = created.body["auth"]["client_token"]
            .as_str()
            .unwrap()
            .to_string();
        // The use starts 0 to 2 commit times after the revocation: some rounds it reads the
        // entry before the revocation deletes it and writes the new count after.
        let delay = took * round as u32 / 40;
        let body = json!({"token": token});
        let revoke = node.call("POST", "auth/token/revoke", Some(&root), Some(body));
        let used = async {
            madsim::time::sleep(delay).await;
            node.call("GET", "secret/data/x", Some(&token), None).await
        };
        let (revoked, _) = tokio::join!(revoke, used);
        assert_eq!(revoked.status, 204, "{:?}", revoked.body);
        let after = node.call("GET", "secret/data/x", Some(&token), None).await;
        if after.status != 403 {
            resurrected += 1;
        }
    }
    assert_eq!(resurrected, 0, "revoked tokens served a later request");
}
