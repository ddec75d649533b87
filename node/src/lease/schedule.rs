//! The expiry schedule as plain data: which lease is due when, and how long a failed
//! revocation waits before its next attempt (1 s doubling up to [`MAX_BACKOFF_MS`], as Vault
//! retries; the lease is kept meanwhile). No clock and no I/O: the caller passes `now`.

use std::collections::{BTreeSet, HashMap};

/// The first retry waits this long after a failed revocation.
pub const FIRST_BACKOFF_MS: i64 = 1_000;
/// Retries never wait longer than this.
pub const MAX_BACKOFF_MS: i64 = 60_000;

/// The wait before retry number `attempt` (1 for the first retry).
pub fn backoff_ms(attempt: u32) -> i64 {
    let shift = attempt.saturating_sub(1).min(16);
    (FIRST_BACKOFF_MS << shift).min(MAX_BACKOFF_MS)
}

/// Every scheduled lease with its due time, and the failed attempts of those being retried.
#[derive(Debug, Default)]
pub struct Schedule {
    queue: BTreeSet<(i64, String)>,
    due_at: HashMap<String, i64>,
    attempts: HashMap<String, u32>,
}

impl Schedule {
    /// Schedule (or move) `id` to expire at `due_ms`; a new expiry forgets earlier failures.
    pub fn set(&mut self, id: &str, due_ms: i64) {
        self.unqueue(id);
        self.attempts.remove(id);
        self.queue.insert((due_ms, id.to_string()));
        self.due_at.insert(id.to_string(), due_ms);
    }

    /// Forget `id` (revoked, or no longer this node's to expire).
    pub fn remove(&mut self, id: &str) {
        self.unqueue(id);
        self.attempts.remove(id);
    }

    fn unqueue(&mut self, id: &str) {
        if let Some(due) = self.due_at.remove(id) {
            self.queue.remove(&(due, id.to_string()));
        }
    }

    /// Take every lease due at `now_ms` off the queue, earliest first. Each must come back
    /// through [`Schedule::remove`] (revoked) or [`Schedule::failed`] (to retry).
    pub fn take_due(&mut self, now_ms: i64) -> Vec<String> {
        let mut out = Vec::new();
        while let Some((due, _)) = self.queue.first() {
            if *due > now_ms {
                break;
            }
            if let Some((_, id)) = self.queue.pop_first() {
                self.due_at.remove(&id);
                out.push(id);
            }
        }
        out
    }

    /// A revocation of `id` failed at `now_ms`: retry after the next backoff. Returns when.
    pub fn failed(&mut self, id: &str, now_ms: i64) -> i64 {
        let attempt = self.attempts.get(id).copied().unwrap_or(0) + 1;
        let due = now_ms.saturating_add(backoff_ms(attempt));
        self.unqueue(id);
        self.queue.insert((due, id.to_string()));
        self.due_at.insert(id.to_string(), due);
        self.attempts.insert(id.to_string(), attempt);
        due
    }

    /// The earliest due time, if any lease is scheduled.
    pub fn next_due(&self) -> Option<i64> {
        self.queue.first().map(|(due, _)| *due)
    }

    /// When `id` is due, if scheduled.
    pub fn due(&self, id: &str) -> Option<i64> {
        self.due_at.get(id).copied()
    }

    pub fn len(&self) -> usize {
        self.due_at.len()
    }

    pub fn is_empty(&self) -> bool {
        self.due_at.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_leases_come_out_in_order_and_once() {
        let mut s = Schedule::default();
        s.set("b", 20);
        s.set("a", 10);
        s.set("c", 30);
        assert_eq!(s.take_due(5), Vec::<String>::new());
        assert_eq!(s.take_due(20), vec!["a".to_string(), "b".to_string()]);
        assert_eq!(
            s.take_due(25),
            Vec::<String>::new(),
            "taken leases are not due again"
        );
        s.set("c", 40);
        assert_eq!(
            s.next_due(),
            Some(40),
            "moving a lease replaces its old due time"
        );
        s.remove("c");
        assert!(s.is_empty());
    }

    #[test]
    fn failures_back_off_doubling_to_a_cap_and_a_new_expiry_resets() {
        assert_eq!(backoff_ms(1), 1_000);
        assert_eq!(backoff_ms(2), 2_000);
        assert_eq!(backoff_ms(4), 8_000);
        assert_eq!(backoff_ms(40), MAX_BACKOFF_MS);
        let mut s = Schedule::default();
        s.set("x", 0);
        assert_eq!(s.take_due(0), vec!["x".to_string()]);
        assert_eq!(s.failed("x", 100), 1_100);
        assert_eq!(s.take_due(1_100), vec!["x".to_string()]);
        assert_eq!(s.failed("x", 1_100), 3_100);
        s.set("x", 50);
        assert_eq!(s.take_due(50), vec!["x".to_string()]);
        assert_eq!(
            s.failed("x", 50),
            1_050,
            "a fresh expiry starts the backoff over"
        );
    }
}
