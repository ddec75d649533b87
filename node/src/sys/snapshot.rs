//! `sys/storage/raft/snapshot` (save and restore) and `sys/storage/raft/snapshot-force`
//! (restore without the cluster check), on the active node.
//!
//! # Archive format (`COFFER-SNAPSHOT-1`)
//!
//! A UTF-8 text archive, served as `application/octet-stream`:
//!
//! ```text
//! COFFER-SNAPSHOT-1\n
//! {"cluster_id":"…","term":T,"index":I,"pairs":N,"sha256":"<hex>"}\n
//! {"k":"<storage path>","v":"<base64 of the stored bytes>"}\n      (N lines, key order)
//! ```
//!
//! The first line is the magic, the second the header (one JSON object on one line), and the rest,
//! byte for byte, is the payload: one JSON object per data pair, each line ending in `\n`.
//! `sha256` is the lower-case hex SHA-256 of the payload bytes. The values are what the storage
//! holds — barrier ciphertext (plus the plain `core/seal-config` and `core/root-key` records) —
//! so the archive needs the cluster's unseal keys to be of any use.
//!
//! Restore takes the archive as the request body, as Vault's does (the HTTP layer keeps the raw
//! body for these two paths), checks magic, header, pair count and checksum (and, except on
//! `snapshot-force`, that the header's `cluster_id` is this cluster's), then hands the pairs to
//! [`RaftHandle::restore`]: staged in entries no larger than `max_entry_size`, then swapped in
//! atomically by one small commit, so a restore of any size never stalls replication. Then it
//! reloads the keyring and the active state. A bad archive is refused with 400 before anything
//! changes.

use super::is_write;
use crate::core::Core;
use crate::error::ApiError;
use crate::off_worker::off_worker;
use crate::request::{Operation, Request, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use coffer_raft::RaftHandle;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Storage paths and their stored bytes.
type Pairs = Vec<(String, Vec<u8>)>;

/// The archive's first line, newline included.
pub const MAGIC: &str = "COFFER-SNAPSHOT-1\n";

/// The archive's second line.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    cluster_id: String,
    term: u64,
    index: u64,
    pairs: u64,
    sha256: String,
}

/// One payload line.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    k: String,
    v: String,
}

/// `sys/storage/raft/snapshot` (GET: save; POST/PUT: restore) and
/// `sys/storage/raft/snapshot-force` (POST/PUT: restore from another cluster).
pub async fn handle(
    core: &Arc<Core>,
    req: &Request,
    force: bool,
) -> Result<Option<Response>, ApiError> {
    match req.operation {
        Operation::Read if !force => save(core).await,
        _ if is_write(req) => restore(core, req, force).await,
        _ => Err(ApiError::UnsupportedOperation),
    }
}

async fn save(core: &Arc<Core>) -> Result<Option<Response>, ApiError> {
    let raft = core.raft_handle()?;
    raft.ensure_linearizable()
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let metrics = raft.metrics();
    let pairs = raft.export_data().await.map_err(ApiError::internal)?;
    let count = pairs.len();
    let cluster_id = core.cluster_info().map(|c| c.id).unwrap_or_default();
    let (term, index) = (
        metrics.current_term,
        metrics.last_applied_index.unwrap_or(0),
    );
    // Seconds of hashing and encoding for a large store: not on an async worker, where it
    // would hold up Raft's heartbeats (`off_worker`).
    let encoding = off_worker(move || encode(&cluster_id, term, index, &pairs));
    let archive = encoding.await.map_err(ApiError::internal)??;
    tracing::info!(pairs = count, "snapshot saved");
    Ok(Some(Response::text("application/octet-stream", archive)))
}

/// Build an archive of `pairs`.
fn encode(
    cluster_id: &str,
    term: u64,
    index: u64,
    pairs: &[(String, Vec<u8>)],
) -> Result<String, ApiError> {
    let mut payload = String::new();
    for (k, v) in pairs {
        let line = Line {
            k: k.clone(),
            v: STANDARD.encode(v),
        };
        payload.push_str(&serde_json::to_string(&line).map_err(ApiError::internal)?);
        payload.push('\n');
    }
    let header = Header {
        cluster_id: cluster_id.to_string(),
        term,
        index,
        pairs: pairs.len() as u64,
        sha256: hex::encode(Sha256::digest(payload.as_bytes())),
    };
    let header = serde_json::to_string(&header).map_err(ApiError::internal)?;
    Ok(format!("{MAGIC}{header}\n{payload}"))
}

/// Check and unpack an archive; every failure is a 400.
fn decode(archive: &str) -> Result<(Header, Pairs), ApiError> {
    let bad = |why: &str| ApiError::bad(format!("invalid snapshot: {why}"));
    let rest = archive
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("not a Coffer snapshot"))?;
    let (header, payload) = rest.split_once('\n').ok_or_else(|| bad("missing header"))?;
    let header: Header = serde_json::from_str(header).map_err(|_| bad("malformed header"))?;
    let digest = hex::encode(Sha256::digest(payload.as_bytes()));
    if digest != header.sha256.to_ascii_lowercase() {
        return Err(bad("checksum mismatch"));
    }
    let mut pairs = Vec::new();
    if !payload.is_empty() {
        let body = payload
            .strip_suffix('\n')
            .ok_or_else(|| bad("truncated payload"))?;
        for line in body.split('\n') {
            let line: Line = serde_json::from_str(line).map_err(|_| bad("malformed payload"))?;
            let value = STANDARD
                .decode(&line.v)
                .map_err(|_| bad("malformed payload"))?;
            pairs.push((line.k, value));
        }
    }
    if pairs.len() as u64 != header.pairs {
        return Err(bad("pair count mismatch"));
    }
    Ok((header, pairs))
}

async fn restore(
    core: &Arc<Core>,
    req: &Request,
    force: bool,
) -> Result<Option<Response>, ApiError> {
    let raft = core.raft_handle()?;
    let body = req.raw_body.clone().unwrap_or_default();
    // Checking and unpacking a large archive takes seconds: on the blocking pool, or this
    // leader's heartbeats would stall and a follower would take over mid-restore.
    let decoding = off_worker(move || {
        let archive = std::str::from_utf8(&body)
            .map_err(|_| ApiError::bad("invalid snapshot: not a Coffer snapshot"))?;
        decode(archive)
    });
    let (header, pairs) = decoding.await.map_err(ApiError::internal)??;
    if !force {
        let ours = core.cluster_info().map(|c| c.id).unwrap_or_default();
        if header.cluster_id != ours {
            return Err(ApiError::bad(
                "snapshot is from a different cluster; use sys/storage/raft/snapshot-force to \
                 restore it anyway",
            ));
        }
    }
    if !pairs
        .iter()
        .any(|(k, _)| k == crate::records::SEAL_CONFIG_PATH)
    {
        return Err(ApiError::bad(
            "invalid snapshot: it holds no seal configuration",
        ));
    }
    let count = pairs.len();
    raft.restore(pairs, core.config.max_entry_size())
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    tracing::info!(
        pairs = count,
        index = header.index,
        force,
        "snapshot restored"
    );
    if let Err(e) = reload(core, raft).await {
        // The data is restored but this node cannot read it with the keys it holds (a snapshot
        // of another cluster): seal, so an operator unseals with the snapshot's keys.
        tracing::warn!(error = %e, "cannot reload after restore; sealing");
        core.seal().await;
        let mut resp = Response::default();
        resp.warnings.push(format!(
            "snapshot restored, but this node could not reload it ({e}); it is sealed: unseal \
             it with the snapshot's unseal keys"
        ));
        return Ok(Some(resp));
    }
    Ok(None)
}

/// Re-read the keyring and the active state (mounts, tokens, policies) from the restored data.
async fn reload(core: &Arc<Core>, raft: &RaftHandle) -> Result<(), ApiError> {
    let _guard = core.active.transition.lock().await;
    core.storage.barrier.reset_keyring().await?;
    let term = raft.metrics().current_term;
    let state = Arc::new(core.load_active_state(term).await?);
    core.active.set(Some(state.clone()));
    core.start_lease_expiry(&state);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs() -> Pairs {
        vec![
            ("core/seal-config".into(), b"{}".to_vec()),
            ("logical/x".into(), vec![0, 1, 255]),
        ]
    }

    #[test]
    fn archive_round_trips() {
        let text = encode("cid", 3, 42, &pairs()).unwrap();
        assert!(text.starts_with(MAGIC));
        let (header, back) = decode(&text).unwrap();
        assert_eq!(header.cluster_id, "cid");
        assert_eq!((header.term, header.index, header.pairs), (3, 42, 2));
        assert_eq!(back, pairs());
        let empty = encode("cid", 1, 1, &[]).unwrap();
        assert!(decode(&empty).unwrap().1.is_empty());
    }

    #[test]
    fn tampering_is_refused() {
        let text = encode("cid", 3, 42, &pairs()).unwrap();
        let at = text.rfind("logical/x").unwrap();
        let mut bytes = text.clone().into_bytes();
        bytes[at] = b'L';
        let tampered = String::from_utf8(bytes).unwrap();
        let err = decode(&tampered).unwrap_err();
        assert!(err.to_string().contains("checksum"), "{err}");
        assert!(decode(&text[1..]).is_err(), "magic");
        assert!(decode(&format!("{MAGIC}{{}}\n")).is_err(), "header");
        let truncated = &text[..text.len() - 1];
        assert!(decode(truncated).is_err(), "truncated");
    }
}
