//! openraft's watch channel, built on one `tokio::sync::Notify` so receivers wake in the order
//! they started waiting.
//!
//! `tokio::sync::watch` parks receivers on several `Notify`s chosen by tokio's own thread-local
//! RNG, which madsim does not seed; one send waking several receivers would then wake them in a
//! different order in two runs of the same seed. This channel has no randomness at all.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use openraft_rt::watch::SendError;
use openraft_rt::{OptionalSend, OptionalSync, RecvError, Watch, WatchReceiver, WatchSender};
use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use tokio::sync::Notify;

/// Watch channels: one value, the newest wins, receivers wait for changes.
pub struct CofferWatch;

struct Shared<T> {
    value: RwLock<T>,
    /// Bumped under the value's write lock by every change that notifies.
    version: AtomicU64,
    senders: AtomicUsize,
    receivers: AtomicUsize,
    changed: Notify,
}

impl<T> Shared<T> {
    /// Readers never wait behind a queued writer, so a task holding one borrow can take another.
    fn read(&self) -> RwLockReadGuard<'_, T> {
        self.value.read_recursive()
    }

    /// Bump the version while the value is still locked, then wake every waiting receiver.
    fn publish(&self, guard: RwLockWriteGuard<'_, T>) {
        self.version.fetch_add(1, Ordering::SeqCst);
        drop(guard);
        self.changed.notify_waiters();
    }

    fn subscribe(self: &Arc<Self>) -> WatchRx<T> {
        self.receivers.fetch_add(1, Ordering::SeqCst);
        let guard = self.read();
        let seen = self.version.load(Ordering::SeqCst);
        drop(guard);
        WatchRx {
            shared: Arc::clone(self),
            seen,
        }
    }
}

/// Sending half of a [`CofferWatch`] channel.
pub struct WatchTx<T>(Arc<Shared<T>>);

/// Receiving half of a [`CofferWatch`] channel.
pub struct WatchRx<T> {
    shared: Arc<Shared<T>>,
    /// The version this receiver last marked seen.
    seen: u64,
}

impl<T> Clone for WatchTx<T> {
    fn clone(&self) -> Self {
        self.0.senders.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(&self.0))
    }
}

impl<T> Drop for WatchTx<T> {
    fn drop(&mut self) {
        if self.0.senders.fetch_sub(1, Ordering::SeqCst) == 1 {
            // The last sender is gone: waiting receivers must observe the closed channel.
            self.0.changed.notify_waiters();
        }
    }
}

impl<T> Clone for WatchRx<T> {
    fn clone(&self) -> Self {
        self.shared.receivers.fetch_add(1, Ordering::SeqCst);
        Self {
            shared: Arc::clone(&self.shared),
            seen: self.seen,
        }
    }
}

impl<T> Drop for WatchRx<T> {
    fn drop(&mut self) {
        self.shared.receivers.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Watch for CofferWatch {
    type Sender<T: OptionalSend + OptionalSync> = WatchTx<T>;
    type Receiver<T: OptionalSend + OptionalSync> = WatchRx<T>;
    type Ref<'a, T: OptionalSend + 'a> = RwLockReadGuard<'a, T>;

    fn channel<T: OptionalSend + OptionalSync>(init: T) -> (WatchTx<T>, WatchRx<T>) {
        let shared = Arc::new(Shared {
            value: RwLock::new(init),
            version: AtomicU64::new(0),
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(0),
            changed: Notify::new(),
        });
        let rx = shared.subscribe();
        (WatchTx(shared), rx)
    }
}

impl<T: OptionalSend + OptionalSync> WatchSender<CofferWatch, T> for WatchTx<T> {
    /// Fails, leaving the value unchanged, when no receiver is left (tokio's semantics).
    fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.0.receivers.load(Ordering::SeqCst) == 0 {
            return Err(SendError(value));
        }
        let mut guard = self.0.value.write();
        *guard = value;
        self.0.publish(guard);
        Ok(())
    }

    fn send_if_modified<F>(&self, modify: F) -> bool
    where
        F: FnOnce(&mut T) -> bool,
    {
        let mut guard = self.0.value.write();
        let modified = modify(&mut guard);
        if modified {
            self.0.publish(guard);
        }
        modified
    }

    fn borrow_watched(&self) -> RwLockReadGuard<'_, T> {
        self.0.read()
    }

    fn subscribe(&self) -> WatchRx<T> {
        self.0.subscribe()
    }
}

impl<T: OptionalSend + OptionalSync> WatchReceiver<CofferWatch, T> for WatchRx<T> {
    async fn changed(&mut self) -> Result<(), RecvError> {
        loop {
            // Register before looking, so a send between the look and the wait still wakes us.
            let notified = self.shared.changed.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            let version = self.shared.version.load(Ordering::SeqCst);
            if version != self.seen {
                self.seen = version;
                return Ok(());
            }
            if self.shared.senders.load(Ordering::SeqCst) == 0 {
                return Err(RecvError(()));
            }
            notified.await;
        }
    }

    fn borrow_watched(&self) -> RwLockReadGuard<'_, T> {
        self.shared.read()
    }

    fn borrow_and_update(&mut self) -> RwLockReadGuard<'_, T> {
        let guard = self.shared.read();
        // Versions only move under the write lock, so this one belongs to the value we hold.
        self.seen = self.shared.version.load(Ordering::SeqCst);
        guard
    }
}
