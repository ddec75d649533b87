//! Every random identifier the node hands out (UUIDs, tokens, accessors, nonces) comes from here,
//! and here from getrandom ≥ 0.3, which madsim makes deterministic under simulation.

/// `n` random bytes.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    // getrandom fails only when the OS has no entropy source at all; nothing can run then.
    getrandom::fill(&mut buf).expect("the OS entropy source is available");
    buf
}

/// A random (v4) UUID in its hyphenated form.
pub fn uuid() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS entropy source is available");
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` random base62 characters (rejection sampling, so every character is equally likely).
pub fn base62(len: usize) -> String {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in random_bytes(len * 2) {
            if (b as usize) < 62 * 4 && out.len() < len {
                out.push(BASE62[(b as usize) % 62] as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_distinct_and_well_formed() {
        let a = uuid();
        let b = uuid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }

    #[test]
    fn base62_has_requested_length_and_alphabet() {
        let s = base62(24);
        assert_eq!(s.len(), 24);
        assert!(s.bytes().all(|c| BASE62.contains(&c)));
    }
}
