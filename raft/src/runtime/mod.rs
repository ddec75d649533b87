//! [`CofferRuntime`]: openraft's `AsyncRuntime`, written once against the renamed `tokio` crate.
//!
//! Outside simulation `tokio` is the real tokio; under `--cfg madsim` it is madsim-tokio, whose
//! spawn, time and `spawn_blocking` are simulated (the latter runs the closure as an ordinary
//! task, i.e. inline on the simulator's single thread). The code here is identical in both
//! builds. It never spawns an OS thread of its own, never reads the wall clock, and draws
//! randomness only from getrandom 0.3 ([`CofferRng`]).

mod instant;
mod rng;
mod sync;
mod timeout;
mod watch;

use std::future::Future;
use std::io;
use std::time::Duration;

use openraft_rt::{AsyncRuntime, OptionalSend};

pub use instant::CofferInstant;
pub use rng::CofferRng;
pub use sync::{CofferMpsc, CofferMutex, CofferOneshot, MpscRx, MpscTx, MpscWeakTx, OneshotTx};
pub use timeout::{Elapsed, Timeout};
pub use watch::{CofferWatch, WatchRx, WatchTx};

/// openraft's runtime for Coffer; see the module docs.
///
/// The value itself only matters for [`AsyncRuntime::new`] / [`AsyncRuntime::block_on`], which
/// openraft never calls (they exist for runtime conformance tests). In production and tests the
/// caller's tokio (or madsim) runtime drives everything; under madsim `block_on` is unsupported.
pub struct CofferRuntime {
    rt: tokio::runtime::Runtime,
}

impl std::fmt::Debug for CofferRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CofferRuntime")
    }
}

impl AsyncRuntime for CofferRuntime {
    type JoinError = tokio::task::JoinError;
    type JoinHandle<T: OptionalSend + 'static> = tokio::task::JoinHandle<T>;
    type Sleep = tokio::time::Sleep;
    type Instant = CofferInstant;
    type TimeoutError = Elapsed;
    type Timeout<R, T: Future<Output = R> + OptionalSend> = Timeout<T>;
    type ThreadLocalRng = CofferRng;

    fn spawn<T>(future: T) -> Self::JoinHandle<T::Output>
    where
        T: Future + OptionalSend + 'static,
        T::Output: OptionalSend + 'static,
    {
        tokio::spawn(future)
    }

    fn sleep(duration: Duration) -> Self::Sleep {
        tokio::time::sleep(duration)
    }

    fn sleep_until(deadline: CofferInstant) -> Self::Sleep {
        tokio::time::sleep_until(deadline.0)
    }

    fn timeout<R, F: Future<Output = R> + OptionalSend>(
        duration: Duration,
        future: F,
    ) -> Timeout<F> {
        Timeout::new(future, tokio::time::sleep(duration))
    }

    fn timeout_at<R, F: Future<Output = R> + OptionalSend>(
        deadline: CofferInstant,
        future: F,
    ) -> Timeout<F> {
        Timeout::new(future, tokio::time::sleep_until(deadline.0))
    }

    fn is_panic(join_error: &Self::JoinError) -> bool {
        join_error.is_panic()
    }

    fn thread_rng() -> CofferRng {
        CofferRng
    }

    type Mpsc = CofferMpsc;
    type Watch = CofferWatch;
    type Oneshot = CofferOneshot;
    type Mutex<T: OptionalSend + 'static> = CofferMutex<T>;

    fn new(threads: usize) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .enable_all()
            .build()
            .expect("a tokio runtime for runtime conformance tests must build");
        CofferRuntime { rt }
    }

    fn block_on<F, T>(&mut self, future: F) -> T
    where
        F: Future<Output = T>,
    {
        self.rt.block_on(future)
    }

    /// tokio's blocking pool outside simulation; under madsim an ordinary task, so the closure
    /// runs inline on the simulator's thread. Never `std::thread::spawn` (the trait's default).
    fn spawn_blocking<F, T>(f: F) -> impl Future<Output = Result<T, io::Error>> + Send
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        #[allow(deprecated)] // madsim deprecates it to discourage blocking; we only run short I/O.
        let handle = tokio::task::spawn_blocking(f);
        async move { handle.await.map_err(io::Error::from) }
    }
}

#[cfg(all(test, not(madsim)))]
mod tests {
    use super::CofferRuntime;

    /// openraft's own conformance suite for runtimes (it builds runtimes with `new`/`block_on`,
    /// which madsim cannot do, hence real tokio only).
    #[test]
    fn runtime_passes_openraft_suite() {
        openraft_rt::testing::Suite::<CofferRuntime>::test_all();
    }
}
