//! The secret-lease part of the workload: clients issue short-lived certificates under a PKI
//! role with `generate_lease` (EC keys, the cheapest) through random nodes, each with a TTL of
//! 2-6 s, and sometimes revoke one by `sys/leases/revoke`; the active node must expire the rest
//! across the faults. After healing ([`liveness`]), each lease the nodes registered is asked
//! about at its deadline. The nodes' own record of what they did comes from
//! `coffer_node::lease::sim_registry`.

use super::client::now_ms;
use super::side::{call, Side};
use super::{Cluster, EventLog};
use crate::check::lease_deadline;
use crate::history::{FinalLease, IssuedLease, NodeAction, NodeEvent, RevokeRequest};
use crate::{ClientHost, SimNode};
use coffer_node::lease::sim_registry::{self, EventKind};
use madsim::rand::Rng;
use serde_json::json;
use std::time::Duration;

/// The PKI mount and the role whose certificates are leased.
pub const PKI_MOUNT: &str = "pki";
pub const PKI_ROLE: &str = "sim";

/// Mount PKI, make its root CA and the leasing role, through `node`.
pub async fn setup(node: &SimNode, root: &str) {
    let steps = [
        (format!("sys/mounts/{PKI_MOUNT}"), json!({"type": "pki"})),
        (
            format!("{PKI_MOUNT}/root/generate/internal"),
            json!({"common_name": "Sim Root", "key_type": "ec", "key_bits": 256, "ttl": "8760h"}),
        ),
        (
            format!("{PKI_MOUNT}/roles/{PKI_ROLE}"),
            json!({"allow_any_name": true, "generate_lease": true, "key_type": "ec",
                   "key_bits": 256, "max_ttl": "1h"}),
        ),
    ];
    for (path, body) in steps {
        let r = node.call("POST", &path, Some(root), Some(body)).await;
        assert!(
            r.status / 100 == 2,
            "POST {path}: {} {:?}",
            r.status,
            r.body
        );
    }
}

/// One lease call from `client` through `via`: mostly an issue, one in four a revocation.
pub async fn step(
    side: &Side,
    host: &ClientHost,
    via: &SimNode,
    client: u64,
    root: &str,
    n: u64,
    log: &EventLog,
) {
    let (revoke, pick, ttl_s) = {
        let mut rng = madsim::rand::thread_rng();
        (
            rng.gen_range(0..4) == 0,
            rng.gen_range(0..usize::MAX),
            rng.gen_range(2..=6u64),
        )
    };
    let known = side.state.borrow().leases.issued.len();
    if revoke && known > 0 {
        let lease_id = side.state.borrow().leases.issued[pick % known]
            .lease_id
            .clone();
        let invoked_at = now_ms();
        side.state
            .borrow_mut()
            .leases
            .revoke_requests
            .push(RevokeRequest {
                lease_id: lease_id.clone(),
                invoked_at,
            });
        let body = json!({"lease_id": lease_id});
        let reply = call(host, via, "PUT", "sys/leases/revoke", root, Some(body)).await;
        log.record(format!(
            "client {client} -> {}: revoke lease {lease_id} <- {}",
            via.name, reply.status
        ));
        return;
    }
    let invoked_at = now_ms();
    let path = format!("{PKI_MOUNT}/issue/{PKI_ROLE}");
    let body =
        json!({"common_name": format!("c{client}-n{n}.sim.test"), "ttl": format!("{ttl_s}s")});
    let reply = call(host, via, "POST", &path, root, Some(body)).await;
    let lease_id = reply.body["lease_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    log.record(format!(
        "client {client} -> {}: issue ttl {ttl_s}s <- {} {lease_id}",
        via.name, reply.status
    ));
    let serial = reply.body["data"]["serial_number"].as_str();
    if let (2, Some(serial), false) = (reply.status / 100, serial, lease_id.is_empty()) {
        let ttl_ms = reply.body["lease_duration"].as_u64().unwrap_or(ttl_s) * 1000;
        side.state.borrow_mut().leases.issued.push(IssuedLease {
            lease_id,
            serial: serial.to_string(),
            ttl_ms,
            invoked_at,
            completed_at: now_ms(),
        });
    }
}

/// What the nodes recorded, in the run's time (ms since it started) and with node names.
pub fn node_events(cluster: &Cluster) -> Vec<NodeEvent> {
    let offset = sim_registry::true_now_ms() - now_ms() as i64;
    let rel = |true_ms: i64| u64::try_from(true_ms - offset).unwrap_or(0);
    let members = cluster.members();
    sim_registry::events()
        .into_iter()
        .map(|e| {
            let node = members
                .iter()
                .find(|m| m.sim_id() == e.node)
                .map_or_else(|| format!("host {}", e.node), |m| m.name.clone());
            let (action, at) = match e.kind {
                EventKind::Issued {
                    issue_wall_ms,
                    expire_wall_ms,
                    issue_true_ms,
                } => {
                    let ttl_ms = u64::try_from(expire_wall_ms - issue_wall_ms).unwrap_or(0);
                    (
                        NodeAction::Issued {
                            ttl_ms,
                            expire_wall_ms,
                        },
                        rel(issue_true_ms),
                    )
                }
                EventKind::RevokedByRequest => (NodeAction::RevokedByRequest, rel(e.true_ms)),
                EventKind::Expired { decided_wall_ms } => {
                    (NodeAction::Expired { decided_wall_ms }, rel(e.true_ms))
                }
            };
            NodeEvent {
                lease_id: e.lease_id,
                action,
                node,
                term: e.term,
                at,
            }
        })
        .collect()
}

/// After healing (at `healed_at`): ask the active node about every lease a node registered,
/// each at its deadline, and record the answers and the nodes' events in the side state.
pub async fn liveness(
    side: &Side,
    cluster: &Cluster,
    healed_at: u64,
    log: &EventLog,
) -> Result<(), String> {
    let events = node_events(cluster);
    let mut due: Vec<(u64, String)> = events
        .iter()
        .filter_map(|e| match e.action {
            NodeAction::Issued { ttl_ms, .. } => {
                Some((lease_deadline(e.at, ttl_ms, healed_at), e.lease_id.clone()))
            }
            _ => None,
        })
        .collect();
    due.sort();
    let mut finals = Vec::new();
    for (deadline, lease_id) in due {
        let wait = deadline.saturating_sub(now_ms());
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let serial = side
            .state
            .borrow()
            .leases
            .issued
            .iter()
            .find(|l| l.lease_id == lease_id)
            .map(|l| l.serial.clone());
        finals.push(ask(cluster, &lease_id, serial.as_deref()).await?);
    }
    log.record(format!(
        "leases: {} asked about after healing",
        finals.len()
    ));
    let events = node_events(cluster);
    for e in &events {
        log.record(format!("lease event: {e}"));
    }
    for f in &finals {
        log.record(format!("lease final: {f:?}"));
    }
    let mut state = side.state.borrow_mut();
    state.leases.node_events = events;
    state.leases.healed_at = healed_at;
    state.leases.finals = finals;
    Ok(())
}

/// Whether `lease_id` is gone (and its certificate revoked), asked through the active node.
async fn ask(
    cluster: &Cluster,
    lease_id: &str,
    serial: Option<&str>,
) -> Result<FinalLease, String> {
    let root = Some(cluster.root.as_str());
    for _ in 0..60 {
        let Some(active) = cluster.active() else {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        let checked_at = now_ms();
        let body = json!({"lease_id": lease_id});
        let r = active
            .call("PUT", "sys/leases/lookup", root, Some(body))
            .await;
        if r.status != 200 && r.status != 400 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        let mut cert_revoked = None;
        if let Some(serial) = serial {
            let c = active
                .call("GET", &format!("{PKI_MOUNT}/cert/{serial}"), root, None)
                .await;
            if c.status == 200 {
                cert_revoked = Some(c.body["data"]["revocation_time"].as_i64().unwrap_or(0) > 0);
            }
        }
        return Ok(FinalLease {
            lease_id: lease_id.to_string(),
            gone: r.status == 400,
            cert_revoked,
            checked_at,
        });
    }
    Err(format!(
        "the healed cluster never answered a lookup of lease {lease_id}"
    ))
}
