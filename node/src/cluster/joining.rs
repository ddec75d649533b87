//! Joining a cluster, on both sides. The joining node asks the active node for a challenge
//! (`sys/storage/raft/bootstrap/challenge`) and keeps it; when an operator unseals the joining
//! node with the cluster's key shares, it answers (`.../bootstrap/answer`), the active node adds
//! it to Raft, and once its log has caught up it unseals from its own replicated records.
//!
//! A new node may take minutes to catch up on a large store (a snapshot to build, send and
//! install). Neither side holds a request open that long: the active node answers once the
//! node is a learner and promotes it to voter when it has caught up, and an unseal that the
//! log has not caught up with by [`UNSEAL_WAIT`] answers still sealed and finishes by itself.

use crate::api_client::post_json;
use crate::core::Core;
use crate::error::ApiError;
use crate::link::join::{self, ChallengeBundle};
use crate::link::{IssuedChallenge, PendingJoin};
use base64::Engine as _;
use coffer_raft::ClusterNode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// How long a joined node's unseal request waits for the log to catch up before it answers
/// (still sealed) and leaves the rest to [`Core::unseal_once_caught_up`]. With the challenge
/// and the answer before it, the request stays well below hvac's 30 s default timeout.
const UNSEAL_WAIT: Duration = Duration::from_secs(15);
/// How long a joined node waits in all for its log to catch up before it gives up unsealing.
const CATCH_UP_WAIT: Duration = Duration::from_secs(30 * 60);
/// How long the active node's answer waits for a new voter to catch up and be promoted
/// before it answers and leaves the promotion to a background task. Below the joining
/// node's call timeout (`api_client::CALL_TIMEOUT`).
const PROMOTE_IN_ANSWER: Duration = Duration::from_secs(5);

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

impl Core {
    /// Joining side: fetch a challenge from the active node at `leader_api_addr` and keep it.
    pub async fn request_join(
        self: &Arc<Self>,
        leader_api_addr: &str,
        leader_ca_pem: Option<String>,
        non_voter: bool,
    ) -> Result<(), ApiError> {
        let bundle = self
            .fetch_challenge(leader_api_addr, leader_ca_pem.as_deref(), non_voter)
            .await?;
        *self.link.pending_join.lock() = Some(PendingJoin {
            bundle,
            leader_api_addr: leader_api_addr.to_string(),
            leader_ca_pem,
            non_voter,
        });
        if self.storage.auto_seal.is_some() {
            // No operator needed: the node's own seal opens the challenge.
            return self.auto_join().await;
        }
        tracing::info!(
            leader = leader_api_addr,
            "received a join challenge; unseal to complete the join"
        );
        Ok(())
    }

    /// Joining side: ask the active node at `leader_api_addr` for a challenge.
    async fn fetch_challenge(
        &self,
        leader_api_addr: &str,
        leader_ca_pem: Option<&str>,
        non_voter: bool,
    ) -> Result<ChallengeBundle, ApiError> {
        let raft = self.raft_handle()?;
        let status = raft.metrics();
        let body = json!({
            "server_id": status.node_id.to_string(),
            "api_addr": self.config.api_addr.clone().unwrap_or_default(),
            "cluster_addr": self.config.advertised_cluster_addr(),
            "non_voter": non_voter,
        });
        let path = "sys/storage/raft/bootstrap/challenge";
        let (code, reply) = post_json(leader_api_addr, path, &body, leader_ca_pem)
            .await
            .map_err(|e| ApiError::bad(format!("failed to get raft challenge: {e}")))?;
        if code != 200 {
            return Err(ApiError::bad(format!(
                "failed to get raft challenge: {code} {reply}"
            )));
        }
        serde_json::from_value(reply)
            .map_err(|e| ApiError::bad(format!("malformed raft challenge: {e}")))
    }

    /// Joining side with an auto seal: answer the pending challenge with the seal, wait for the
    /// replicated records, unseal.
    async fn auto_join(self: &Arc<Self>) -> Result<(), ApiError> {
        let Some(seal) = self.storage.auto_seal.clone() else {
            return Err(ApiError::bad("this node has no auto seal"));
        };
        let guard = self.active.transition.lock().await;
        self.answer_join(seal.as_ref()).await?;
        drop(guard);
        // In the background (`retry_join`): no caller is waiting on an answer, and the
        // transition lock is free meanwhile (a seal-status or seal request is not held up).
        if !self.wait_for_replicated_seal(CATCH_UP_WAIT).await? {
            return Err(ApiError::Unavailable(
                "joined, but the log has not caught up yet".into(),
            ));
        }
        self.auto_unseal().await
    }

    /// Joining side, at unseal: answer the challenge with the rebuilt unseal key, wait until the
    /// replicated seal records arrive, then unseal from them. When they take longer than
    /// [`UNSEAL_WAIT`], answer still sealed and unseal in the background once they are here.
    pub(crate) async fn complete_join(self: &Arc<Self>, kek: &[u8]) -> Result<(), ApiError> {
        let seal = coffer_seal::ShamirSeal::new(kek).map_err(|_| ApiError::bad("invalid key"))?;
        self.answer_join(&seal).await?;
        if self.wait_for_replicated_seal(UNSEAL_WAIT).await? {
            return self.unseal_with_kek(kek).await;
        }
        tracing::info!("joined; the node unseals once its log has caught up");
        tokio::spawn(
            self.clone()
                .unseal_once_caught_up(zeroize::Zeroizing::new(kek.to_vec())),
        );
        Ok(())
    }

    /// The rest of [`Core::complete_join`] for a node whose log was slow to catch up.
    async fn unseal_once_caught_up(self: Arc<Self>, kek: zeroize::Zeroizing<Vec<u8>>) {
        match self.wait_for_replicated_seal(CATCH_UP_WAIT).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!("joined, but the log has not caught up; unseal again later");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "joined, but the replicated records are unreadable");
                return;
            }
        }
        let _guard = self.active.transition.lock().await;
        if !self.is_sealed() {
            return;
        }
        match self.unseal_with_kek(&kek).await {
            Ok(()) => tracing::info!("joined and caught up; unsealed"),
            Err(e) => tracing::warn!(error = %e, "joined and caught up, but unsealing failed"),
        }
    }

    /// Answer the pending challenge, opening it with `seal`. The active node then replicates
    /// to this one.
    async fn answer_join(self: &Arc<Self>, seal: &dyn coffer_seal::Seal) -> Result<(), ApiError> {
        let Some(mut pending) = self.link.pending_join.lock().take() else {
            return Err(ApiError::bad("Vault is not initialized"));
        };
        // The active node drops a challenge after `link::challenges::PENDING_TTL`, and an operator
        // may unseal this node long after it first asked: answer a fresh one.
        let fresh = self
            .fetch_challenge(
                &pending.leader_api_addr,
                pending.leader_ca_pem.as_deref(),
                pending.non_voter,
            )
            .await;
        match fresh {
            Ok(bundle) => pending.bundle = bundle,
            Err(e) => {
                *self.link.pending_join.lock() = Some(pending);
                return Err(ApiError::Unavailable(e.to_string()));
            }
        }
        let opened = match join::answer_with(&pending.bundle, seal).await {
            Ok(opened) => opened,
            Err(e) => {
                *self.link.pending_join.lock() = Some(pending);
                return Err(ApiError::bad(e.to_string()));
            }
        };
        // The active node replicates to this one as soon as it accepts the answer.
        self.enable_cluster_tls(&opened.cluster_tls).await?;
        let answer = b64().encode(&opened.answer[..]);
        let body = json!({ "server_id": pending.bundle.node_id, "answer": answer });
        let path = "sys/storage/raft/bootstrap/answer";
        let result = post_json(
            &pending.leader_api_addr,
            path,
            &body,
            pending.leader_ca_pem.as_deref(),
        )
        .await;
        match result {
            Ok((200, _)) => {}
            Ok((code, reply)) => {
                return Err(ApiError::bad(format!(
                    "join answer refused: {code} {reply}"
                )))
            }
            Err(e) => {
                *self.link.pending_join.lock() = Some(pending);
                return Err(ApiError::Unavailable(format!("join answer failed: {e}")));
            }
        }
        Ok(())
    }

    /// Whether the replicated seal records arrived within `wait`.
    async fn wait_for_replicated_seal(&self, wait: Duration) -> Result<bool, ApiError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let has_root = self.records().has_wrapped_root_key().await?;
            if has_root && self.is_initialized().await? {
                return Ok(true);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Active side: issue a challenge to a node that asks to join.
    pub async fn issue_join_challenge(
        &self,
        data: &serde_json::Map<String, Value>,
    ) -> Result<Value, ApiError> {
        let f = crate::fields::Fields(data);
        let server_id = f.str_req("server_id")?;
        server_id
            .parse::<u64>()
            .map_err(|_| ApiError::bad("server_id must be a number"))?;
        let member = ClusterNode {
            api_addr: f.str_opt("api_addr")?.unwrap_or_default(),
            cluster_addr: f.str_req("cluster_addr")?,
        };
        let non_voter = f.bool_or("non_voter", false)?;
        if self.storage.barrier.is_sealed() || !self.is_active() {
            return Err(ApiError::Unavailable(
                "this node is not the active node".into(),
            ));
        }
        let config = self
            .seal_config()
            .await?
            .ok_or_else(|| ApiError::bad("not initialized"))?;
        let wrapped = self.records().wrapped_root_key().await?;
        let (bundle, expected) = join::issue(&self.storage.barrier, &server_id, config, wrapped)
            .await
            .map_err(ApiError::internal)?;
        let issued = IssuedChallenge {
            expected,
            member,
            non_voter,
        };
        self.link
            .challenges
            .lock()
            .insert(server_id, issued, crate::clock::now())
            .map_err(|_| ApiError::TooManyRequests("too many pending join challenges".into()))?;
        serde_json::to_value(&bundle).map_err(ApiError::internal)
    }

    /// Active side: check an answer and add the node to Raft.
    pub async fn accept_join_answer(
        &self,
        data: &serde_json::Map<String, Value>,
    ) -> Result<(), ApiError> {
        let f = crate::fields::Fields(data);
        let server_id = f.str_req("server_id")?;
        let answer = b64()
            .decode(f.str_req("answer")?)
            .map_err(|_| ApiError::bad("answer must be base64"))?;
        let issued = self
            .link
            .challenges
            .lock()
            .take(&server_id, crate::clock::now())
            .ok_or_else(|| ApiError::bad("no unexpired challenge was issued to this node"))?;
        issued
            .expected
            .check(&answer)
            .map_err(|_| ApiError::PermissionDenied)?;
        let raft = self.raft_handle()?;
        let id: u64 = server_id
            .parse()
            .map_err(|_| ApiError::bad("bad server_id"))?;
        raft.add_learner(id, issued.member.clone())
            .await
            .map_err(|e| ApiError::Unavailable(format!("adding node {id}: {e}")))?;
        tracing::info!(node = id, "node joined the cluster as a non-voter");
        if !issued.non_voter {
            promote_when_caught_up(raft.clone(), id, issued.member).await;
        }
        Ok(())
    }
}

/// Promote learner `id` to voter once it has caught up: within the join answer when that is
/// quick (a small store), else in a background task that waits up to [`CATCH_UP_WAIT`]. A
/// leadership change before then leaves it a non-voter, as `sys/storage/raft/autopilot/state`
/// shows.
async fn promote_when_caught_up(raft: coffer_raft::RaftHandle, id: u64, member: ClusterNode) {
    let promotion = tokio::spawn(async move {
        match raft.add_voter(id, member, CATCH_UP_WAIT).await {
            Ok(()) => tracing::info!(node = id, "caught up; promoted to voter"),
            Err(e) => tracing::warn!(node = id, error = %e, "not promoted to voter"),
        }
    });
    if tokio::time::timeout(PROMOTE_IN_ANSWER, promotion)
        .await
        .is_err()
    {
        tracing::info!(
            node = id,
            "catching up; promotion to voter continues in the background"
        );
    }
}

/// Keep asking each `retry_join` leader for a challenge until one answers (or the node gets
/// initialised some other way).
pub async fn retry_join(core: Arc<Core>, leaders: Vec<crate::config::RetryJoin>) {
    loop {
        // A Shamir node waits for its operator once it holds a challenge; an auto-sealed one
        // answers by itself, so it keeps trying until it has joined.
        let waiting_for_operator =
            core.storage.auto_seal.is_none() && core.link.pending_join.lock().is_some();
        if waiting_for_operator || core.is_initialized().await.unwrap_or(false) {
            return;
        }
        for leader in &leaders {
            let ca = leader
                .leader_ca_cert_file
                .as_ref()
                .and_then(|p| std::fs::read_to_string(p).ok());
            match core.request_join(&leader.leader_api_addr, ca, false).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::debug!(leader = %leader.leader_api_addr, error = %e, "retry_join")
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
