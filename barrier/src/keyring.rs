//! The keyring: numbered key *terms*, and its record at `core/keyring`.
//!
//! Term 1 is created at initialize; each rotation adds the next term and makes it the one new
//! writes use. Old terms are never removed, so every value ever written stays readable. The
//! keyring is persisted as JSON (keys in base64, plus the root key, as Vault does) sealed under
//! the root key as term 0 in the format of `aead.rs`. Key bytes live in `Zeroizing` buffers and
//! no type here prints them. Each term's record also carries its persisted encryption ceiling
//! (`encryptions_reserved`; the rule is in `counter.rs`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::aead::KEY_LEN;
use crate::counter::TermCounter;
use crate::error::BarrierError;
use crate::random;
use crate::root_key::RootKey;

/// The only keyring record version written.
const RECORD_VERSION: u32 = 1;

/// Public facts about one key term (never the key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyInfo {
    /// The term number; data terms start at 1.
    pub term: u32,
    /// When the term was installed, in unix seconds.
    pub install_time: i64,
    /// Values encrypted under the term, as far as this node knows: never fewer than the truth,
    /// possibly more after a restart or leader change (see `counter.rs`).
    pub encryptions: u64,
}

/// One term's key. Shared by `Arc` between keyring generations so its counter survives
/// rotation and reload; the key is zeroized when the last holder drops it.
pub(crate) struct TermKey {
    term: u32,
    key: Zeroizing<[u8; KEY_LEN]>,
    install_time: i64,
    counter: TermCounter,
}

impl TermKey {
    fn new(
        term: u32,
        key: Zeroizing<[u8; KEY_LEN]>,
        install_time: i64,
        ceiling: u64,
    ) -> Arc<TermKey> {
        Arc::new(TermKey {
            term,
            key,
            install_time,
            counter: TermCounter::loaded(ceiling),
        })
    }

    /// The term number.
    pub(crate) fn term(&self) -> u32 {
        self.term
    }

    /// The AES-256 key.
    pub(crate) fn key(&self) -> &[u8; KEY_LEN] {
        &self.key
    }

    /// The term's encryption count and persisted ceiling.
    pub(crate) fn counter(&self) -> &TermCounter {
        &self.counter
    }

    /// Public facts about the term.
    pub(crate) fn info(&self) -> KeyInfo {
        KeyInfo {
            term: self.term,
            install_time: self.install_time,
            encryptions: self.counter.count(),
        }
    }
}

impl fmt::Debug for TermKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TermKey({}, ..)", self.term)
    }
}

/// The set of terms. Invariant: non-empty, no term 0, `active` is the highest term.
#[derive(Clone, Debug)]
pub(crate) struct Keyring {
    terms: BTreeMap<u32, Arc<TermKey>>,
    active: u32,
}

impl Keyring {
    /// A keyring holding only a fresh term 1.
    pub(crate) fn first(now_unix: i64) -> Result<Keyring, BarrierError> {
        let term = TermKey::new(1, random_key()?, now_unix, 0);
        Ok(Keyring {
            terms: BTreeMap::from([(1, term)]),
            active: 1,
        })
    }

    /// The term new writes use.
    pub(crate) fn active(&self) -> &Arc<TermKey> {
        self.terms
            .get(&self.active)
            .expect("keyring invariant: the active term is in the map")
    }

    /// The key of `term`, if known.
    pub(crate) fn term(&self, term: u32) -> Option<&Arc<TermKey>> {
        self.terms.get(&term)
    }

    /// This keyring plus a fresh term after the active one, which becomes active.
    pub(crate) fn rotated(&self, now_unix: i64) -> Result<Keyring, BarrierError> {
        let next = self
            .active
            .checked_add(1)
            .ok_or_else(|| BarrierError::Corrupt("key term overflow".into()))?;
        let mut terms = self.terms.clone();
        terms.insert(next, TermKey::new(next, random_key()?, now_unix, 0));
        Ok(Keyring {
            terms,
            active: next,
        })
    }

    /// The union of this keyring and `other` (e.g. just read from storage). A term present in
    /// both must carry the same key; this side's entry is kept, its counter raised to what
    /// `other` has persisted.
    pub(crate) fn merged(&self, other: &Keyring) -> Result<Keyring, BarrierError> {
        let mut terms = self.terms.clone();
        for (n, theirs) in &other.terms {
            match terms.get(n) {
                Some(ours) if ours.key[..] != theirs.key[..] => {
                    return Err(BarrierError::Corrupt(format!(
                        "two different keys for term {n}"
                    )));
                }
                Some(ours) => ours.counter.absorb(theirs.counter.ceiling()),
                None => {
                    terms.insert(*n, theirs.clone());
                }
            }
        }
        Ok(Keyring {
            terms,
            active: self.active.max(other.active),
        })
    }

    /// The JSON record of this keyring and `root`, in a zeroizing buffer. `reserve` raises one
    /// term's ceiling in the record (not yet in memory: that waits for the write to succeed).
    pub(crate) fn to_json(
        &self,
        root: &RootKey,
        reserve: Option<(u32, u64)>,
    ) -> Result<Zeroizing<Vec<u8>>, BarrierError> {
        let record = KeyringRecord {
            version: RECORD_VERSION,
            root_key: BASE64.encode(root.as_bytes()),
            active_term: self.active,
            terms: self
                .terms
                .values()
                .map(|t| {
                    let raised = reserve.filter(|(n, _)| *n == t.term).map(|(_, c)| c);
                    TermRecord::of(t, raised.unwrap_or(0))
                })
                .collect(),
        };
        // Sized up front so the buffer does not reallocate and leave key copies behind.
        let mut json = Zeroizing::new(Vec::with_capacity(256 + 128 * self.terms.len()));
        serde_json::to_writer(&mut *json, &record)
            .map_err(|e| BarrierError::Corrupt(format!("cannot encode keyring: {e}")))?;
        Ok(json)
    }

    /// Parse a JSON record; its root key must be `root`.
    pub(crate) fn from_json(json: &[u8], root: &RootKey) -> Result<Keyring, BarrierError> {
        let record: KeyringRecord = serde_json::from_slice(json)
            .map_err(|e| BarrierError::Corrupt(format!("cannot parse keyring: {e}")))?;
        if record.version != RECORD_VERSION {
            return Err(corrupt(format!(
                "unknown record version {}",
                record.version
            )));
        }
        if decode_key(&record.root_key)?[..] != root.as_bytes()[..] {
            return Err(corrupt("record names another root key".into()));
        }
        let mut terms = BTreeMap::new();
        for t in &record.terms {
            let entry = TermKey::new(
                t.term,
                decode_key(&t.key)?,
                t.install_time,
                t.encryptions_reserved,
            );
            if t.term == 0 || terms.insert(t.term, entry).is_some() {
                return Err(corrupt(format!("term {} is reserved or repeated", t.term)));
            }
        }
        if terms.keys().next_back() != Some(&record.active_term) {
            return Err(corrupt(format!(
                "active term {} is not the newest",
                record.active_term
            )));
        }
        Ok(Keyring {
            terms,
            active: record.active_term,
        })
    }
}

fn corrupt(reason: String) -> BarrierError {
    BarrierError::Corrupt(reason)
}

/// A fresh random term key.
fn random_key() -> Result<Zeroizing<[u8; KEY_LEN]>, BarrierError> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    random::fill(&mut key[..])?;
    Ok(key)
}

/// A 32-byte key from base64.
fn decode_key(b64: &str) -> Result<Zeroizing<[u8; KEY_LEN]>, BarrierError> {
    let bytes = Zeroizing::new(
        BASE64
            .decode(b64)
            .map_err(|_| corrupt("key is not base64".into()))?,
    );
    if bytes.len() != KEY_LEN {
        return Err(corrupt(format!(
            "key is {} bytes, not {KEY_LEN}",
            bytes.len()
        )));
    }
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    key.copy_from_slice(&bytes);
    Ok(key)
}

/// The persisted keyring, as JSON. Zeroized on drop: it holds base64 key material.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct KeyringRecord {
    version: u32,
    root_key: String,
    active_term: u32,
    terms: Vec<TermRecord>,
}

/// One persisted term.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct TermRecord {
    term: u32,
    key: String,
    install_time: i64,
    /// The encryption ceiling (`counter.rs`); absent in records written before it existed.
    #[serde(default)]
    encryptions_reserved: u64,
}

impl TermRecord {
    /// The record of `t`, its ceiling raised to at least `reserve`.
    fn of(t: &TermKey, reserve: u64) -> TermRecord {
        TermRecord {
            term: t.term,
            key: BASE64.encode(&t.key[..]),
            install_time: t.install_time,
            encryptions_reserved: t.counter.ceiling().max(reserve),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> RootKey {
        RootKey::from_bytes(&[3; KEY_LEN]).unwrap()
    }

    #[test]
    fn json_roundtrip_keeps_terms() {
        let ring = Keyring::first(100).unwrap().rotated(200).unwrap();
        let back = Keyring::from_json(&ring.to_json(&root(), None).unwrap(), &root()).unwrap();
        assert_eq!(
            back.active().info(),
            KeyInfo {
                term: 2,
                install_time: 200,
                encryptions: 0
            }
        );
        assert_eq!(back.term(1).unwrap().key(), ring.term(1).unwrap().key());
        assert_eq!(back.term(2).unwrap().key(), ring.term(2).unwrap().key());
    }

    #[test]
    fn ceilings_roundtrip_and_old_records_read_as_zero() {
        let ring = Keyring::first(1).unwrap().rotated(2).unwrap();
        let json = ring.to_json(&root(), Some((1, 40))).unwrap();
        // The reservation is in the record, not yet in memory.
        assert_eq!(ring.term(1).unwrap().counter().ceiling(), 0);
        let back = Keyring::from_json(&json, &root()).unwrap();
        assert_eq!(back.term(1).unwrap().info().encryptions, 40);
        assert_eq!(back.term(2).unwrap().info().encryptions, 0);
        let text = String::from_utf8(json.to_vec()).unwrap();
        let old = text.replace(",\"encryptions_reserved\":40", "");
        assert_ne!(old, text);
        let back = Keyring::from_json(old.as_bytes(), &root()).unwrap();
        assert_eq!(back.term(1).unwrap().info().encryptions, 0);
    }

    #[test]
    fn merge_raises_counts_to_the_stored_ceiling() {
        let ours = Keyring::first(1).unwrap();
        ours.active().counter().claim(5);
        let stored =
            Keyring::from_json(&ours.to_json(&root(), Some((1, 30))).unwrap(), &root()).unwrap();
        let merged = ours.merged(&stored).unwrap();
        assert_eq!(merged.active().info().encryptions, 30);
        assert_eq!(ours.active().counter().ceiling(), 30);
    }

    #[test]
    fn record_for_another_root_is_corrupt() {
        let json = Keyring::first(1).unwrap().to_json(&root(), None).unwrap();
        let other = RootKey::from_bytes(&[4; KEY_LEN]).unwrap();
        assert!(matches!(
            Keyring::from_json(&json, &other),
            Err(BarrierError::Corrupt(_))
        ));
    }

    #[test]
    fn stale_active_term_is_corrupt() {
        let json = Keyring::first(1)
            .unwrap()
            .rotated(2)
            .unwrap()
            .to_json(&root(), None)
            .unwrap();
        let text = String::from_utf8(json.to_vec()).unwrap();
        let bad = text.replace("\"active_term\":2", "\"active_term\":1");
        assert!(matches!(
            Keyring::from_json(bad.as_bytes(), &root()),
            Err(BarrierError::Corrupt(_))
        ));
    }

    #[test]
    fn merge_is_a_union_and_rejects_conflicts() {
        let base = Keyring::first(1).unwrap();
        let ahead = base.rotated(2).unwrap().rotated(3).unwrap();
        let merged = base.merged(&ahead).unwrap();
        assert_eq!(merged.active().term(), 3);
        assert!(Arc::ptr_eq(merged.term(1).unwrap(), base.term(1).unwrap()));
        let fork = base.rotated(9).unwrap();
        assert!(matches!(fork.merged(&ahead), Err(BarrierError::Corrupt(_))));
    }

    #[test]
    fn debug_prints_no_key() {
        let ring = Keyring::first(1).unwrap();
        let shown = format!("{ring:?}");
        assert!(shown.contains("TermKey(1, ..)"), "{shown}");
        assert!(!shown.contains(&format!("{:?}", ring.active().key())));
    }
}
