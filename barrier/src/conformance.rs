//! The one conformance suite every [`Physical`] implementation runs: [`run_physical_suite`].
//!
//! Not test-only, so other crates (node's Raft-backed store, the simulator's) can call it from
//! their own tests. Each check panics with `physical conformance: <check>: <what>` on violation.

use crate::physical::{Physical, PhysicalError};

/// Run every check against `p`, which must start empty; it is left empty again.
///
/// # Panics
/// On the first violated property, naming it.
pub async fn run_physical_suite(p: &dyn Physical) {
    let all = ok("start", p.list("").await);
    assert!(
        all.is_empty(),
        "physical conformance: store must start empty, has {all:?}"
    );
    get_missing_is_none(p).await;
    put_then_get(p).await;
    put_many_stores_each(p).await;
    overwrite_replaces(p).await;
    delete_removes(p).await;
    list_nested_folders(p).await;
    list_root(p).await;
    list_forgets_deleted(p).await;
    binary_and_empty_values(p).await;
    let all = ok("end", p.list("").await);
    assert!(
        all.is_empty(),
        "physical conformance: suite must leave the store empty, has {all:?}"
    );
}

/// Unwrap a store result, or panic naming the check.
fn ok<T>(check: &str, r: Result<T, PhysicalError>) -> T {
    r.unwrap_or_else(|e| panic!("physical conformance: {check}: store error: {e}"))
}

async fn get(p: &dyn Physical, check: &str, key: &str) -> Option<Vec<u8>> {
    ok(check, p.get(key).await)
}

async fn put(p: &dyn Physical, check: &str, key: &str, value: &[u8]) {
    ok(check, p.put(key, value.to_vec()).await)
}

async fn delete(p: &dyn Physical, check: &str, key: &str) {
    ok(check, p.delete(key).await)
}

async fn list(p: &dyn Physical, check: &str, prefix: &str) -> Vec<String> {
    ok(check, p.list(prefix).await)
}

/// Reading or deleting a key never written: `None`, and no error.
async fn get_missing_is_none(p: &dyn Physical) {
    let c = "get_missing_is_none";
    assert_eq!(
        get(p, c, "missing").await,
        None,
        "physical conformance: {c}"
    );
    delete(p, c, "missing").await;
    assert!(
        list(p, c, "missing/").await.is_empty(),
        "physical conformance: {c}: list"
    );
}

/// Every pair of a `put_many` is stored, and a later pair for the same key wins.
async fn put_many_stores_each(p: &dyn Physical) {
    let c = "put_many_stores_each";
    let pairs = vec![
        ("m/a".to_string(), b"1".to_vec()),
        ("m/b".to_string(), b"2".to_vec()),
        ("m/a".to_string(), b"3".to_vec()),
    ];
    ok(c, p.put_many(pairs).await);
    assert_eq!(
        get(p, c, "m/a").await.as_deref(),
        Some(&b"3"[..]),
        "physical conformance: {c}"
    );
    assert_eq!(
        get(p, c, "m/b").await.as_deref(),
        Some(&b"2"[..]),
        "physical conformance: {c}"
    );
    delete(p, c, "m/a").await;
    delete(p, c, "m/b").await;
}

/// A value put is the value got.
async fn put_then_get(p: &dyn Physical) {
    let c = "put_then_get";
    put(p, c, "k", b"v1").await;
    assert_eq!(
        get(p, c, "k").await.as_deref(),
        Some(&b"v1"[..]),
        "physical conformance: {c}"
    );
    delete(p, c, "k").await;
}

/// A second put replaces the first.
async fn overwrite_replaces(p: &dyn Physical) {
    let c = "overwrite_replaces";
    put(p, c, "k", b"first").await;
    put(p, c, "k", b"second").await;
    assert_eq!(
        get(p, c, "k").await.as_deref(),
        Some(&b"second"[..]),
        "physical conformance: {c}"
    );
    delete(p, c, "k").await;
}

/// A deleted key reads as `None` and deleting it again is fine.
async fn delete_removes(p: &dyn Physical) {
    let c = "delete_removes";
    put(p, c, "gone", b"x").await;
    delete(p, c, "gone").await;
    assert_eq!(get(p, c, "gone").await, None, "physical conformance: {c}");
    delete(p, c, "gone").await;
}

/// Folders show once, with a trailing slash; entries without; sorted.
async fn list_nested_folders(p: &dyn Physical) {
    let c = "list_nested_folders";
    for key in ["a/b/c", "a/b/d", "a/e", "a/f/g/h"] {
        put(p, c, key, b"x").await;
    }
    let expect = |prefix: &str, want: &[&str], got: Vec<String>| {
        assert_eq!(got, want, "physical conformance: {c}: list({prefix:?})");
    };
    expect("a/", &["b/", "e", "f/"], list(p, c, "a/").await);
    expect("a/b/", &["c", "d"], list(p, c, "a/b/").await);
    expect("a/f/", &["g/"], list(p, c, "a/f/").await);
    for key in ["a/b/c", "a/b/d", "a/e", "a/f/g/h"] {
        delete(p, c, key).await;
    }
}

/// The empty prefix lists the top level.
async fn list_root(p: &dyn Physical) {
    let c = "list_root";
    for key in ["top", "a/b/c", "z/y"] {
        put(p, c, key, b"x").await;
    }
    let got = list(p, c, "").await;
    assert_eq!(got, ["a/", "top", "z/"], "physical conformance: {c}");
    for key in ["top", "a/b/c", "z/y"] {
        delete(p, c, key).await;
    }
}

/// Deleted keys leave listings, and a folder with nothing left under it vanishes.
async fn list_forgets_deleted(p: &dyn Physical) {
    let c = "list_forgets_deleted";
    for key in ["d/x", "d/sub/y"] {
        put(p, c, key, b"x").await;
    }
    delete(p, c, "d/x").await;
    assert_eq!(
        list(p, c, "d/").await,
        ["sub/"],
        "physical conformance: {c}: entry"
    );
    delete(p, c, "d/sub/y").await;
    assert!(
        list(p, c, "d/").await.is_empty(),
        "physical conformance: {c}: folder"
    );
    assert!(
        list(p, c, "").await.is_empty(),
        "physical conformance: {c}: root"
    );
}

/// Every byte value, the empty value and a larger value survive unchanged.
async fn binary_and_empty_values(p: &dyn Physical) {
    let c = "binary_and_empty_values";
    let every_byte: Vec<u8> = (0..=255).collect();
    let large: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
    for (key, value) in [
        ("bin", &every_byte[..]),
        ("empty", &[][..]),
        ("large", &large[..]),
    ] {
        put(p, c, key, value).await;
        let got = get(p, c, key).await;
        assert_eq!(
            got.as_deref(),
            Some(value),
            "physical conformance: {c}: {key}"
        );
        delete(p, c, key).await;
    }
}
