//! Channels and the async mutex, thin wrappers over `tokio::sync` (the real tokio in both builds:
//! madsim-tokio re-exports it, and none of these use tokio's RNG).

use std::future::Future;

use futures::TryFutureExt;
use openraft_rt::{
    Mpsc, MpscReceiver, MpscSender, MpscWeakSender, Mutex, Oneshot, OneshotSender, OptionalSend,
    SendError, TryRecvError,
};
use tokio::sync::{mpsc, oneshot};

/// Bounded multi-producer single-consumer channels.
pub struct CofferMpsc;

/// Sending half of a [`CofferMpsc`] channel.
pub struct MpscTx<T>(mpsc::Sender<T>);

/// Receiving half of a [`CofferMpsc`] channel.
pub struct MpscRx<T>(mpsc::Receiver<T>);

/// A sender that does not keep the channel open.
pub struct MpscWeakTx<T>(mpsc::WeakSender<T>);

impl<T> Clone for MpscTx<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> Clone for MpscWeakTx<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl Mpsc for CofferMpsc {
    type Sender<T: OptionalSend> = MpscTx<T>;
    type Receiver<T: OptionalSend> = MpscRx<T>;
    type WeakSender<T: OptionalSend> = MpscWeakTx<T>;

    fn channel<T: OptionalSend>(buffer: usize) -> (MpscTx<T>, MpscRx<T>) {
        let (tx, rx) = mpsc::channel(buffer);
        (MpscTx(tx), MpscRx(rx))
    }
}

impl<T: OptionalSend> MpscSender<CofferMpsc, T> for MpscTx<T> {
    fn send(&self, msg: T) -> impl Future<Output = Result<(), SendError<T>>> + OptionalSend {
        self.0.send(msg).map_err(|e| SendError(e.0))
    }

    fn downgrade(&self) -> MpscWeakTx<T> {
        MpscWeakTx(self.0.downgrade())
    }
}

impl<T: OptionalSend> MpscReceiver<T> for MpscRx<T> {
    fn recv(&mut self) -> impl Future<Output = Option<T>> + OptionalSend {
        self.0.recv()
    }

    fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.0.try_recv().map_err(|e| match e {
            mpsc::error::TryRecvError::Empty => TryRecvError::Empty,
            mpsc::error::TryRecvError::Disconnected => TryRecvError::Disconnected,
        })
    }
}

impl<T: OptionalSend> MpscWeakSender<CofferMpsc, T> for MpscWeakTx<T> {
    fn upgrade(&self) -> Option<MpscTx<T>> {
        self.0.upgrade().map(MpscTx)
    }
}

/// One-shot channels.
pub struct CofferOneshot;

/// Sending half of a [`CofferOneshot`] channel.
pub struct OneshotTx<T>(oneshot::Sender<T>);

impl Oneshot for CofferOneshot {
    type Sender<T: OptionalSend> = OneshotTx<T>;
    type Receiver<T: OptionalSend> = oneshot::Receiver<T>;
    type ReceiverError = oneshot::error::RecvError;

    fn channel<T: OptionalSend>() -> (OneshotTx<T>, oneshot::Receiver<T>) {
        let (tx, rx) = oneshot::channel();
        (OneshotTx(tx), rx)
    }
}

impl<T: OptionalSend> OneshotSender<T> for OneshotTx<T> {
    fn send(self, t: T) -> Result<(), T> {
        self.0.send(t)
    }
}

/// An async mutex (tokio's, which queues waiters in FIFO order).
pub struct CofferMutex<T>(tokio::sync::Mutex<T>);

impl<T: OptionalSend + 'static> Mutex<T> for CofferMutex<T> {
    type Guard<'a> = tokio::sync::MutexGuard<'a, T>;

    fn new(value: T) -> Self {
        Self(tokio::sync::Mutex::new(value))
    }

    fn lock(&self) -> impl Future<Output = Self::Guard<'_>> + OptionalSend {
        self.0.lock()
    }
}
