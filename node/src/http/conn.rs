//! One accepted connection, served by hyper's HTTP/1 under the listener's timeouts, the way Go's
//! server (and so Vault) applies them: a client has `http_read_header_timeout` to send a
//! request's head, counted from its first byte (from the accept for the first request), and a
//! kept-alive connection may wait `http_idle_timeout` for its next request. A connection past
//! its deadline is dropped. The clock is the runtime's (`tokio::time`), so this runs unchanged
//! over madsim's simulated sockets.
//!
//! When a connection ends on our side (say, after a 413 for a body we refused to read), the
//! node closes its writing half and discards what the client still sends for a moment
//! ([`LINGER`]), so a client still writing that body reads the answer instead of a reset.
//!
//! When the listener closes (the node stops), each connection finishes the request it is
//! serving, answers it with `Connection: close` and ends; an idle one ends at once (hyper's
//! graceful shutdown).

use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// How long a closing connection keeps reading (and discarding) what the client still sends.
pub const LINGER: Duration = Duration::from_secs(5);

/// The connection timeouts of a listener; zero disables one.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// `http_read_header_timeout`.
    pub header: Duration,
    /// `http_idle_timeout`.
    pub idle: Duration,
}

/// Where a connection is in its request cycle; its deadline follows from it (see [`deadline`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No byte of the next request yet: the connection's first request (`first`, counted from
    /// the accept) or the next one on a kept-alive connection.
    Waiting { since: Instant, first: bool },
    /// Part of a request head is in; the head timer runs from `since`.
    ReadingHead { since: Instant },
    /// The head was parsed and the handler runs (reading the body has its own timeout).
    Serving,
}

impl Phase {
    /// Bytes arrived.
    fn on_read(self, now: Instant) -> Phase {
        match self {
            Phase::Waiting { since, first: true } => Phase::ReadingHead { since },
            Phase::Waiting { first: false, .. } => Phase::ReadingHead { since: now },
            other => other,
        }
    }
}

/// When a connection in `phase` is to be cut if nothing changes first; `None`: never.
fn deadline(phase: Phase, t: Timeouts) -> Option<Instant> {
    let after = |since: Instant, limit: Duration| (!limit.is_zero()).then(|| since + limit);
    match phase {
        Phase::Waiting { since, first: true } | Phase::ReadingHead { since } => {
            after(since, t.header)
        }
        Phase::Waiting {
            since,
            first: false,
        } => after(since, t.idle),
        Phase::Serving => None,
    }
}

/// When the watchdog next looks at a connection in `phase`, `now`: at its deadline, and on a
/// kept-alive connection also every `header` while it idles. The first byte of its next request
/// starts a head deadline no sooner than `now + header`, so that byte never needs to wake the
/// watchdog: a request passes through its phases without waking it at all.
fn next_look(phase: Phase, t: Timeouts, now: Instant) -> Option<Instant> {
    let due = deadline(phase, t);
    match phase {
        Phase::Waiting { first: false, .. } if !t.header.is_zero() => {
            let byte = now + t.header;
            Some(due.map_or(byte, |d| d.min(byte)))
        }
        _ => due,
    }
}

struct State {
    phase: Phase,
    /// When the watchdog looks next (`None`: only when told).
    armed: Option<Instant>,
}

/// The phase, shared by the socket wrapper, the service wrapper and the watchdog.
struct Shared {
    state: Mutex<State>,
    timeouts: Timeouts,
    changed: Notify,
}

impl Shared {
    fn new(t: Timeouts) -> Shared {
        let phase = Phase::Waiting {
            since: Instant::now(),
            first: true,
        };
        Shared {
            state: Mutex::new(State { phase, armed: None }),
            timeouts: t,
            changed: Notify::new(),
        }
    }

    /// Move to the phase `f` gives; the watchdog is woken only if that phase's deadline comes
    /// before the moment it is armed for.
    fn update(&self, f: impl FnOnce(Phase) -> Phase) {
        let mut state = self.state.lock();
        let next = f(state.phase);
        if next == state.phase {
            return;
        }
        state.phase = next;
        let sooner = match (deadline(next, self.timeouts), state.armed) {
            (Some(due), Some(armed)) => due < armed,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if sooner {
            // One waiter (the watchdog); a permit is kept if it is not waiting right now.
            self.changed.notify_one();
        }
    }
}

/// Resolves when the connection is past its deadline.
async fn watchdog(shared: Arc<Shared>) {
    loop {
        let changed = shared.changed.notified();
        let now = Instant::now();
        let look = {
            let mut state = shared.state.lock();
            if deadline(state.phase, shared.timeouts).is_some_and(|due| due <= now) {
                return;
            }
            state.armed = next_look(state.phase, shared.timeouts, now);
            state.armed
        };
        match look {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = changed => {}
                }
            }
            None => changed.await,
        }
    }
}

/// The socket, noting when bytes of a request arrive.
struct Watched<T> {
    inner: T,
    shared: Arc<Shared>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.shared.update(|p| p.on_read(Instant::now()));
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The service, noting when a request's head is in and when its answer is ready.
#[derive(Clone)]
struct Tracked<S> {
    inner: S,
    shared: Arc<Shared>,
}

type Request = http::Request<Incoming>;

impl<S> hyper::service::Service<Request> for Tracked<S>
where
    S: hyper::service::Service<Request>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn call(&self, req: Request) -> Self::Future {
        self.shared.update(|_| Phase::Serving);
        let answer = self.inner.call(req);
        let shared = self.shared.clone();
        Box::pin(async move {
            let out = answer.await;
            shared.update(|_| Phase::Waiting {
                since: Instant::now(),
                first: false,
            });
            out
        })
    }
}

/// Serve one connection until it ends, the client goes quiet past a deadline, the client
/// leaves, or `closing` turns true (then gracefully). Every request on it goes to `service`.
pub async fn serve<IO, S, B>(
    io: IO,
    service: S,
    t: Timeouts,
    closing: tokio::sync::watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<Request, Response = http::Response<B>> + Unpin + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let shared = Arc::new(Shared::new(t));
    let io = TokioIo::new(Watched {
        inner: io,
        shared: shared.clone(),
    });
    let service = Tracked {
        inner: service,
        shared: shared.clone(),
    };
    let mut conn = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    let served = async {
        let mut closing = closing;
        let ended = tokio::select! {
            ended = std::future::poll_fn(|cx| conn.poll_without_shutdown(cx)) => Some(ended),
            _ = closing.wait_for(|c| *c) => None,
        };
        let ended = match ended {
            Some(ended) => ended,
            None => {
                Pin::new(&mut conn).graceful_shutdown();
                std::future::poll_fn(|cx| conn.poll_without_shutdown(cx)).await
            }
        };
        ended.map(|()| conn)
    };
    tokio::select! {
        ended = served => match ended {
            Ok(conn) => linger(conn.into_parts().io.into_inner().inner).await,
            Err(e) => tracing::debug!(error = %e, "connection ended with an error"),
        },
        () = watchdog(shared) => tracing::debug!("connection closed: header or idle timeout"),
    }
}

/// Close our writing half, then discard what the client still sends, for at most [`LINGER`].
async fn linger<IO: AsyncRead + AsyncWrite + Unpin>(mut io: IO) {
    if io.shutdown().await.is_err() {
        return;
    }
    let mut buf = vec![0u8; 16 * 1024];
    let drain = async {
        while let Ok(n) = io.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timeouts = Timeouts {
        header: Duration::from_secs(10),
        idle: Duration::from_secs(300),
    };

    #[test]
    fn the_first_request_has_the_header_timeout_from_the_accept() {
        let accepted = Instant::now();
        let waiting = Phase::Waiting {
            since: accepted,
            first: true,
        };
        assert_eq!(deadline(waiting, T), Some(accepted + T.header));
        let later = accepted + Duration::from_secs(3);
        // Dribbling the head does not restart the clock.
        assert_eq!(
            deadline(waiting.on_read(later), T),
            Some(accepted + T.header)
        );
        assert_eq!(
            deadline(waiting.on_read(later).on_read(later + T.idle), T),
            Some(accepted + T.header)
        );
    }

    #[test]
    fn a_kept_alive_connection_idles_then_gets_the_header_timeout_from_its_first_byte() {
        let answered = Instant::now();
        let idle = Phase::Waiting {
            since: answered,
            first: false,
        };
        assert_eq!(deadline(idle, T), Some(answered + T.idle));
        let first_byte = answered + Duration::from_secs(100);
        assert_eq!(
            deadline(idle.on_read(first_byte), T),
            Some(first_byte + T.header)
        );
    }

    #[test]
    fn a_request_being_served_has_no_deadline_and_zero_disables() {
        assert_eq!(deadline(Phase::Serving, T), None);
        assert_eq!(Phase::Serving.on_read(Instant::now()), Phase::Serving);
        let off = Timeouts {
            header: Duration::ZERO,
            idle: Duration::ZERO,
        };
        let now = Instant::now();
        for phase in [
            Phase::Waiting {
                since: now,
                first: true,
            },
            Phase::Waiting {
                since: now,
                first: false,
            },
            Phase::ReadingHead { since: now },
        ] {
            assert_eq!(deadline(phase, off), None);
        }
    }

    /// Whether the watchdog was told (a permit is waiting), taking the permit.
    fn told(shared: &Shared) -> bool {
        use futures::FutureExt as _;
        shared.changed.notified().now_or_never().is_some()
    }

    #[test]
    fn a_request_on_a_kept_alive_connection_does_not_wake_the_watchdog() {
        let shared = Shared::new(T);
        let answered = Instant::now();
        shared.update(|_| Phase::Waiting {
            since: answered,
            first: false,
        });
        let waiting = shared.state.lock().phase;
        // The watchdog looks at the idle connection and arms itself.
        let look = next_look(waiting, T, answered);
        assert_eq!(look, Some(answered + T.header));
        shared.state.lock().armed = look;
        let _ = told(&shared);
        // A request comes in, is served and answered: nothing wakes the watchdog early.
        let first_byte = answered + Duration::from_secs(2);
        shared.update(|p| p.on_read(first_byte));
        shared.update(|_| Phase::Serving);
        assert!(!told(&shared));
        // Its deadline was never missed: it looks at `answered + header`, before the head's.
        assert!(look.unwrap() <= deadline(waiting.on_read(first_byte), T).unwrap());
        // Once it saw the request served (armed for nothing), the answer tells it.
        shared.state.lock().armed = None;
        shared.update(|_| Phase::Waiting {
            since: first_byte,
            first: false,
        });
        assert!(told(&shared));
    }

    #[test]
    fn a_sooner_deadline_wakes_the_watchdog() {
        let off_idle = Timeouts {
            header: Duration::from_secs(10),
            idle: Duration::ZERO,
        };
        let shared = Shared::new(off_idle);
        let now = Instant::now();
        shared.state.lock().armed = Some(now + Duration::from_secs(60));
        shared.update(|_| Phase::ReadingHead { since: now });
        assert!(told(&shared));
    }
}
