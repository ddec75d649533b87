//! The event log of one run: every fault, every client call and its answer, with simulated
//! time. Its hash is the determinism check (two processes, one seed, one hash); its tail is
//! what a failing seed prints.

use std::cell::RefCell;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::rc::Rc;

/// Shared, append-only.
#[derive(Clone, Default)]
pub struct EventLog {
    events: Rc<RefCell<Vec<String>>>,
}

impl EventLog {
    /// Append `event`, stamped with the simulated time.
    pub fn record(&self, event: impl Into<String>) {
        let at = crate::chaos::client::now_ms();
        self.events
            .borrow_mut()
            .push(format!("{at:>8}ms {}", event.into()));
    }

    /// A hash of every event in order. `DefaultHasher::new()` has fixed keys, so the value is
    /// the same in every process.
    pub fn hash(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.events.borrow().hash(&mut h);
        h.finish()
    }

    /// How many events.
    pub fn len(&self) -> usize {
        self.events.borrow().len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.events.borrow().is_empty()
    }

    /// The whole log, one event per line.
    pub fn dump(&self) -> String {
        self.events.borrow().join("\n")
    }
}
