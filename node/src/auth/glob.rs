//! `*` globs, as Vault's bound lists use them (`bound_service_account_names = "app-*"`): `*`
//! matches any run of characters, including none; there is no other special character.

/// Whether `value` matches `pattern`.
pub fn matches(pattern: &str, value: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == value;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    // Strip the prefix, then the suffix from what is left: they may not overlap, and every
    // cut lands on a character boundary (`value.len() - last.len()` need not, when the suffix
    // does not match: `*-prod` against "€€").
    let Some(mut rest) = value
        .strip_prefix(first)
        .and_then(|after| after.strip_suffix(last))
    else {
        return false;
    };
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

/// Whether any pattern of `patterns` matches `value`.
pub fn any_matches(patterns: &[String], value: &str) -> bool {
    patterns.iter().any(|p| matches(p, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_patterns_match_exactly() {
        assert!(matches("basic-secret", "basic-secret"));
        assert!(!matches("basic-secret", "basic-secret2"));
        assert!(!matches("basic-secret", ""));
    }

    #[test]
    fn stars_match_any_run() {
        assert!(matches("*", ""));
        assert!(matches("*", "anything"));
        assert!(matches("app-*", "app-"));
        assert!(matches("app-*", "app-web"));
        assert!(!matches("app-*", "ap"));
        assert!(matches("*-prod", "web-prod"));
        assert!(!matches("*-prod", "web-dev"));
        assert!(matches("a*b*c", "a-x-b-y-c"));
        assert!(!matches("a*b*c", "a-x-c-y-b"));
        assert!(
            !matches("ab*ba", "aba"),
            "prefix and suffix must not overlap"
        );
    }

    #[test]
    fn lists_match_if_any_pattern_does() {
        let names = vec!["web".to_string(), "job-*".to_string()];
        assert!(any_matches(&names, "job-7"));
        assert!(!any_matches(&names, "db"));
        assert!(!any_matches(&[], "db"));
    }

    #[test]
    fn multi_byte_values_do_not_split_characters() {
        assert!(!matches("*-prod", "€€"));
        assert!(!matches("€*", ""));
        assert!(matches("*€", "a€"));
        assert!(!matches("a*€", "€"));
        assert!(matches("€*€", "€€"));
        assert!(!matches("€*€", "€"));
    }
}

#[cfg(test)]
mod fuzz {
    use super::matches;
    use proptest::prelude::*;

    /// Strings over a small alphabet with multi-byte characters and `*`, so patterns and values
    /// share characters often enough to match.
    fn text() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[ab€é*-]{0,8}").expect("a valid regex")
    }

    /// A reference matcher over chars: `*` matches any run, everything else itself.
    fn reference(p: &[char], v: &[char]) -> bool {
        match p.split_first() {
            None => v.is_empty(),
            Some(('*', rest)) => (0..=v.len()).any(|i| reference(rest, &v[i..])),
            Some((c, rest)) => v.first() == Some(c) && reference(rest, &v[1..]),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 10000, ..ProptestConfig::default() })]

        #[test]
        fn fuzz_glob(pattern in text(), value in text(), any in any::<String>()) {
            let p: Vec<char> = pattern.chars().collect();
            let v: Vec<char> = value.chars().collect();
            prop_assert_eq!(matches(&pattern, &value), reference(&p, &v));
            // Arbitrary input never panics, and a literal (star-free) pattern matches only itself.
            let literal = any.replace('*', "");
            prop_assert!(matches(&literal, &literal));
            prop_assert_eq!(matches(&literal, &value), literal == value);
            let _ = matches(&any, &value);
            let _ = matches(&pattern, &any);
        }
    }
}
