//! [`RaftHandle::restore`]: a snapshot restore as many entries, none over the entry limit.

use std::collections::BTreeMap;

use super::RaftHandle;
use crate::error::RaftError;
use crate::types::Command;

impl RaftHandle {
    /// Replace the whole data space with `pairs` (a later pair for the same path wins), without
    /// a log entry over `chunk_bytes` bytes of paths and values (a single larger pair goes
    /// alone). The pairs are staged in chunks beside the data, invisible to reads, and one
    /// small commit swaps them in atomically; writes from other clients keep flowing between
    /// the chunks and land before the swap. On any failure what was staged is dropped (best
    /// effort: a commit of any later restore drops it too) and the data is unchanged.
    pub async fn restore(
        &self,
        pairs: Vec<(String, Vec<u8>)>,
        chunk_bytes: u64,
    ) -> Result<(), RaftError> {
        let pairs: BTreeMap<String, Vec<u8>> = pairs.into_iter().collect();
        let count = pairs.len() as u64;
        let id = getrandom::u64().map_err(|e| RaftError::Storage(e.to_string()))?;
        let staged = self.stage(id, pairs, chunk_bytes).await;
        let committed = match staged {
            Ok(chunks) => {
                tracing::debug!(restore = id, chunks, pairs = count, "restore staged");
                self.write(Command::CommitRestore { id, pairs: count })
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = committed {
            if let Err(abort) = self.write(Command::AbortRestore { id }).await {
                tracing::warn!(restore = id, error = %abort, "cannot drop a failed restore's staging");
            }
            return Err(e);
        }
        Ok(())
    }

    /// Stage `pairs` as entries of at most `chunk_bytes` each; returns how many.
    async fn stage(
        &self,
        id: u64,
        pairs: BTreeMap<String, Vec<u8>>,
        chunk_bytes: u64,
    ) -> Result<usize, RaftError> {
        let mut chunks = 0;
        let mut chunk = Vec::new();
        let mut size = 0u64;
        for (path, value) in pairs {
            let len = (path.len() + value.len()) as u64;
            if !chunk.is_empty() && size + len > chunk_bytes {
                let pairs = std::mem::take(&mut chunk);
                self.write(Command::StageRestore { id, pairs }).await?;
                chunks += 1;
                size = 0;
            }
            size += len;
            chunk.push((path, value));
        }
        if !chunk.is_empty() {
            self.write(Command::StageRestore { id, pairs: chunk })
                .await?;
            chunks += 1;
        }
        Ok(chunks)
    }
}
