//! Graceful hand-over: what a node does with its leadership when it is asked to stop (SIGTERM,
//! as Kubernetes sends on a rolling update), so that no client sees an error and no write is
//! cut off half way.
//!
//! A leader that simply stopped would leave the cluster without an active node for an
//! election timeout, and could drop a write whose entry was appended but not yet answered:
//! the next leader may commit it while its client got an error. So an active node stops in
//! steps, each bounded:
//! 1. The drain gate (`link::drain`) starts **holding** new requests — from clients and those
//!    standbys forward — instead of starting them.
//! 2. It waits for the requests already **in flight** to finish ([`IN_FLIGHT_WAIT`]), so
//!    every Raft write it started is answered by the leader that proposed it.
//! 3. It **transfers leadership** to the most caught-up voter and waits until it knows
//!    another leader ([`NEW_LEADER_WAIT`]).
//! 4. It **releases** the held requests. This node is a standby now: a client's request is
//!    forwarded to the new active node; one a standby forwarded here is refused as "not
//!    active" (`link::forward::NOT_ACTIVE_HEADER`), and that standby sends it to the new leader.
//! 5. The caller (`ServerHandle::shutdown`) then stops its listeners, lets what is in flight
//!    finish, shuts Raft down, and last closes the cluster port with a GOAWAY, answering the
//!    calls it took: a standby that had not yet heard of the new leader gets "not active" or
//!    a refusal it knows is safe to retry, never a cut connection (`link::port`).
//!
//! A node that is not the leader, or has no other voter to hand over to, skips 1-4. If the
//! transfer fails or times out, the held requests are released anyway (they run here if this
//! node still leads, or are forwarded): the stop degrades to today's plain stop, never hangs.
//! The decision ([`plan`]) is a plain function; the steps are [`hand_over`].

use crate::core::Core;
use crate::link::drain::Phase;
use std::time::Duration;

/// How long step 2 waits for requests already running.
pub const IN_FLIGHT_WAIT: Duration = Duration::from_secs(2);
/// How long step 3 waits for another node to lead.
pub const NEW_LEADER_WAIT: Duration = Duration::from_secs(3);

/// What a stopping node does with its part in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// It leads and another voter can take over: drain and hand over.
    HandOver,
    /// Nothing to hand over (a standby, a sealed node, no other voter, no Raft): just stop.
    Stop,
}

/// The plan for a node that leads (`leader`), is unsealed or not, and knows `other_voters`.
pub fn plan(leader: bool, sealed: bool, other_voters: usize) -> Plan {
    if leader && !sealed && other_voters > 0 {
        Plan::HandOver
    } else {
        Plan::Stop
    }
}

/// How a hand-over ended (for the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to hand over.
    Skipped,
    /// Node `0` leads now.
    HandedTo(u64),
    /// The transfer failed or timed out; the node stops anyway.
    GaveUp(String),
}

/// Steps 1-4 above. Returns once the held requests are released (or there were none).
pub async fn hand_over(core: &Core) -> Outcome {
    let Some(raft) = core.storage.raft.as_ref() else {
        return Outcome::Skipped;
    };
    let status = raft.metrics();
    let others = status.voters.iter().filter(|v| **v != status.node_id);
    if plan(raft.is_leader(), core.is_sealed(), others.count()) == Plan::Stop {
        return Outcome::Skipped;
    }
    let gate = &core.link.drain;
    gate.set_phase(Phase::Holding);
    if !gate.wait_idle(IN_FLIGHT_WAIT).await {
        tracing::warn!(
            in_flight = gate.in_flight(),
            "requests still running at the hand-over"
        );
    }
    let outcome = match raft.hand_over(NEW_LEADER_WAIT).await {
        Ok(leader) => Outcome::HandedTo(leader),
        Err(e) => Outcome::GaveUp(e.to_string()),
    };
    gate.set_phase(Phase::Released);
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unsealed_leader_with_another_voter_hands_over() {
        assert_eq!(plan(true, false, 2), Plan::HandOver);
        assert_eq!(plan(true, false, 1), Plan::HandOver);
        assert_eq!(plan(true, false, 0), Plan::Stop, "a single node just stops");
        assert_eq!(plan(false, false, 2), Plan::Stop, "a standby just stops");
        assert_eq!(
            plan(true, true, 2),
            Plan::Stop,
            "a sealed leader has nothing to drain"
        );
    }
}
