//! Randomized self-check: histories generated from the model itself must pass every checker.

use std::collections::BTreeMap;

use super::{check_linearizable, check_no_duplicates, check_no_lost_writes, Register};
use crate::history::{History, OpKind, Outcome};

/// SplitMix64: a tiny deterministic PRNG, enough for test generation.
pub(super) struct SplitMix(pub(super) u64);

impl SplitMix {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A sequential history of up to 40 ops on a few keys, answered by the model; some writes time
/// out (applied or not), some fail (not applied), some CASes use a wrong version and are refused;
/// acknowledged writes and CASes report their version.
fn generate(seed: u64) -> (History, BTreeMap<String, String>) {
    let mut rng = SplitMix(seed);
    let mut state: BTreeMap<String, Register> = BTreeMap::new();
    let mut h = History::new();
    let mut now = 0;
    for i in 0..40 {
        let key = format!("k{}", rng.below(3));
        let reg = state.entry(key.clone()).or_default();
        let value = format!("v{seed}-{i}");
        let kind = match rng.below(5) {
            0 => OpKind::Read,
            1 => OpKind::Delete,
            2 => OpKind::Cas {
                expected_version: reg.version + rng.below(2),
                value,
            },
            _ => OpKind::Write(value),
        };
        let id = h.invoke(rng.below(4), key, kind, now);
        let outcome = answer(&mut rng, reg, h.op(id));
        h.complete(id, outcome, now + 1 + rng.below(5));
        now += 10;
    }
    let finals = state
        .into_iter()
        .filter_map(|(k, r)| r.value.map(|v| (k, v)))
        .collect();
    (h, finals)
}

/// Applies `op` to `reg` (or not) and returns what the client hears.
fn answer(rng: &mut SplitMix, reg: &mut Register, op: &crate::history::Op) -> Outcome {
    if op.kind == OpKind::Read {
        return Outcome::ReadValue(reg.value.clone());
    }
    match (reg.step(op), rng.below(6)) {
        (None, _) => Outcome::CasMismatch,
        (Some(_), 0) => Outcome::Failed,
        (Some(_), 1) => Outcome::Unknown,
        (Some(next), roll) => {
            let version = (op.kind != OpKind::Delete).then_some(next.version);
            *reg = next;
            if roll == 2 {
                Outcome::Unknown
            } else {
                Outcome::Ok(version)
            }
        }
    }
}

#[test]
fn model_generated_histories_pass_every_checker() {
    for seed in 0..300 {
        let (h, finals) = generate(seed);
        let fail = |e: super::Violation| panic!("seed {seed}: {e}");
        check_linearizable(&h).unwrap_or_else(fail);
        check_no_duplicates(&h).unwrap_or_else(fail);
        check_no_lost_writes(&h, &finals).unwrap_or_else(fail);
    }
}
