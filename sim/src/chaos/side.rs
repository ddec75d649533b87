//! The workload besides KV: limited-use tokens used and revoked, a policy rewritten under
//! requests judged by it, transit encryptions under key rotations, leased certificates. The clients share this
//! state; what they saw goes into the histories the checkers in [`crate::check`] read.

use super::{Cluster, EventLog};
use crate::history::{LeaseHistory, PolicyHistory, TokenHistory};
use serde_json::json;
use std::cell::RefCell;
use std::rc::Rc;

/// The transit mount and key the workload encrypts with.
pub const TRANSIT_MOUNT: &str = "transit";
pub const TRANSIT_KEY: &str = "sim";
/// The policy rewritten under requests.
pub const POLICY: &str = "sim-flip";
/// The policy of the limited-use tokens: read on [`USE_PATH`], which holds a value.
pub const USE_POLICY: &str = "sim-use";
pub const USE_PATH: &str = "secret/data/use/x";

/// The token the clients are using now.
#[derive(Clone)]
pub struct LiveToken {
    pub index: u64,
    pub id: String,
    pub accessor: String,
    /// Uses and revocations sent with it so far; past a few more than its uses a fresh token
    /// takes its place.
    pub attempts: u64,
}

/// Shared by the clients of one run.
#[derive(Default)]
pub struct SideState {
    pub tokens: TokenHistory,
    pub live: Option<LiveToken>,
    pub policy: PolicyHistory,
    /// The newest policy version acknowledged so far.
    pub policy_acked: u64,
    /// A token holding only [`POLICY`] (and `default`).
    pub policy_token: String,
    /// Acknowledged encryptions: (plaintext, ciphertext).
    pub encrypted: Vec<(String, String)>,
    /// Leased certificates, revocations asked for, and (after healing) what the nodes did.
    pub leases: LeaseHistory,
}

/// Handle on the shared state.
#[derive(Clone, Default)]
pub struct Side {
    pub state: Rc<RefCell<SideState>>,
}

/// Version `version` of the policy: read on its own path under `secret/data/pol/`, nothing else.
pub fn policy_text(version: u64) -> String {
    format!(
        "# {POLICY} version {version}\npath \"{}\" {{\n  capabilities = [\"read\"]\n}}\n",
        policy_path(version)
    )
}

/// The path version `version` of the policy grants read on.
pub fn policy_path(version: u64) -> String {
    format!("{}/data/pol/v{version}", super::cluster::MOUNT)
}

impl Side {
    /// Before the workload: transit mounted with its key, PKI with its leasing role, the limited-use tokens' policy and
    /// the value they read, version 0 of the policy written (acknowledged at time 0 as far as
    /// the checker is concerned), a token holding it.
    pub async fn setup(cluster: &Cluster, log: &EventLog) -> Side {
        let members = cluster.members();
        let node = &members[0];
        let root = Some(cluster.root.as_str());
        let call = |method: &'static str, path: String, body: serde_json::Value| async move {
            let r = node.call(method, &path, root, Some(body)).await;
            assert!(
                r.status / 100 == 2,
                "{method} {path}: {} {:?}",
                r.status,
                r.body
            );
            r
        };
        call(
            "POST",
            format!("sys/mounts/{TRANSIT_MOUNT}"),
            json!({"type": "transit"}),
        )
        .await;
        call(
            "POST",
            format!("{TRANSIT_MOUNT}/keys/{TRANSIT_KEY}"),
            json!({}),
        )
        .await;
        let text = format!("path \"{USE_PATH}\" {{\n  capabilities = [\"read\"]\n}}\n");
        call(
            "PUT",
            format!("sys/policies/acl/{USE_POLICY}"),
            json!({"policy": text}),
        )
        .await;
        call("POST", USE_PATH.into(), json!({"data": {"v": "used"}})).await;
        let text = policy_text(0);
        call(
            "PUT",
            format!("sys/policies/acl/{POLICY}"),
            json!({"policy": text}),
        )
        .await;
        super::leases::setup(node, &cluster.root).await;
        let created = call(
            "POST",
            "auth/token/create".into(),
            json!({"policies": [POLICY]}),
        )
        .await;
        let token = created.body["auth"]["client_token"]
            .as_str()
            .unwrap_or_default();
        assert!(!token.is_empty(), "no policy token: {:?}", created.body);
        let mut state = SideState {
            policy_token: token.to_string(),
            ..SideState::default()
        };
        state.policy.writes.push(crate::history::PolicyWrite {
            version: 0,
            invoked_at: 0,
            completed_at: Some(0),
            acknowledged: true,
        });
        log.record("side: transit key, policy version 0 and its token ready");
        Side {
            state: Rc::new(RefCell::new(state)),
        }
    }
}

/// How long a client waits for one answer before it counts the call as unknown.
const DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

/// One call with the workload's deadline; no answer in time is status 0, like a dropped one.
pub async fn call(
    host: &crate::ClientHost,
    via: &crate::SimNode,
    method: &str,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> crate::Reply {
    let sent = host.call(via, method, path, Some(token), body);
    tokio::time::timeout(DEADLINE, sent)
        .await
        .unwrap_or(crate::Reply {
            status: 0,
            body: serde_json::Value::Null,
        })
}
