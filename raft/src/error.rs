//! [`RaftError`], the one error callers of this crate see, and its mapping from openraft's.

use openraft::errors::{ClientWriteError, Fatal, InitializeError, LinearizableReadError};

use crate::engine::EngineError;
use crate::types::TypeConfig;

/// Why a Raft operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RaftError {
    /// This node is not the leader; the request belongs on the leader (when one is known).
    #[error("not the leader (leader: {leader_id:?} at {leader_addr:?})")]
    ForwardToLeader {
        /// The leader's node id, if known.
        leader_id: Option<u64>,
        /// The leader's API address, if known.
        leader_addr: Option<String>,
    },
    /// The cluster has no membership yet (`bootstrap_single` or a join has not happened).
    #[error("raft is not initialised")]
    NotInitialized,
    /// The write may or may not have been committed (its entry was dropped on a leader change);
    /// the caller must treat the outcome as unknown.
    #[error("write outcome unknown: {0}")]
    Indeterminate(String),
    /// A [`crate::Command::Fenced`] write was committed in another term than its fence, so it
    /// changed nothing (the writer's view of the data belonged to an earlier leadership).
    #[error("the leadership changed while the request ran; nothing was written")]
    FencedOut,
    /// A snapshot restore's commit found its staged pairs incomplete (another restore committed
    /// or it was aborted meanwhile): the data is unchanged.
    #[error("the restore was interrupted (another restore ran meanwhile); nothing was replaced")]
    RestoreIncomplete,
    /// Leadership could not be confirmed by a quorum.
    #[error("no quorum: {0}")]
    NoQuorum(String),
    /// Raft refused the request (membership change rules, failed precondition).
    #[error("rejected: {0}")]
    Rejected(String),
    /// The configuration is invalid.
    #[error("invalid raft configuration: {0}")]
    Config(String),
    /// The storage engine failed.
    #[error("storage: {0}")]
    Storage(String),
    /// A wait ran out of time.
    #[error("timed out")]
    Timeout,
    /// Raft has stopped (shut down).
    #[error("raft is stopped")]
    Stopped,
    /// Raft failed and must stop (a storage error inside Raft, a panic).
    #[error("raft fatal error: {0}")]
    Fatal(String),
}

impl From<EngineError> for RaftError {
    fn from(e: EngineError) -> Self {
        RaftError::Storage(e.to_string())
    }
}

impl From<Fatal<TypeConfig>> for RaftError {
    fn from(e: Fatal<TypeConfig>) -> Self {
        match e {
            Fatal::Stopped => RaftError::Stopped,
            other => RaftError::Fatal(other.to_string()),
        }
    }
}

type OpenraftError<E> = openraft::errors::RaftError<TypeConfig, E>;
type OpenraftForward = openraft::errors::ForwardToLeader<TypeConfig>;

fn forward(f: OpenraftForward) -> RaftError {
    // A leader whose quorum acks are older than its lease refuses writes until the next round
    // of acks: it is still the leader, so forwarding would be wrong. `RaftHandle::write` waits
    // for that round first, so this is left for a lease that lapses during the write's call.
    if f.reason == openraft::errors::ForwardReason::LeaseExpired {
        return RaftError::NoQuorum("the leader has no quorum ack within its lease".into());
    }
    RaftError::ForwardToLeader {
        leader_id: f.leader_id,
        leader_addr: f.leader_node.map(|n| n.api_addr),
    }
}

pub(crate) fn from_write(e: OpenraftError<ClientWriteError<TypeConfig>>) -> RaftError {
    match e {
        OpenraftError::Fatal(f) => f.into(),
        OpenraftError::APIError(api) => match api {
            ClientWriteError::ForwardToLeader(f) => forward(f),
            ClientWriteError::LogEntryDiscarded(f) => RaftError::Indeterminate(f.to_string()),
            other => RaftError::Rejected(other.to_string()),
        },
    }
}

pub(crate) fn from_read(e: OpenraftError<LinearizableReadError<TypeConfig>>) -> RaftError {
    match e {
        OpenraftError::Fatal(f) => f.into(),
        OpenraftError::APIError(LinearizableReadError::ForwardToLeader(f)) => forward(f),
        OpenraftError::APIError(LinearizableReadError::QuorumNotEnough(q)) => {
            RaftError::NoQuorum(q.to_string())
        }
    }
}

/// `Ok(())` when the node was already initialised: bootstrapping is idempotent.
pub(crate) fn from_initialize(
    e: OpenraftError<InitializeError<TypeConfig>>,
) -> Result<(), RaftError> {
    match e {
        OpenraftError::Fatal(f) => Err(f.into()),
        OpenraftError::APIError(InitializeError::NotAllowed(_)) => Ok(()),
        OpenraftError::APIError(other) => Err(RaftError::Rejected(other.to_string())),
    }
}
