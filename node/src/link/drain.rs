//! The drain gate: what lets a stopping active node hold new requests while it finishes the
//! ones under way and hands leadership over (`cluster/handoff.rs` drives it).
//!
//! Every request the HTTP layer serves — from a client, or forwarded by a standby — passes
//! [`DrainGate::admit`] and holds the returned [`InFlight`] until its answer is built. While
//! the gate is [`Phase::Holding`], new requests wait (at most [`HOLD_MAX`]) instead of
//! starting; requests already admitted count as in flight, and [`DrainGate::wait_idle`] waits
//! for them. The count is raised *before* the phase is read, so a request admitted just as the
//! gate closes is always seen by `wait_idle`: no request starts a Raft write after the
//! hand-over began without the drain waiting for it.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::time::Duration;
use tokio::sync::Notify;

/// The longest a request waits at a holding gate before it proceeds anyway (the hand-over's
/// own bounds add up to less).
pub const HOLD_MAX: Duration = Duration::from_secs(10);

/// Where the gate is in a node's stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Requests start as they arrive.
    Serving,
    /// The node is stopping and may still be the leader: new requests wait.
    Holding,
    /// The hand-over is over (done or given up): requests proceed, as on a standby.
    Released,
}

impl Phase {
    fn from_u8(v: u8) -> Phase {
        match v {
            0 => Phase::Serving,
            1 => Phase::Holding,
            _ => Phase::Released,
        }
    }
}

/// The gate: a phase and the number of requests in flight, both atomics, so a request passes
/// a serving gate without a lock (but for the last one out, which wakes a drain if any).
#[derive(Default)]
pub struct DrainGate {
    phase: AtomicU8,
    /// Woken when the gate leaves [`Phase::Holding`].
    released: Notify,
    in_flight: AtomicUsize,
    /// Woken when the count falls to zero.
    idle: Notify,
}

/// One admitted request; dropping it ends its part in the count.
pub struct InFlight<'a> {
    gate: &'a DrainGate,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.gate.leave();
    }
}

impl DrainGate {
    /// Admit one request. `may_hold` says whether it may wait; it is false for what every node
    /// answers itself at once (status endpoints), so probes keep their answers during a stop.
    /// It is asked only while the gate holds.
    pub async fn admit(&self, may_hold: impl FnOnce() -> bool) -> InFlight<'_> {
        self.enter();
        if self.phase() == Phase::Holding && may_hold() {
            // Step out of the count while held, so the drain does not wait on us.
            self.leave();
            let released = async {
                loop {
                    let notified = self.released.notified();
                    tokio::pin!(notified);
                    notified.as_mut().enable();
                    if self.phase() != Phase::Holding {
                        return;
                    }
                    notified.await;
                }
            };
            let _ = tokio::time::timeout(HOLD_MAX, released).await;
            self.enter();
        }
        InFlight { gate: self }
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(SeqCst))
    }

    /// Move to `phase` (the hand-over's steps; a gate never goes back to `Serving`).
    pub fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, SeqCst);
        self.released.notify_waiters();
    }

    /// Requests admitted and not finished.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(SeqCst)
    }

    /// Wait until no request is in flight, at most `bound`. Returns whether it got there.
    pub async fn wait_idle(&self, bound: Duration) -> bool {
        let idle = async {
            loop {
                let notified = self.idle.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if self.in_flight() == 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(bound, idle).await.is_ok()
    }

    fn enter(&self) {
        self.in_flight.fetch_add(1, SeqCst);
    }

    fn leave(&self) {
        let before = self.in_flight.fetch_sub(1, SeqCst);
        if before == 1 {
            self.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_serving_gate_admits_at_once_and_counts() {
        let gate = DrainGate::default();
        let a = gate.admit(|| true).await;
        let b = gate.admit(|| false).await;
        assert_eq!(gate.in_flight(), 2);
        drop(a);
        assert!(!gate.wait_idle(Duration::from_millis(10)).await);
        drop(b);
        assert!(gate.wait_idle(Duration::from_millis(10)).await);
    }

    #[tokio::test]
    async fn a_holding_gate_holds_new_requests_until_released_but_not_status_ones() {
        let gate = Arc::new(DrainGate::default());
        let running = gate.admit(|| true).await;
        gate.set_phase(Phase::Holding);
        let (started_tx, mut started_rx) = tokio::sync::mpsc::unbounded_channel();
        let held = {
            let (gate, started) = (gate.clone(), started_tx.clone());
            tokio::spawn(async move {
                let _admitted = gate.admit(|| true).await;
                let _ = started.send("held request");
            })
        };
        // A status request is not held.
        let status = gate.admit(|| false).await;
        drop(status);
        // The held request is not in flight, so the running one is all the drain waits for.
        assert_eq!(gate.in_flight(), 1);
        drop(running);
        assert!(gate.wait_idle(Duration::from_secs(1)).await);
        assert!(started_rx.try_recv().is_err(), "a held request started");
        gate.set_phase(Phase::Released);
        held.await.expect("held request task");
        assert_eq!(started_rx.recv().await, Some("held request"));
        assert_eq!(gate.in_flight(), 0);
    }
}
