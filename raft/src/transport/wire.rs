//! How openraft messages travel: serde_json inside the `bytes` fields of `proto/raft.proto`,
//! and how failures map to gRPC statuses (server side) and back to openraft's errors (client
//! side, so openraft backs off from peers it cannot reach).

use std::time::Duration;

use openraft::errors::{NetworkError, RPCError, Timeout, Unreachable};
use openraft::network::RPCTypes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tonic::{Code, Status};

use crate::types::{SnapshotMeta, TypeConfig, Vote};

/// What the first [`SnapshotChunk`](super::proto::SnapshotChunk) of a snapshot carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SnapshotHeader {
    /// The sending leader's vote.
    pub vote: Vote,
    /// The snapshot's metadata.
    pub meta: SnapshotMeta,
}

/// Encode a message for a `payload` field.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, Status> {
    serde_json::to_vec(value).map_err(|e| Status::internal(format!("encode: {e}")))
}

/// Decode a `payload` field; a bad payload is the sender's fault.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Status> {
    serde_json::from_slice(bytes).map_err(|e| Status::invalid_argument(format!("decode: {e}")))
}

/// Server side: openraft refused to handle an RPC because it has stopped.
pub(crate) fn stopped(e: impl std::fmt::Display) -> Status {
    Status::unavailable(format!("raft: {e}"))
}

/// Who called whom, for openraft's timeout error.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call {
    pub action: RPCTypes,
    pub from: u64,
    pub target: u64,
    pub deadline: Duration,
}

/// Client side: a gRPC failure as openraft's error. Refused connections, failed handshakes and
/// stopped peers are `Unreachable` (openraft backs off longer); deadlines are `Timeout`; the rest
/// (a peer answering garbage) is `Network`.
pub(crate) fn rpc_error(call: Call, status: &Status) -> RPCError<TypeConfig> {
    match status.code() {
        Code::Unavailable => RPCError::Unreachable(Unreachable::new(status)),
        Code::DeadlineExceeded | Code::Cancelled => RPCError::Timeout(timeout(call)),
        _ => RPCError::Network(NetworkError::new(status)),
    }
}

/// The deadline of `call` passed.
pub(crate) fn timeout(call: Call) -> Timeout<TypeConfig> {
    Timeout {
        action: call.action,
        id: call.from,
        target: call.target,
        timeout: call.deadline,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> Call {
        Call {
            action: RPCTypes::Vote,
            from: 1,
            target: 2,
            deadline: Duration::from_millis(50),
        }
    }

    #[test]
    fn statuses_map_to_openraft_errors() {
        let unreachable = rpc_error(call(), &Status::unavailable("refused"));
        assert!(matches!(unreachable, RPCError::Unreachable(_)));
        let late = rpc_error(call(), &Status::deadline_exceeded("late"));
        assert!(matches!(late, RPCError::Timeout(t) if t.target == 2 && t.id == 1));
        let garbage = rpc_error(call(), &Status::invalid_argument("bad json"));
        assert!(matches!(garbage, RPCError::Network(_)));
    }

    #[test]
    fn payloads_round_trip_and_reject_garbage() {
        let bytes = encode(&vec![1u64, 2, 3]).unwrap();
        assert_eq!(decode::<Vec<u64>>(&bytes).unwrap(), vec![1, 2, 3]);
        let err = decode::<Vec<u64>>(b"not json").unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
    }
}
