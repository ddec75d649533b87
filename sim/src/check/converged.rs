//! After healing, every node holds the same key-value state.

use std::collections::BTreeMap;

use super::{Violation, ViolationKind};

/// Checks that all `states` (one per node, key → value) are identical; reports the first key,
/// in key order, on which some node differs from node 0.
pub fn converged(states: &[BTreeMap<String, String>]) -> Result<(), Violation> {
    let Some((first, rest)) = states.split_first() else {
        return Ok(());
    };
    for (node, state) in rest.iter().enumerate() {
        if let Some(key) = first_difference(first, state) {
            let explanation = format!(
                "node 0 holds {:?} but node {} holds {:?}",
                first.get(key),
                node + 1,
                state.get(key)
            );
            let key = key.to_string();
            return Err(Violation {
                kind: ViolationKind::Diverged,
                key,
                explanation,
                ops: vec![],
            });
        }
    }
    Ok(())
}

fn first_difference<'a>(
    a: &'a BTreeMap<String, String>,
    b: &'a BTreeMap<String, String>,
) -> Option<&'a str> {
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .min()
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn identical_states_converge() {
        let s = state(&[("a", "1"), ("b", "2")]);
        assert_eq!(converged(&[s.clone(), s.clone(), s]), Ok(()));
        assert_eq!(converged(&[]), Ok(()));
    }

    #[test]
    fn first_difference_is_reported() {
        let a = state(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let b = state(&[("a", "1"), ("c", "9")]);
        let err = converged(&[a.clone(), a, b]).unwrap_err();
        assert_eq!((err.kind, err.key.as_str()), (ViolationKind::Diverged, "b"));
        assert!(err.explanation.contains("node 2 holds None"), "{err}");
    }
}
