//! Non-exact matching: `+` segment patterns and their priority against the
//! longest `*` prefix, as Vault's `CheckAllowedFromNonExactPaths` ranks them.
//!
//! Priority, lowest first, comparing two matching patterns P1 and P2:
//! 1. the first `+` or `*` occurs earlier in P1;
//! 2. P1 ends in `*` and P2 does not;
//! 3. P1 has more `+` segments;
//! 4. P1 is shorter;
//! 5. P1 is smaller lexicographically.

use std::cmp::Reverse;

/// A pattern that matched a request path, with what ranks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Candidate<'a> {
    /// Byte offset of the first `+` (segment patterns) or of the `*`
    /// (prefix patterns, where it is the prefix length).
    pub first_wildcard: usize,
    pub is_prefix: bool,
    pub wildcards: usize,
    /// The pattern without its trailing `*`.
    pub pattern: &'a str,
}

/// The sort key: the greatest key wins.
type PriorityKey<'a> = (usize, bool, Reverse<usize>, usize, &'a str);

impl<'a> Candidate<'a> {
    /// A `*` prefix rule (stored without its `*`) that prefixes the path.
    pub fn prefix(prefix: &'a str) -> Candidate<'a> {
        Candidate {
            first_wildcard: prefix.len(),
            is_prefix: true,
            wildcards: 0,
            pattern: prefix,
        }
    }

    pub fn priority(&self) -> PriorityKey<'a> {
        (
            self.first_wildcard,
            !self.is_prefix,
            Reverse(self.wildcards),
            self.pattern.len(),
            self.pattern,
        )
    }
}

/// Matches a `+` pattern (trailing `*` allowed) against a request path
/// already split on `/`.
pub(crate) fn segment_match<'a>(full: &'a str, path_parts: &[&str]) -> Option<Candidate<'a>> {
    let first_wildcard = full.find('+')?;
    let (pattern, is_prefix) = match full.strip_suffix('*') {
        Some(stripped) => (stripped, true),
        None => (full, false),
    };
    let parts: Vec<&str> = pattern.split('/').collect();
    let length_ok = if is_prefix {
        path_parts.len() >= parts.len()
    } else {
        path_parts.len() == parts.len()
    };
    if !length_ok {
        return None;
    }
    let last = parts.len() - 1;
    let mut wildcards = 0;
    for (i, (want, got)) in parts.iter().zip(path_parts).enumerate() {
        match *want {
            "+" => wildcards += 1,
            _ if want == got => {}
            _ if is_prefix && i == last && got.starts_with(want) => {}
            _ => return None,
        }
    }
    Some(Candidate {
        first_wildcard,
        is_prefix,
        wildcards,
        pattern,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').collect();
        segment_match(pattern, &parts).is_some()
    }

    fn best<'a>(candidates: &[Candidate<'a>]) -> &'a str {
        candidates
            .iter()
            .max_by_key(|c| c.priority())
            .map(|c| c.pattern)
            .unwrap()
    }

    fn seg(pattern: &str, path: &str) -> Candidate<'static> {
        let pattern: &'static str = Box::leak(pattern.to_owned().into_boxed_str());
        let parts: Vec<&str> = path.split('/').collect();
        segment_match(pattern, &parts).expect("pattern matches")
    }

    #[test]
    fn plus_matches_exactly_one_segment() {
        assert!(matches("secret/+/teamb", "secret/foo/teamb"));
        assert!(!matches("secret/+/teamb", "secret/foo/bar/teamb"));
        assert!(!matches("secret/+/teamb", "secret/teamb"));
        assert!(!matches("secret/+/teamb", "secret/foo/teamb/x"));
        assert!(matches("secret/+/+/teamb", "secret/a/b/teamb"));
        assert!(matches("+/sys/tools", "ns1/sys/tools"));
        assert!(matches("secret/+", "secret/x"));
        assert!(!matches("secret/+", "secret/x/y"));
    }

    #[test]
    fn plus_with_trailing_glob() {
        assert!(matches("secret/+/team*", "secret/foo/teamb"));
        assert!(matches("secret/+/team*", "secret/foo/team/x/y"));
        assert!(!matches("secret/+/team*", "secret/foo/tea"));
        assert!(matches("secret/+/*", "secret/foo/"));
        assert!(matches("secret/+/*", "secret/foo/bar/baz"));
        assert!(!matches("secret/+/*", "secret/foo"));
    }

    #[test]
    fn priority_follows_vault_rules() {
        // Rule 1: later first wildcard wins (foo/a* over foo/+).
        let a = Candidate::prefix("foo/a");
        assert_eq!(best(&[a, seg("foo/+", "foo/ab")]), "foo/a");
        // Rule 2: no trailing glob wins (foo/+ over foo/*).
        assert_eq!(
            best(&[Candidate::prefix("foo/"), seg("foo/+", "foo/x")]),
            "foo/+"
        );
        // Rule 3: fewer + segments win.
        let fewer = seg("foo/bar/+/baz", "foo/bar/x/baz");
        let more = seg("foo/+/+/baz", "foo/bar/x/baz");
        assert_eq!(best(&[more, fewer]), "foo/bar/+/baz");
        // Rule 4: longer wins (foo/+/bar/ba* over foo/+/bar/b*).
        let long = seg("foo/+/bar/ba*", "foo/x/bar/baz");
        let short = seg("foo/+/bar/b*", "foo/x/bar/baz");
        assert_eq!(best(&[short, long]), "foo/+/bar/ba");
        // Rule 5: lexicographically greater wins.
        let x = seg("+/a", "b/a");
        let y = seg("+/b", "b/b");
        assert_eq!(best(&[x, y]), "+/b");
    }
}
