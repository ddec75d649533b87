//! Vault's LIST semantics over flat keys: the immediate children of a prefix.

use std::collections::BTreeSet;

/// The immediate children of `prefix` among `keys`: a key `prefix + "leaf"` yields `"leaf"`, a
/// key `prefix + "dir/anything"` yields `"dir/"` (once). Sorted, deduplicated; keys outside the
/// prefix, and the prefix itself, are ignored.
pub fn immediate_children<I, S>(prefix: &str, keys: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut children = BTreeSet::new();
    for key in keys {
        let Some(rest) = key.as_ref().strip_prefix(prefix) else {
            continue;
        };
        let child = match rest.find('/') {
            Some(slash) => &rest[..=slash],
            None => rest,
        };
        if !child.is_empty() {
            children.insert(child.to_string());
        }
    }
    children.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::immediate_children;

    #[test]
    fn lists_leaves_and_folders_once() {
        let keys = [
            "secret/a",
            "secret/b/c",
            "secret/b/d/e",
            "secret/",
            "secret0",
            "other/x",
            "secret/a/",
        ];
        assert_eq!(immediate_children("secret/", keys), vec!["a", "a/", "b/"]);
        assert_eq!(immediate_children("", ["x/y", "z"]), vec!["x/", "z"]);
        assert!(immediate_children("none/", ["secret/a"]).is_empty());
    }
}
