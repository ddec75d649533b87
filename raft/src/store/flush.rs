//! [`Flusher`]: the Raft log's group commit.
//!
//! openraft asks `append` to return as soon as the entries are readable and to report them
//! durable later, through a callback, so its core never waits on a disk flush. `LogStore::append`
//! therefore writes the entries unsynced and hands the callback here. One task takes every
//! callback queued since its last round, makes the engine durable with a single sync, and then
//! reports them flushed in the order they came: one fsync covers however many appends arrived
//! while the previous one ran, and nothing is reported durable before it is.

use std::io;

use openraft::storage::IOFlushed;
use tokio::sync::mpsc;

use super::Storage;
use crate::types::TypeConfig;

/// The sending side; cloning shares the one flushing task. The task ends once every clone is
/// dropped, and holds a [`Storage`] clone (its lease) until then.
#[derive(Clone)]
pub(crate) struct Flusher {
    tx: mpsc::UnboundedSender<IOFlushed<TypeConfig>>,
}

impl Flusher {
    /// Start the flushing task on the current runtime.
    pub(crate) fn start(storage: Storage) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(flush_rounds(storage, rx));
        Flusher { tx }
    }

    /// Report `callback` flushed once every write made before this call is durable.
    pub(crate) fn after_next_sync(&self, callback: IOFlushed<TypeConfig>) -> io::Result<()> {
        self.tx
            .send(callback)
            .map_err(|_| io::Error::other("the Raft log flusher has stopped"))
    }
}

async fn flush_rounds(storage: Storage, mut rx: mpsc::UnboundedReceiver<IOFlushed<TypeConfig>>) {
    let mut waiting = Vec::new();
    while rx.recv_many(&mut waiting, usize::MAX).await > 0 {
        let synced = storage.sync().await;
        for callback in waiting.drain(..) {
            let result = match &synced {
                Ok(()) => Ok(()),
                Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
            };
            callback.io_completed(result);
        }
    }
}
