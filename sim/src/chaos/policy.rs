//! The policy part of the workload: one writer rewrites [`POLICY`] to version 1, 2, 3… (each
//! version grants read on its own path only) through random nodes; clients holding a token with
//! the policy read the path of the newest acknowledged version (or of the one before) and record
//! whether they were allowed.

use super::client::now_ms;
use super::side::{call, policy_path, policy_text, Side, POLICY};
use super::{Cluster, EventLog};
use crate::history::{PolicyRead, PolicyWrite};
use crate::{ClientHost, SimNode};
use madsim::rand::Rng;
use serde_json::json;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

/// The one writer: rewrites the policy until `stop`.
pub async fn writer(side: Side, cluster: &Cluster, log: EventLog, stop: Rc<Cell<bool>>) {
    let host = ClientHost::start("policy-writer", [10, 0, 2, 100].into());
    let mut version = 0;
    while !stop.get() {
        let pause = madsim::rand::thread_rng().gen_range(100..600);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        version += 1;
        let members = cluster.members();
        let via = &members[madsim::rand::thread_rng().gen_range(0..members.len())];
        let invoked_at = now_ms();
        let path = format!("sys/policies/acl/{POLICY}");
        let body = json!({"policy": policy_text(version)});
        let status = call(&host, via, "PUT", &path, &cluster.root, Some(body))
            .await
            .status;
        let answered = (200..500).contains(&status);
        let acknowledged = status / 100 == 2;
        log.record(format!(
            "policy writer -> {}: version {version} <- {status}",
            via.name
        ));
        let mut state = side.state.borrow_mut();
        state.policy.writes.push(PolicyWrite {
            version,
            invoked_at,
            completed_at: answered.then(now_ms),
            acknowledged,
        });
        if acknowledged {
            state.policy_acked = version;
        }
    }
}

/// One judged request from `client` through `via`.
pub async fn read(side: &Side, host: &ClientHost, via: &SimNode, client: u64, log: &EventLog) {
    let (token, newest) = {
        let state = side.state.borrow();
        (state.policy_token.clone(), state.policy_acked)
    };
    let older = newest > 0 && madsim::rand::thread_rng().gen_range(0..4) == 0;
    let path_version = if older { newest - 1 } else { newest };
    let invoked_at = now_ms();
    let reply = call(host, via, "GET", &policy_path(path_version), &token, None).await;
    let allowed = match reply.status {
        200 | 404 => true,
        403 => false,
        _ => return,
    };
    log.record(format!(
        "client {client} -> {}: policy path v{path_version} <- {}",
        via.name, reply.status
    ));
    side.state.borrow_mut().policy.reads.push(PolicyRead {
        client,
        path_version,
        invoked_at,
        completed_at: now_ms(),
        allowed,
    });
}
