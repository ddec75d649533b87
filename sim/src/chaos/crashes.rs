//! The crash lane and the disk lane. Crashes of a majority of the members, or of every
//! member, at the same instant, each crash tearing the unsynced tail of the node's disk (see
//! [`SimNode::kill`]); then the nodes come back one by one. Every node's disk takes a few
//! milliseconds per sync, and the disk lane slows one node's to hundreds, so writes sit unsynced
//! for real and a crash inside that window loses them.

use super::faults::{hold, rng, Faults};
use crate::node::SimNode;
use madsim::rand::Rng;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

/// A disk's usual sync latency (drawn once per node in this range, in ms).
const DISK_MS: std::ops::RangeInclusive<u64> = 1..=4;

impl Faults<'_> {
    /// Crash a majority (or everyone), or cut the active node off, now and then, until `stop`.
    pub(super) async fn crash_lane(&self, stop: &Cell<bool>) {
        hold(1500, 4000).await;
        while !stop.get() {
            // Half the time the active node is cut off from its peers instead (not from
            // clients): the fault that stale reads and unfenced writes need.
            let done = if rng().gen_bool(0.5) {
                self.crash_many().await
            } else {
                self.cut_off_active().await
            };
            if done {
                self.report.borrow_mut().injected += 1;
                hold(2000, 5000).await;
            } else {
                hold(200, 500).await;
            }
        }
    }

    /// Kill a majority of the members (a third of the time all of them) at once, hold, restart
    /// them one by one and unseal them. False when too many are claimed by other lanes.
    async fn crash_many(&self) -> bool {
        let members = self.cluster.members();
        let n = members.len();
        let want = if rng().gen_bool(0.33) { n } else { n / 2 + 1 };
        let mut free = self.free_members();
        if free.len() < want {
            return false;
        }
        let mut victims: Vec<Rc<SimNode>> = Vec::new();
        while victims.len() < want {
            victims.push(free.remove(rng().gen_range(0..free.len())));
        }
        let Some(_claim) = self.claim(&victims) else {
            return false;
        };
        let torn: Vec<String> = victims
            .iter()
            .map(|v| {
                let (lost, unsynced) = v.kill();
                format!("{} lost {lost}/{unsynced}", v.name)
            })
            .collect();
        let what = if want == n {
            "every member"
        } else {
            "a majority"
        };
        self.log.record(format!(
            "fault: crash {what} of {n} at once (unsynced batches: {})",
            torn.join(", ")
        ));
        self.report.borrow_mut().majority_crashes += 1;
        hold(200, 3000).await;
        for v in &victims {
            self.log.record(format!("heal: restart {}", v.name));
            v.restart();
            hold(0, 400).await;
        }
        for v in &victims {
            v.wait_ready().await;
            self.check_sealed(v).await;
        }
        for v in &victims {
            self.unseal(v).await;
        }
        true
    }

    /// Give every member its disk latency, then slow one node's disk at a time, until `stop`.
    pub(super) async fn disk_lane(&self, stop: &Cell<bool>) {
        for node in self.cluster.members() {
            node.set_sync_latency(Duration::from_millis(rng().gen_range(DISK_MS)));
        }
        hold(500, 2000).await;
        while !stop.get() {
            let members = self.cluster.members();
            let node = &members[rng().gen_range(0..members.len())];
            let ms = rng().gen_range(20..=400);
            self.log
                .record(format!("fault: {}'s disk syncs in {ms} ms", node.name));
            node.set_sync_latency(Duration::from_millis(ms));
            self.report.borrow_mut().injected += 1;
            hold(1000, 5000).await;
            self.log.record(format!("heal: {}'s disk", node.name));
            node.set_sync_latency(Duration::from_millis(rng().gen_range(DISK_MS)));
            hold(300, 2000).await;
        }
    }
}

/// A fresh node's disk latency.
pub(super) fn usual_disk() -> Duration {
    Duration::from_millis(rng().gen_range(DISK_MS))
}
