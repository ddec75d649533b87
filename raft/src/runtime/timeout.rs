//! A timeout future built from `tokio::time::Sleep`, because madsim's `timeout` returns an
//! unnameable `impl Future` and has no `timeout_at`. Both halves are boxed so the type is `Unpin`
//! without `unsafe` pin projection.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The deadline passed before the future completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// Resolves to the inner future's output, or to [`Elapsed`] once the sleep fires first.
pub struct Timeout<T> {
    future: Pin<Box<T>>,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl<T> Timeout<T> {
    pub(crate) fn new(future: T, sleep: tokio::time::Sleep) -> Self {
        Self {
            future: Box::pin(future),
            sleep: Box::pin(sleep),
        }
    }
}

impl<T: Future> Future for Timeout<T> {
    type Output = Result<T::Output, Elapsed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // The future goes first: one that is ready at the deadline still wins, as with tokio.
        if let Poll::Ready(output) = self.future.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed)),
            Poll::Pending => Poll::Pending,
        }
    }
}
