//! The first simulated test: one node, init → unseal → write → read → restart → unseal → read.
#![cfg(madsim)]

use coffer_sim::SimNode;
use serde_json::json;

#[madsim::test]
async fn single_node_write_read_restart() {
    let node = SimNode::start("coffer-1", 1, "10.0.0.1".parse().unwrap());
    node.wait_ready().await;

    let (keys, root) = node.init(3, 2).await;

    let status = node.unseal(&keys[..2]).await;
    assert_eq!(status.body["sealed"], false, "{:?}", status.body);

    let mount = node
        .call(
            "POST",
            "sys/mounts/secret",
            Some(&root),
            Some(json!({"type": "kv", "options": {"version": "2"}})),
        )
        .await;
    assert_eq!(mount.status, 204, "{:?}", mount.body);
    let write = node
        .call(
            "POST",
            "secret/data/app",
            Some(&root),
            Some(json!({"data": {"password": "s3cret"}})),
        )
        .await;
    assert_eq!(write.status, 200, "{:?}", write.body);
    let read = node.call("GET", "secret/data/app", Some(&root), None).await;
    assert_eq!(read.body["data"]["data"]["password"], "s3cret");

    node.restart();
    node.wait_ready().await;
    let sealed = node.call("GET", "secret/data/app", Some(&root), None).await;
    assert_eq!(
        sealed.status, 503,
        "a restarted node is sealed: {:?}",
        sealed.body
    );
    let status = node.unseal(&keys[1..3]).await;
    assert_eq!(status.body["sealed"], false);
    let read = node.call("GET", "secret/data/app", Some(&root), None).await;
    assert_eq!(read.status, 200, "{:?}", read.body);
    assert_eq!(read.body["data"]["data"]["password"], "s3cret");
}
