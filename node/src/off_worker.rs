//! CPU-bound work (password hashing, key generation, snapshot archives) on tokio's blocking
//! pool. On an async worker it would stall every task scheduled there, Raft's heartbeats among
//! them, so a leader could let its lease lapse. Under simulation madsim runs the closure inline.

/// Run `work` on the blocking pool and wait for its result.
pub async fn off_worker<T, F>(work: F) -> Result<T, tokio::task::JoinError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    #[allow(deprecated)] // madsim deprecates it to discourage blocking; there it runs inline.
    let running = tokio::task::spawn_blocking(work);
    running.await
}
