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

use std::time::Duration;
use tokio::sync::watch;

/// The longest a request waits at a holding gate before it proceeds anyway (the hand-over's
/// own bounds add up to less).
pub const HOLD_MAX: Duration = Duration::from_secs(10);

/// Where the gate is in a node's stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Requests start as they arrive.
    Serving,
    /// The node is stopping and may still be the leader: new requests wait.
    Holding,
    /// The hand-over is over (done or given up): requests proceed, as on a standby.
    Released,
}

/// The gate: a phase and the number of requests in flight, both observable.
pub struct DrainGate {
    phase: watch::Sender<Phase>,
    in_flight: watch::Sender<usize>,
}

impl Default for DrainGate {
    fn default() -> Self {
        DrainGate {
            phase: watch::Sender::new(Phase::Serving),
            in_flight: watch::Sender::new(0),
        }
    }
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
    /// Admit one request. `may_hold` is false for what every node answers itself at once
    /// (status endpoints): those never wait, so probes keep their answers during a stop.
    pub async fn admit(&self, may_hold: bool) -> InFlight<'_> {
        self.enter();
        if may_hold && self.phase() == Phase::Holding {
            // Step out of the count while held, so the drain does not wait on us.
            self.leave();
            let mut phase = self.phase.subscribe();
            let released = phase.wait_for(|p| *p != Phase::Holding);
            let _ = tokio::time::timeout(HOLD_MAX, released).await;
            self.enter();
        }
        InFlight { gate: self }
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        *self.phase.borrow()
    }

    /// Move to `phase` (the hand-over's steps; a gate never goes back to `Serving`).
    pub fn set_phase(&self, phase: Phase) {
        self.phase.send_replace(phase);
    }

    /// Requests admitted and not finished.
    pub fn in_flight(&self) -> usize {
        *self.in_flight.borrow()
    }

    /// Wait until no request is in flight, at most `bound`. Returns whether it got there.
    pub async fn wait_idle(&self, bound: Duration) -> bool {
        let mut count = self.in_flight.subscribe();
        let idle = count.wait_for(|n| *n == 0);
        let reached = matches!(tokio::time::timeout(bound, idle).await, Ok(Ok(_)));
        reached
    }

    fn enter(&self) {
        self.in_flight.send_modify(|n| *n += 1);
    }

    fn leave(&self) {
        self.in_flight.send_modify(|n| *n = n.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_serving_gate_admits_at_once_and_counts() {
        let gate = DrainGate::default();
        let a = gate.admit(true).await;
        let b = gate.admit(false).await;
        assert_eq!(gate.in_flight(), 2);
        drop(a);
        assert!(!gate.wait_idle(Duration::from_millis(10)).await);
        drop(b);
        assert!(gate.wait_idle(Duration::from_millis(10)).await);
    }

    #[tokio::test]
    async fn a_holding_gate_holds_new_requests_until_released_but_not_status_ones() {
        let gate = Arc::new(DrainGate::default());
        let running = gate.admit(true).await;
        gate.set_phase(Phase::Holding);
        let (started_tx, mut started_rx) = tokio::sync::mpsc::unbounded_channel();
        let held = {
            let (gate, started) = (gate.clone(), started_tx.clone());
            tokio::spawn(async move {
                let _admitted = gate.admit(true).await;
                let _ = started.send("held request");
            })
        };
        // A status request is not held.
        let status = gate.admit(false).await;
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
