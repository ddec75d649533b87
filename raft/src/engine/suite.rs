//! The one conformance suite every [`Engine`] must pass. It panics on the first violation.

use super::{Engine, Space, WriteBatch};

/// Run every check against `engine`, which must start empty. It is left non-empty.
pub fn engine_suite(engine: &dyn Engine) {
    starts_empty(engine);
    put_get_overwrite(engine);
    spaces_are_separate(engine);
    scan_is_ordered_and_bounded(engine);
    scan_prefix_stops_at_prefix(engine);
    scan_bytes_stops_at_the_budget(engine);
    last_returns_greatest_key(engine);
    delete_and_delete_range(engine);
    batch_applies_in_order(engine);
    empty_values_and_binary_keys(engine);
    sync_after_unsynced_writes(engine);
}

fn put(engine: &dyn Engine, space: Space, pairs: &[(&[u8], &[u8])]) {
    let mut batch = WriteBatch::new();
    for (k, v) in pairs {
        batch.put(space, *k, *v);
    }
    engine.write(batch, true).expect("write");
}

fn keys(engine: &dyn Engine, space: Space, start: &[u8], end: Option<&[u8]>) -> Vec<Vec<u8>> {
    let pairs = engine.scan(space, start, end).expect("scan");
    pairs.into_iter().map(|(k, _)| k).collect()
}

fn owned(keys: &[&[u8]]) -> Vec<Vec<u8>> {
    keys.iter().map(|k| k.to_vec()).collect()
}

fn starts_empty(engine: &dyn Engine) {
    for space in Space::ALL {
        assert!(
            keys(engine, space, b"", None).is_empty(),
            "{space:?} must start empty"
        );
        assert_eq!(engine.last(space).expect("last"), None);
    }
}

fn put_get_overwrite(engine: &dyn Engine) {
    assert_eq!(engine.get(Space::Data, b"k").expect("get"), None);
    put(engine, Space::Data, &[(b"k", b"v1")]);
    assert_eq!(
        engine.get(Space::Data, b"k").expect("get"),
        Some(b"v1".to_vec())
    );
    let mut batch = WriteBatch::new();
    batch.put(Space::Data, "k", "v2");
    engine.write(batch, false).expect("unsynced write");
    assert_eq!(
        engine.get(Space::Data, b"k").expect("get"),
        Some(b"v2".to_vec()),
        "unsynced writes are visible"
    );
}

fn spaces_are_separate(engine: &dyn Engine) {
    put(engine, Space::Log, &[(b"shared", b"log")]);
    put(engine, Space::Meta, &[(b"shared", b"meta")]);
    assert_eq!(
        engine.get(Space::Log, b"shared").expect("get"),
        Some(b"log".to_vec())
    );
    assert_eq!(
        engine.get(Space::Meta, b"shared").expect("get"),
        Some(b"meta".to_vec())
    );
    assert_eq!(engine.get(Space::Data, b"shared").expect("get"), None);
}

fn scan_is_ordered_and_bounded(engine: &dyn Engine) {
    put(
        engine,
        Space::Log,
        &[(b"c", b"3"), (b"a", b"1"), (b"b", b"2"), (b"d", b"4")],
    );
    let all = keys(engine, Space::Log, b"a", None);
    assert_eq!(all, owned(&[b"a", b"b", b"c", b"d", b"shared"]));
    assert_eq!(
        keys(engine, Space::Log, b"b", Some(b"d")),
        owned(&[b"b", b"c"]),
        "end is exclusive"
    );
    assert_eq!(keys(engine, Space::Log, b"bb", Some(b"cc")), owned(&[b"c"]));
    assert!(
        keys(engine, Space::Log, b"d", Some(b"b")).is_empty(),
        "inverted range is empty"
    );
    assert!(
        keys(engine, Space::Log, b"c", Some(b"c")).is_empty(),
        "empty range is empty"
    );
    let pairs = engine.scan(Space::Log, b"a", Some(b"b")).expect("scan");
    assert_eq!(
        pairs,
        vec![(b"a".to_vec(), b"1".to_vec())],
        "scan returns values"
    );
}

fn scan_bytes_stops_at_the_budget(engine: &dyn Engine) {
    put(
        engine,
        Space::Meta,
        &[(b"m1", b"aaaa"), (b"m2", b"bbbb"), (b"m3", b"cccc")],
    );
    let scan = |from: &[u8], max| -> Vec<Vec<u8>> {
        let pairs = engine.scan_bytes(Space::Meta, from, Some(b"n"), max);
        pairs
            .expect("scan_bytes")
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    };
    assert_eq!(
        scan(b"m", 8),
        owned(&[b"m1", b"m2"]),
        "values up to the budget"
    );
    assert_eq!(scan(b"m", 11), owned(&[b"m1", b"m2"]), "not past it");
    assert_eq!(scan(b"m", 12), owned(&[b"m1", b"m2", b"m3"]));
    assert_eq!(
        scan(b"m", 0),
        owned(&[b"m1"]),
        "the first pair, whatever its size"
    );
    assert_eq!(scan(b"m2", 4), owned(&[b"m2"]));
    assert!(scan(b"n", 0).is_empty(), "an empty range stays empty");
    let mut batch = WriteBatch::new();
    batch.delete_range(Space::Meta, b"m".to_vec(), Some(b"n".to_vec()));
    engine.write(batch, true).expect("write");
}

fn scan_prefix_stops_at_prefix(engine: &dyn Engine) {
    put(
        engine,
        Space::Data,
        &[
            (b"dir/a", b""),
            (b"dir/b/c", b""),
            (b"dir0", b""),
            (b"di", b""),
        ],
    );
    let found = engine
        .scan_prefix(Space::Data, b"dir/")
        .expect("scan_prefix");
    let found: Vec<Vec<u8>> = found.into_iter().map(|(k, _)| k).collect();
    assert_eq!(found, owned(&[b"dir/a", b"dir/b/c"]));
    put(
        engine,
        Space::Meta,
        &[(b"\xff\xff", b"x"), (b"\xff\xff\x01", b"y")],
    );
    let found = engine
        .scan_prefix(Space::Meta, b"\xff\xff")
        .expect("scan_prefix");
    assert_eq!(
        found.len(),
        2,
        "an all-0xFF prefix scans to the end of the space"
    );
}

fn last_returns_greatest_key(engine: &dyn Engine) {
    let mut big = 7u64.to_be_bytes().to_vec();
    put(
        engine,
        Space::Log,
        &[(&1u64.to_be_bytes(), b"1"), (&big, b"7")],
    );
    let (key, value) = engine
        .last(Space::Log)
        .expect("last")
        .expect("log has keys");
    assert_eq!(
        (key, value),
        (b"shared".to_vec(), b"log".to_vec()),
        "letters sort after 0x00"
    );
    big.insert(0, 0xff);
    put(engine, Space::Log, &[(&big, b"top")]);
    assert_eq!(
        engine.last(Space::Log).expect("last").map(|(_, v)| v),
        Some(b"top".to_vec())
    );
}

fn delete_and_delete_range(engine: &dyn Engine) {
    let mut batch = WriteBatch::new();
    batch.delete(Space::Log, "a");
    batch.delete(Space::Log, "absent");
    batch.delete_range(Space::Log, "b", Some(b"d".to_vec()));
    engine.write(batch, true).expect("write");
    let left = keys(engine, Space::Log, b"a", Some(b"z"));
    assert_eq!(left, owned(&[b"d", b"shared"]));

    let mut batch = WriteBatch::new();
    batch.delete_range(Space::Log, "", None);
    engine.write(batch, true).expect("write");
    assert!(
        keys(engine, Space::Log, b"", None).is_empty(),
        "unbounded range delete clears the space"
    );
    assert_eq!(engine.last(Space::Log).expect("last"), None);
    assert_eq!(
        engine.get(Space::Meta, b"shared").expect("get"),
        Some(b"meta".to_vec()),
        "other spaces untouched"
    );
}

fn batch_applies_in_order(engine: &dyn Engine) {
    let mut batch = WriteBatch::new();
    batch.put(Space::Data, "order/1", "x");
    batch.delete(Space::Data, "order/1");
    batch.delete(Space::Data, "order/2");
    batch.put(Space::Data, "order/2", "y");
    batch.put(Space::Data, "order/3", "a");
    batch.delete_range(Space::Data, "order/3", Some(b"order/4".to_vec()));
    batch.put(Space::Data, "order/3", "b");
    engine.write(batch, false).expect("write");
    assert_eq!(engine.get(Space::Data, b"order/1").expect("get"), None);
    assert_eq!(
        engine.get(Space::Data, b"order/2").expect("get"),
        Some(b"y".to_vec())
    );
    assert_eq!(
        engine.get(Space::Data, b"order/3").expect("get"),
        Some(b"b".to_vec())
    );
    engine
        .write(WriteBatch::new(), true)
        .expect("an empty batch is fine");
}

fn empty_values_and_binary_keys(engine: &dyn Engine) {
    let key = [0u8, 0xff, 0, 1];
    put(engine, Space::Meta, &[(&key, b"")]);
    assert_eq!(
        engine.get(Space::Meta, &key).expect("get"),
        Some(Vec::new()),
        "empty value is not absence"
    );
}

fn sync_after_unsynced_writes(engine: &dyn Engine) {
    for value in [&b"1"[..], b"2"] {
        let mut batch = WriteBatch::new();
        batch.put(Space::Log, b"unsynced", value);
        engine.write(batch, false).expect("unsynced write");
    }
    engine.sync().expect("sync");
    assert_eq!(
        engine.get(Space::Log, b"unsynced").expect("get"),
        Some(b"2".to_vec())
    );
}
