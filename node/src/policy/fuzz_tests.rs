//! Property-based fuzzing of the policy language (`cargo test fuzz_`): generated policies in
//! HCL and in JSON parse to the same rules (or are refused alike), arbitrary text never panics
//! the parser or the evaluator, and an exact rule grants what it lists.

use super::acl::Acl;
use super::matching::segment_match;
use super::parse::parse_policy;
use super::rule::PathMatcher;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

const CAPS: &[&str] = &[
    "create", "read", "update", "patch", "delete", "list", "sudo", "deny", "bogus",
];

/// One generated `path` block.
#[derive(Debug, Clone)]
struct Block {
    caps: Vec<&'static str>,
    allowed: BTreeMap<String, Vec<String>>,
    min_ttl: Option<u32>,
    max_ttl: Option<u32>,
}

fn block() -> impl Strategy<Value = Block> {
    (
        prop::collection::vec(prop::sample::select(CAPS), 0..4),
        prop::collection::btree_map(
            "[a-z_€]{1,5}",
            prop::collection::vec("[a-z*€ ]{0,5}", 0..3),
            0..3,
        ),
        prop::option::of(0u32..500),
        prop::option::of(0u32..500),
    )
        .prop_map(|(caps, allowed, min_ttl, max_ttl)| Block {
            caps,
            allowed,
            min_ttl,
            max_ttl,
        })
}

/// Policies of up to four blocks, on paths with globs, `+` segments and multi-byte characters.
fn policy() -> impl Strategy<Value = BTreeMap<String, Block>> {
    prop::collection::btree_map("/?[a-z€+]{0,4}(/[a-z€+]{0,4}){0,2}[*]?", block(), 0..4)
}

fn quote(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

fn to_hcl(policy: &BTreeMap<String, Block>) -> String {
    let mut out = String::new();
    for (path, b) in policy {
        let caps: Vec<String> = b.caps.iter().map(|c| quote(c)).collect();
        out += &format!(
            "path {} {{\n  capabilities = [{}]\n",
            quote(path),
            caps.join(", ")
        );
        if !b.allowed.is_empty() {
            out += "  allowed_parameters = {\n";
            for (k, vs) in &b.allowed {
                let vs: Vec<String> = vs.iter().map(|v| quote(v)).collect();
                out += &format!("    {} = [{}]\n", quote(k), vs.join(", "));
            }
            out += "  }\n";
        }
        if let Some(t) = b.min_ttl {
            out += &format!("  min_wrapping_ttl = \"{t}s\"\n");
        }
        if let Some(t) = b.max_ttl {
            out += &format!("  max_wrapping_ttl = {t}\n");
        }
        out += "}\n";
    }
    out
}

fn to_json(policy: &BTreeMap<String, Block>) -> String {
    let mut paths = Map::new();
    for (path, b) in policy {
        let mut body = json!({ "capabilities": b.caps });
        if !b.allowed.is_empty() {
            body["allowed_parameters"] = json!(b.allowed);
        }
        if let Some(t) = b.min_ttl {
            body["min_wrapping_ttl"] = json!(format!("{t}s"));
        }
        if let Some(t) = b.max_ttl {
            body["max_wrapping_ttl"] = json!(t);
        }
        paths.insert(path.clone(), body);
    }
    json!({ "path": paths }).to_string()
}

/// Near-valid policy text: HCL fragments spliced together, so the parser gets past the first
/// byte and into the rule walker.
fn fragments() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "path ",
        "\"a/*\" ",
        "\"+/b\" ",
        "{",
        "}",
        "capabilities = ",
        "[\"read\"]",
        "policy = ",
        "\"write\"",
        "allowed_parameters = ",
        "{ \"k\" = [] }",
        "min_wrapping_ttl = ",
        "\"1h\"",
        "max_wrapping_ttl = ",
        "-1",
        "\n",
        "\"€\"",
        "name = ",
        "\"{{identity.entity.id}}\"",
    ]);
    prop::collection::vec(piece, 0..16).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

    #[test]
    fn fuzz_policy_parse(
        generated in policy(),
        junk in any::<String>(),
        near in fragments(),
        probe in "[a-z€+/*]{0,10}",
    ) {
        let hcl = parse_policy("fuzz", &to_hcl(&generated));
        let json = parse_policy("fuzz", &to_json(&generated));
        // The same policy in both syntaxes is accepted or refused alike, with the same rules.
        match (&hcl, &json) {
            (Ok(h), Ok(j)) => {
                let mut hr = h.rules.clone();
                let mut jr = j.rules.clone();
                hr.sort_by(|a, b| a.path.cmp(&b.path));
                jr.sort_by(|a, b| a.path.cmp(&b.path));
                prop_assert_eq!(hr, jr);
            }
            (Err(_), Err(_)) => {}
            _ => prop_assert!(false, "hcl {:?} vs json {:?}", hcl, json),
        }
        // An exact rule grants what it lists (unless it denies).
        if let Ok(policy) = &hcl {
            // Parsing is a function of the text: the stored `raw` re-parses to the same policy.
            prop_assert_eq!(&parse_policy("fuzz", &policy.raw).ok(), &hcl.as_ref().ok().cloned());
            let acl = Acl::new([policy]);
            for rule in &policy.rules {
                let PathMatcher::Exact(path) = &rule.matcher else { continue };
                if rule.permissions.capabilities.is_deny() {
                    continue;
                }
                // Requests name paths without leading slashes, so a rule on `/x` (written
                // `//x`) is never reached; ask for the path a request would carry.
                let asked = path.trim_start_matches('/');
                for cap in ["read", "create", "update", "delete"] {
                    // Blocks whose paths normalise to the same one merge, and a deny in any
                    // of them wins. Like Vault, only one leading `/` is dropped: `//` is `/`.
                    let same: Vec<_> = generated.iter()
                        .filter(|(p, _)| p.strip_prefix('/').unwrap_or(p) == asked)
                        .map(|(_, b)| b)
                        .collect();
                    let denied = same.iter().any(|b| b.caps.contains(&"deny"));
                    let granted = !denied && same.iter().any(|b| b.caps.contains(&cap));
                    if granted {
                        prop_assert!(acl.allowed(asked, cap), "{} on {}", cap, asked);
                    }
                }
            }
            let _ = acl.capabilities(&probe);
            let _ = acl.check(&probe, "update", &Map::new());
        }
        // Arbitrary and near-valid text: an answer, never a panic; the evaluator too.
        for text in [&junk, &near] {
            if let Ok(policy) = parse_policy(&junk, text) {
                let acl = Acl::new([&policy]);
                let _ = acl.capabilities(&probe);
                let params: Map<String, Value> = [("k".to_owned(), json!(junk))].into_iter().collect();
                let _ = acl.check(&probe, "create", &params);
            }
        }
        let parts: Vec<&str> = probe.split('/').collect();
        let _ = segment_match(&junk, &parts);
        let _ = segment_match(&probe, &junk.split('/').collect::<Vec<_>>());
    }
}
