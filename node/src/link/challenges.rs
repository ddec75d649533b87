//! The active node's book of join challenges it issued and has not seen answered.
//!
//! `sys/storage/raft/bootstrap/challenge` is unauthenticated (a joining node has no token), so
//! the book is bounded: at most [`PENDING_MAX`] challenges, each dropped [`PENDING_TTL`] after it
//! was issued. A full book of live challenges refuses new server ids (the caller answers 429)
//! rather than evicting one, so a flood cannot silently displace a joiner that is mid-handshake;
//! a server id asking again replaces its own entry. Plain data with the time passed in.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

/// The most challenges pending at once.
pub const PENDING_MAX: usize = 64;
/// How long an issued challenge can be answered.
pub const PENDING_TTL: Duration = Duration::from_secs(120);

/// The book is full of unexpired challenges for other server ids.
#[derive(Debug, PartialEq, Eq)]
pub struct BookFull;

/// Pending challenges by server id, each with the time it was issued.
pub struct ChallengeBook<T> {
    pending: HashMap<String, (SystemTime, T)>,
}

impl<T> Default for ChallengeBook<T> {
    fn default() -> Self {
        Self {
            pending: HashMap::new(),
        }
    }
}

fn expired(issued: SystemTime, now: SystemTime) -> bool {
    // A clock that stepped back leaves the entry live; one that leapt ahead expires it.
    now.duration_since(issued)
        .is_ok_and(|age| age >= PENDING_TTL)
}

impl<T> ChallengeBook<T> {
    /// Record a challenge for `server_id` issued at `now`.
    pub fn insert(&mut self, server_id: String, entry: T, now: SystemTime) -> Result<(), BookFull> {
        self.pending.retain(|_, (issued, _)| !expired(*issued, now));
        if self.pending.len() >= PENDING_MAX && !self.pending.contains_key(&server_id) {
            return Err(BookFull);
        }
        self.pending.insert(server_id, (now, entry));
        Ok(())
    }

    /// Take the challenge for `server_id` if one is pending and unexpired at `now`.
    pub fn take(&mut self, server_id: &str, now: SystemTime) -> Option<T> {
        let (issued, entry) = self.pending.remove(server_id)?;
        (!expired(issued, now)).then_some(entry)
    }

    /// How many challenges are held (expired ones included until the next insert).
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
    }

    #[test]
    fn a_full_book_refuses_new_ids_but_lets_an_id_ask_again() {
        let mut book = ChallengeBook::default();
        for i in 0..PENDING_MAX {
            book.insert(i.to_string(), i, t(0)).unwrap();
        }
        assert_eq!(book.insert("new".into(), 99, t(1)), Err(BookFull));
        assert_eq!(book.len(), PENDING_MAX);
        book.insert("3".into(), 33, t(1)).unwrap();
        assert_eq!(book.len(), PENDING_MAX);
        assert_eq!(book.take("3", t(2)), Some(33));
        book.insert("new".into(), 99, t(2)).unwrap();
        assert_eq!(book.take("new", t(2)), Some(99));
    }

    #[test]
    fn challenges_expire_after_the_ttl() {
        let mut book = ChallengeBook::default();
        book.insert("2".into(), "a", t(0)).unwrap();
        book.insert("3".into(), "b", t(0)).unwrap();
        let ttl = PENDING_TTL.as_secs();
        assert_eq!(book.take("2", t(ttl - 1)), Some("a"));
        assert_eq!(book.take("3", t(ttl)), None);
        assert!(book.is_empty());
    }

    #[test]
    fn expired_challenges_make_room() {
        let mut book = ChallengeBook::default();
        for i in 0..PENDING_MAX {
            book.insert(i.to_string(), i, t(0)).unwrap();
        }
        book.insert("late".into(), 1, t(PENDING_TTL.as_secs()))
            .unwrap();
        assert_eq!(book.len(), 1);
    }

    #[test]
    fn a_clock_that_steps_back_does_not_expire_a_challenge() {
        let mut book = ChallengeBook::default();
        book.insert("2".into(), 2, t(100)).unwrap();
        assert_eq!(book.take("2", t(0)), Some(2));
    }

    #[test]
    fn unknown_ids_take_nothing() {
        let mut book: ChallengeBook<u8> = ChallengeBook::default();
        assert_eq!(book.take("nobody", t(0)), None);
    }
}
