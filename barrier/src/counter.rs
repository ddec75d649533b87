//! How many values a key term has encrypted, counted so that the count survives restarts and
//! never reads low.
//!
//! AES-GCM with random 96-bit nonces is safe for about 2^32 encryptions under one key (NIST SP
//! 800-38D), so the node rotates a term once it has encrypted `max_operations` values. That only
//! works if the count is never *lower* than the truth, across crashes and leader changes too.
//!
//! The rule: **reserve before use**. Each term's record in `core/keyring` carries
//! `encryptions_reserved`, a ceiling. An encryption takes the next slot of the in-memory count;
//! if that slot is above the persisted ceiling, a larger ceiling (the count plus
//! [`RESERVATION_BLOCK`]) is written first, and only once that write has committed does the
//! encryption happen. So every encryption ever made under a term is at or below the ceiling in
//! storage. A node that loads the keyring (unseal, restart, taking over as leader) cannot know how
//! much of the last block was used, so it assumes all of it was: its count starts at the
//! ceiling.
//!
//! Consequence: a crash, restart or leader change can make the count read too *high*, by at most
//! one block (and a rotation comes that much sooner), never too low. With Vault's smallest
//! `max_operations` (1,000,000) one block is 1%; with its default (3,865,470,566) it is
//! negligible. The cost is one keyring write per block of encryptions. (OpenBao instead persists
//! the count every few minutes and accepts that a crash loses what was counted since.)
//!
//! Records written before this field existed read as ceiling 0: their earlier encryptions are
//! unknown, the one under-count this scheme cannot prevent.

use std::sync::atomic::{AtomicU64, Ordering};

/// How many encryptions one keyring write reserves.
pub const RESERVATION_BLOCK: u64 = 10_000;

/// What a claim needs before it may encrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    /// The claimed slots are under the persisted ceiling: encrypt now.
    Covered,
    /// Persist this ceiling first; encrypt only once it is stored.
    Reserve { ceiling: u64 },
}

/// The verdict for a claim that brought the count to `count` while `ceiling` is persisted.
pub(crate) fn claim_verdict(count: u64, ceiling: u64, block: u64) -> Claim {
    if count <= ceiling {
        Claim::Covered
    } else {
        Claim::Reserve {
            ceiling: count.saturating_add(block.max(1)),
        }
    }
}

/// One term's count and the ceiling known to be persisted. Lock-free: claims are atomic adds.
#[derive(Debug, Default)]
pub(crate) struct TermCounter {
    /// Encryptions claimed under the term (after a load: assumed to be the whole ceiling).
    count: AtomicU64,
    /// The largest ceiling known to be in storage.
    ceiling: AtomicU64,
}

impl TermCounter {
    /// The counter of a term read from storage with `ceiling` persisted: every reserved slot
    /// may have been used before this node read it.
    pub(crate) fn loaded(ceiling: u64) -> TermCounter {
        TermCounter {
            count: AtomicU64::new(ceiling),
            ceiling: AtomicU64::new(ceiling),
        }
    }

    /// Claim `n` encryptions; returns the count including them.
    pub(crate) fn claim(&self, n: u64) -> u64 {
        self.count.fetch_add(n, Ordering::SeqCst).saturating_add(n)
    }

    /// Encryptions counted so far.
    pub(crate) fn count(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }

    /// The largest ceiling known to be persisted.
    pub(crate) fn ceiling(&self) -> u64 {
        self.ceiling.load(Ordering::SeqCst)
    }

    /// `ceiling` has been persisted (call only after the write succeeded).
    pub(crate) fn persisted(&self, ceiling: u64) {
        self.ceiling.fetch_max(ceiling, Ordering::SeqCst);
    }

    /// Learn what another copy of the keyring holds. A stored ceiling above the one known here
    /// was reserved by another node (or process) and may be fully used, so the count rises to
    /// it; one at or below it tells nothing new (this node's own reservations).
    pub(crate) fn absorb(&self, stored_ceiling: u64) {
        let known = self.ceiling.fetch_max(stored_ceiling, Ordering::SeqCst);
        if stored_ceiling > known {
            self.count.fetch_max(stored_ceiling, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_under_the_ceiling_needs_no_write() {
        assert_eq!(claim_verdict(1, 10, 10), Claim::Covered);
        assert_eq!(claim_verdict(10, 10, 10), Claim::Covered);
    }

    #[test]
    fn a_claim_past_the_ceiling_reserves_a_block_beyond_it() {
        assert_eq!(claim_verdict(11, 10, 10), Claim::Reserve { ceiling: 21 });
        assert_eq!(claim_verdict(1, 0, 100), Claim::Reserve { ceiling: 101 });
        // A zero block still reserves the claim itself; the count never overflows.
        assert_eq!(claim_verdict(5, 0, 0), Claim::Reserve { ceiling: 6 });
        assert_eq!(
            claim_verdict(u64::MAX, 0, 10),
            Claim::Reserve { ceiling: u64::MAX }
        );
    }

    #[test]
    fn a_loaded_term_counts_its_whole_ceiling() {
        let c = TermCounter::loaded(300);
        assert_eq!((c.count(), c.ceiling()), (300, 300));
        assert_eq!(c.claim(2), 302);
    }

    #[test]
    fn absorbing_a_stored_ceiling_only_raises() {
        let c = TermCounter::loaded(0);
        c.claim(50);
        c.absorb(20);
        assert_eq!((c.count(), c.ceiling()), (50, 20));
        c.absorb(80);
        assert_eq!((c.count(), c.ceiling()), (80, 80));
        // Its own ceiling read back from storage: nothing used beyond what it counted.
        let own = TermCounter::loaded(0);
        own.claim(5);
        own.persisted(105);
        own.absorb(105);
        assert_eq!((own.count(), own.ceiling()), (5, 105));
    }

    /// The rule, simulated: any sequence of claims, reservations and crashes (a crash forgets
    /// the in-memory count and reloads from the persisted ceiling) leaves the count at or above
    /// the encryptions really made, and above them by at most one block per crash.
    #[test]
    fn crashes_over_count_by_at_most_a_block_and_never_under_count() {
        let block = 7;
        let mut persisted = 0u64;
        let mut counter = TermCounter::loaded(persisted);
        let mut real = 0u64;
        let mut crashes = 0u64;
        // A small deterministic generator: claim sizes 1..=3, a crash every so often.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            if seed.is_multiple_of(11) {
                counter = TermCounter::loaded(persisted);
                crashes += 1;
                continue;
            }
            let n = seed % 3 + 1;
            let after = counter.claim(n);
            if let Claim::Reserve { ceiling } = claim_verdict(after, counter.ceiling(), block) {
                // A crash between the reservation and the encryption: the slots are reserved
                // and counted, nothing was encrypted.
                persisted = persisted.max(ceiling);
                if seed.is_multiple_of(5) {
                    counter = TermCounter::loaded(persisted);
                    crashes += 1;
                    continue;
                }
                counter.persisted(ceiling);
            }
            real += n;
            assert!(real <= persisted, "an encryption above the stored ceiling");
            assert!(
                counter.count() >= real,
                "count {} < {real}",
                counter.count()
            );
        }
        assert!(crashes > 10);
        assert!(counter.count() >= real);
        // Each crash may waste at most the rest of one block plus the claim that reserved it.
        assert!(counter.count() <= real + (crashes + 1) * (block + 3));
    }
}
