//! `*` globs, as Vault's bound lists use them (`bound_service_account_names = "app-*"`): `*`
//! matches any run of characters, including none; there is no other special character.

/// Whether `value` matches `pattern`.
pub fn matches(pattern: &str, value: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == value;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !value.starts_with(first) || value.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &value[first.len()..value.len() - last.len()];
    if !value.ends_with(last) {
        return false;
    }
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
}
