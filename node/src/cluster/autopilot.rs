//! Autopilot: the health of each Raft member as the active node sees it, and dead-server cleanup
//! (`sys/storage/raft/autopilot/{state,configuration}`). The judgement is a plain function over
//! membership and replication figures; the loop that acts on it runs on the active node only.

use crate::core::Core;
use crate::duration::go_format;
use crate::error::ApiError;
use coffer_raft::{ClusterMember, PeerHealth};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// Barrier record of the autopilot configuration.
const CONFIG_PATH: &str = "core/raft/autopilot";
/// How often the active node looks for dead servers.
const CLEANUP_INTERVAL: Duration = Duration::from_secs(10);

/// Vault's autopilot configuration (durations in seconds).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AutopilotConfig {
    pub cleanup_dead_servers: bool,
    pub last_contact_threshold_secs: u64,
    pub dead_server_last_contact_threshold_secs: u64,
    pub max_trailing_logs: u64,
    pub min_quorum: u64,
    pub server_stabilization_time_secs: u64,
}

impl Default for AutopilotConfig {
    fn default() -> Self {
        AutopilotConfig {
            cleanup_dead_servers: false,
            last_contact_threshold_secs: 10,
            dead_server_last_contact_threshold_secs: 24 * 3600,
            max_trailing_logs: 1000,
            min_quorum: 0,
            server_stabilization_time_secs: 10,
        }
    }
}

impl AutopilotConfig {
    /// Vault's JSON shape.
    pub fn to_json(&self) -> Value {
        json!({
            "cleanup_dead_servers": self.cleanup_dead_servers,
            "last_contact_threshold": go_format(self.last_contact_threshold_secs),
            "dead_server_last_contact_threshold": go_format(self.dead_server_last_contact_threshold_secs),
            "max_trailing_logs": self.max_trailing_logs,
            "min_quorum": self.min_quorum,
            "server_stabilization_time": go_format(self.server_stabilization_time_secs),
        })
    }

    /// Apply a write body; every field is validated before any is set.
    pub fn apply(&mut self, data: &Map<String, Value>) -> Result<(), ApiError> {
        let f = crate::fields::Fields(data);
        let mut next = self.clone();
        next.cleanup_dead_servers = f.bool_or("cleanup_dead_servers", next.cleanup_dead_servers)?;
        if let Some(s) = f.secs_opt("last_contact_threshold")? {
            next.last_contact_threshold_secs = s;
        }
        if let Some(s) = f.secs_opt("dead_server_last_contact_threshold")? {
            next.dead_server_last_contact_threshold_secs = s;
        }
        if let Some(s) = f.secs_opt("server_stabilization_time")? {
            next.server_stabilization_time_secs = s;
        }
        if let Some(n) = f.str_opt("max_trailing_logs")? {
            next.max_trailing_logs = n
                .parse()
                .map_err(|_| ApiError::bad("max_trailing_logs must be a number"))?;
        }
        if let Some(n) = f.str_opt("min_quorum")? {
            next.min_quorum = n
                .parse()
                .map_err(|_| ApiError::bad("min_quorum must be a number"))?;
        }
        if next.cleanup_dead_servers && next.min_quorum < 3 {
            return Err(ApiError::bad(
                "min_quorum must be at least 3 when cleanup_dead_servers is set",
            ));
        }
        *self = next;
        Ok(())
    }
}

/// One member's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerHealth {
    pub member: ClusterMember,
    pub leader: bool,
    pub healthy: bool,
    pub last_contact_ms: Option<u64>,
    pub last_index: Option<u64>,
}

/// Judge every member from the leader's figures: the leader is healthy; a follower is healthy when
/// it acknowledged within `last_contact_threshold` and trails by at most `max_trailing_logs`.
pub fn judge(
    members: &[ClusterMember],
    peers: &[PeerHealth],
    leader_id: u64,
    leader_last_index: u64,
    config: &AutopilotConfig,
) -> Vec<ServerHealth> {
    members
        .iter()
        .map(|m| {
            if m.node_id == leader_id {
                return ServerHealth {
                    member: m.clone(),
                    leader: true,
                    healthy: true,
                    last_contact_ms: Some(0),
                    last_index: Some(leader_last_index),
                };
            }
            let peer = peers.iter().find(|p| p.node_id == m.node_id);
            let contact = peer.and_then(|p| p.since_last_ack_ms);
            let index = peer.and_then(|p| p.matched_index);
            let fresh = contact.is_some_and(|ms| ms <= config.last_contact_threshold_secs * 1000);
            let caught_up = index
                .is_some_and(|i| leader_last_index.saturating_sub(i) <= config.max_trailing_logs);
            ServerHealth {
                member: m.clone(),
                leader: false,
                healthy: fresh && caught_up,
                last_contact_ms: contact,
                last_index: index,
            }
        })
        .collect()
}

/// Voters that have not been heard from for longer than the dead-server threshold, as many as
/// can go while `min_quorum` voters remain.
pub fn dead_voters(health: &[ServerHealth], config: &AutopilotConfig) -> Vec<u64> {
    if !config.cleanup_dead_servers {
        return Vec::new();
    }
    let voters = health.iter().filter(|h| h.member.voter).count() as u64;
    let limit_ms = config.dead_server_last_contact_threshold_secs * 1000;
    let removable = voters.saturating_sub(config.min_quorum) as usize;
    health
        .iter()
        .filter(|h| h.member.voter && !h.leader)
        .filter(|h| h.last_contact_ms.is_none_or(|ms| ms > limit_ms))
        .map(|h| h.member.node_id)
        .take(removable)
        .collect()
}

impl Core {
    /// The stored autopilot configuration (or the defaults).
    pub async fn autopilot_config(&self) -> Result<AutopilotConfig, ApiError> {
        Ok(self
            .view("")
            .get_json(CONFIG_PATH)
            .await?
            .unwrap_or_default())
    }

    /// Store a new autopilot configuration.
    pub async fn set_autopilot_config(&self, config: &AutopilotConfig) -> Result<(), ApiError> {
        self.view("").put_json(CONFIG_PATH, config).await
    }

    /// The members' health as this (active) node sees it.
    pub async fn autopilot_health(&self) -> Result<Vec<ServerHealth>, ApiError> {
        let raft = self.raft_handle()?;
        let status = raft.metrics();
        let config = self.autopilot_config().await?;
        let last = status.last_log_index.unwrap_or(0);
        Ok(judge(
            &raft.membership(),
            &raft.peer_health(),
            status.node_id,
            last,
            &config,
        ))
    }
}

/// Vault's `autopilot/state` body.
pub fn state_json(health: &[ServerHealth]) -> Value {
    let voters: Vec<String> = health
        .iter()
        .filter(|h| h.member.voter)
        .map(|h| h.member.node_id.to_string())
        .collect();
    let healthy_voters = health
        .iter()
        .filter(|h| h.member.voter && h.healthy)
        .count();
    let quorum = voters.len() / 2 + 1;
    let mut servers = Map::new();
    for h in health {
        let id = h.member.node_id.to_string();
        let status = if h.leader {
            "leader"
        } else if h.member.voter {
            "voter"
        } else {
            "non-voter"
        };
        servers.insert(id.clone(), json!({
            "id": id,
            "name": id,
            "address": h.member.node.cluster_addr,
            "node_status": if h.healthy { "alive" } else { "unknown" },
            "last_contact": h.last_contact_ms.map(|ms| format!("{}ms", ms)).unwrap_or_else(|| "never".into()),
            "last_index": h.last_index.unwrap_or(0),
            "healthy": h.healthy,
            "status": status,
            "node_type": if h.member.voter { "voter" } else { "non-voter" },
        }));
    }
    json!({
        "healthy": health.iter().all(|h| h.healthy),
        "failure_tolerance": healthy_voters.saturating_sub(quorum),
        "leader": health.iter().find(|h| h.leader).map(|h| h.member.node_id.to_string()),
        "voters": voters,
        "servers": servers,
    })
}

/// The active node's cleanup loop: removes voters dead for longer than the threshold.
pub async fn cleanup_loop(core: Arc<Core>) {
    loop {
        tokio::time::sleep(CLEANUP_INTERVAL).await;
        if core.storage.barrier.is_sealed() || !core.is_active() {
            continue;
        }
        let (Ok(config), Ok(health)) =
            (core.autopilot_config().await, core.autopilot_health().await)
        else {
            continue;
        };
        for id in dead_voters(&health, &config) {
            let Some(raft) = core.storage.raft.as_ref() else {
                return;
            };
            match raft.remove_node(id).await {
                Ok(()) => tracing::info!(node = id, "autopilot removed a dead server"),
                Err(e) => {
                    tracing::warn!(node = id, error = %e, "autopilot could not remove a dead server")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_raft::ClusterNode;

    fn member(id: u64, voter: bool) -> ClusterMember {
        ClusterMember {
            node_id: id,
            node: ClusterNode {
                api_addr: String::new(),
                cluster_addr: format!("n{id}"),
            },
            voter,
        }
    }

    fn peer(id: u64, index: u64, ms: Option<u64>) -> PeerHealth {
        PeerHealth {
            node_id: id,
            matched_index: Some(index),
            since_last_ack_ms: ms,
        }
    }

    #[test]
    fn fresh_caught_up_followers_are_healthy_and_silent_ones_are_not() {
        let members = [member(1, true), member(2, true), member(3, true)];
        let peers = [peer(2, 100, Some(50)), peer(3, 100, Some(60_000))];
        let h = judge(&members, &peers, 1, 100, &AutopilotConfig::default());
        assert_eq!(
            h.iter().map(|s| s.healthy).collect::<Vec<_>>(),
            vec![true, true, false]
        );
        let state = state_json(&h);
        assert_eq!(state["leader"], "1");
        assert_eq!(state["healthy"], false);
        assert_eq!(state["failure_tolerance"], 0);
    }

    #[test]
    fn a_lagging_follower_is_unhealthy() {
        let members = [member(1, true), member(2, true)];
        let h = judge(
            &members,
            &[peer(2, 10, Some(5))],
            1,
            5000,
            &AutopilotConfig::default(),
        );
        assert!(!h[1].healthy);
    }

    #[test]
    fn cleanup_removes_only_dead_voters_and_keeps_min_quorum() {
        let members = [
            member(1, true),
            member(2, true),
            member(3, true),
            member(4, true),
        ];
        let config = AutopilotConfig {
            cleanup_dead_servers: true,
            min_quorum: 3,
            dead_server_last_contact_threshold_secs: 60,
            ..Default::default()
        };
        let peers = [
            peer(2, 1, Some(10)),
            peer(3, 1, Some(120_000)),
            peer(4, 1, None),
        ];
        let h = judge(&members, &peers, 1, 1, &config);
        assert_eq!(
            dead_voters(&h, &config).len(),
            1,
            "only one may go while 3 voters remain"
        );
        assert!(
            dead_voters(&h, &AutopilotConfig::default()).is_empty(),
            "cleanup off by default"
        );
    }

    #[test]
    fn config_validates_before_applying() {
        let mut config = AutopilotConfig::default();
        let bad = serde_json::json!({"cleanup_dead_servers": true, "min_quorum": "1"});
        assert!(config.apply(bad.as_object().unwrap()).is_err());
        assert_eq!(config, AutopilotConfig::default());
        let good = serde_json::json!({"cleanup_dead_servers": true, "min_quorum": 3, "dead_server_last_contact_threshold": "1m"});
        config.apply(good.as_object().unwrap()).unwrap();
        assert_eq!(config.dead_server_last_contact_threshold_secs, 60);
        assert_eq!(
            config.to_json()["dead_server_last_contact_threshold"],
            "1m0s"
        );
    }
}
