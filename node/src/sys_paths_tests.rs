use super::*;

/// Every root-protected path Vault 1.16 declares (the system backend's and the token store's
/// `PathsSpecial.Root`, which the policies page's "root-protected API endpoints" table lists),
/// each with a concrete path it covers, and whether Coffer serves it yet. A path Coffer does
/// not serve is still marked so a future handler inherits `sudo`.
const VAULT_SUDO: &[(&str, &str, bool)] = &[
    // (Vault pattern, a concrete request path, served by Coffer today)
    ("sys/auth/*", "sys/auth/userpass", true),
    ("sys/auth/*", "sys/auth/userpass/tune", true),
    ("sys/remount", "sys/remount", true),
    ("sys/audit", "sys/audit", true),
    ("sys/audit/*", "sys/audit/file", true),
    ("sys/raw", "sys/raw", false),
    ("sys/raw/*", "sys/raw/core/keyring", false),
    (
        "sys/replication/primary/secondary-token",
        "sys/replication/primary/secondary-token",
        false,
    ),
    (
        "sys/replication/performance/primary/secondary-token",
        "sys/replication/performance/primary/secondary-token",
        false,
    ),
    (
        "sys/replication/dr/primary/secondary-token",
        "sys/replication/dr/primary/secondary-token",
        false,
    ),
    ("sys/replication/reindex", "sys/replication/reindex", false),
    (
        "sys/replication/dr/reindex",
        "sys/replication/dr/reindex",
        false,
    ),
    (
        "sys/replication/performance/reindex",
        "sys/replication/performance/reindex",
        false,
    ),
    ("sys/rotate", "sys/rotate", true),
    ("sys/config/cors", "sys/config/cors", false),
    (
        "sys/config/auditing/*",
        "sys/config/auditing/request-headers/x",
        false,
    ),
    ("sys/config/ui/headers/*", "sys/config/ui/headers/x", false),
    (
        "sys/plugins/catalog/*",
        "sys/plugins/catalog/secret/x",
        false,
    ),
    (
        "sys/plugins/runtimes/catalog/*",
        "sys/plugins/runtimes/catalog/container/x",
        false,
    ),
    (
        "sys/revoke-prefix/*",
        "sys/revoke-prefix/auth/userpass",
        true,
    ),
    ("sys/revoke-force/*", "sys/revoke-force/auth/userpass", true),
    (
        "sys/leases/revoke-prefix/*",
        "sys/leases/revoke-prefix/auth/userpass",
        true,
    ),
    (
        "sys/leases/revoke-force/*",
        "sys/leases/revoke-force/auth/userpass",
        true,
    ),
    (
        "sys/leases/lookup/*",
        "sys/leases/lookup/auth/token/create/",
        true,
    ),
    (
        "sys/storage/raft/snapshot-auto/config/*",
        "sys/storage/raft/snapshot-auto/config/d",
        false,
    ),
    ("sys/leases", "sys/leases", false),
    (
        "sys/internal/inspect/*",
        "sys/internal/inspect/router/x",
        false,
    ),
    ("sys/seal", "sys/seal", true),
    ("sys/step-down", "sys/step-down", true),
    ("auth/token/revoke-orphan", "auth/token/revoke-orphan", true),
    (
        "auth/token/revoke-orphan/*",
        "auth/token/revoke-orphan/x",
        true,
    ),
    ("auth/token/accessors*", "auth/token/accessors/", true),
];

#[test]
fn every_path_vault_marks_root_protected_needs_sudo() {
    for (pattern, path, _served) in VAULT_SUDO {
        assert!(
            is(path, |p| p.sudo),
            "{path} (Vault's {pattern}) must need sudo"
        );
    }
    let not_served: Vec<_> = VAULT_SUDO.iter().filter(|(_, _, s)| !s).collect();
    assert!(
        !not_served.is_empty(),
        "the list says which are not served yet"
    );
}

#[test]
fn legacy_aliases_share_the_properties_of_their_current_form() {
    let pairs = [
        ("sys/revoke", "sys/leases/revoke"),
        (
            "sys/revoke/auth/token/create/abc",
            "sys/leases/revoke/auth/token/create/abc",
        ),
        (
            "sys/revoke-prefix/auth/token",
            "sys/leases/revoke-prefix/auth/token",
        ),
        ("sys/revoke-prefix", "sys/leases/revoke-prefix"),
        (
            "sys/revoke-force/auth/token",
            "sys/leases/revoke-force/auth/token",
        ),
        ("sys/renew", "sys/leases/renew"),
        ("sys/renew/abc", "sys/leases/renew/abc"),
        ("sys/policy/admin", "sys/policies/acl/admin"),
        ("sys/policy", "sys/policies/acl"),
    ];
    for (legacy, current) in pairs {
        assert_eq!(lookup(legacy), lookup(current), "{legacy} vs {current}");
    }
    assert!(is("sys/revoke-prefix/auth/userpass", |p| p.sudo));
    assert!(is("sys/revoke-force/x", |p| p.sudo));
    // A longer word is not the alias.
    assert_eq!(canonical("sys/revoked"), "sys/revoked");
    assert_eq!(canonical("sys/policyx"), "sys/policyx");
}

#[test]
fn patterns_match_exactly() {
    // An exact pattern is not a prefix: rotate/config is not rotate.
    assert!(is("sys/rotate", |p| p.sudo));
    assert!(is("sys/rotate/", |p| p.sudo));
    assert!(!is("sys/rotate/config", |p| p.sudo));
    assert!(!is("sys/rotatex", |p| p.sudo));
    // `sys/audit` and `sys/audit/*`, but not `sys/audit-hash/*`.
    assert!(is("sys/audit/file", |p| p.sudo));
    assert!(!is("sys/audit-hash/file", |p| p.sudo));
    // `sys/auth/*` is everything under sys/auth/, not the listing itself.
    assert!(!is("sys/auth", |p| p.sudo));
    assert!(is("sys/auth/", |p| p.sudo));
    // A `*` is a string prefix.
    assert!(is("auth/token/accessors", |p| p.sudo));
    assert!(!is("auth/token/lookup-accessor", |p| p.sudo));
    // `+` is one whole, non-empty segment.
    assert!(matches("sys/+/x", "sys/a/x"));
    assert!(!matches("sys/+/x", "sys//x"));
    assert!(!matches("sys/+/x", "sys/a/b/x"));
    assert!(matches("sys/+/x/*", "sys/a/x/anything/more"));
    // No row, no properties.
    assert_eq!(lookup("secret/data/x"), None);
    assert_eq!(lookup("sys/mounts"), None);
}

#[test]
fn the_status_paths_answer_sealed_and_locally() {
    for path in ["sys/init", "sys/seal-status", "sys/unseal", "sys/health"] {
        let row = lookup(path).unwrap();
        assert!(row.unauthenticated && row.sealed_ok && row.local, "{path}");
    }
    // Answered without a token, but only unsealed.
    for path in ["sys/leader", "sys/rekey/init", "sys/generate-root/attempt"] {
        let row = lookup(path).unwrap();
        assert!(row.unauthenticated && !row.sealed_ok, "{path}");
    }
    // Needs a token, answered by the node asked.
    let metrics = lookup("sys/metrics").unwrap();
    assert!(metrics.local && !metrics.unauthenticated);
}

#[test]
fn table_invariants() {
    for row in SYS_PATHS {
        // Sealed-ok paths need no token: a sealed node has no token store to check one.
        assert!(!row.sealed_ok || row.unauthenticated, "{}", row.pattern);
        // A sealed-ok path must be answered by the node asked: a sealed node cannot forward.
        assert!(!row.sealed_ok || row.local, "{}", row.pattern);
        // No path is both open to anyone and root-protected.
        assert!(!(row.sudo && row.unauthenticated), "{}", row.pattern);
        // Only status endpoints go unaudited: no path a token or key share acts through.
        assert!(
            !row.unaudited || (row.unauthenticated && row.local),
            "{}",
            row.pattern
        );
        // Aliases are never rows of their own: they resolve to the current form.
        assert_eq!(canonical(row.pattern), row.pattern);
    }
    // Only the snapshot restores take a raw body, and only they.
    let raw: Vec<_> = SYS_PATHS
        .iter()
        .filter(|r| r.raw_body)
        .map(|r| r.pattern)
        .collect();
    assert_eq!(
        raw,
        [
            "sys/storage/raft/snapshot",
            "sys/storage/raft/snapshot-force"
        ]
    );
}

#[test]
fn the_key_ceremonies_and_raft_bootstrap_are_audited() {
    for path in [
        "sys/generate-root/attempt",
        "sys/generate-root/update",
        "sys/rekey/init",
        "sys/rekey/update",
        "sys/rekey-recovery-key/verify",
        "sys/storage/raft/bootstrap/challenge",
        "sys/storage/raft/bootstrap/answer",
        "sys/storage/raft/join",
        "sys/wrapping/lookup",
    ] {
        assert!(lookup(path).is_some_and(|r| !r.unaudited), "{path}");
    }
    for path in [
        "sys/health",
        "sys/seal-status",
        "sys/init",
        "sys/unseal",
        "sys/leader",
    ] {
        assert!(lookup(path).is_some_and(|r| r.unaudited), "{path}");
    }
}

#[test]
fn the_ui_mount_lookups_need_no_token_but_resultant_acl_does() {
    for path in [
        "sys/internal/ui/mounts",
        "sys/internal/ui/mounts/",
        "sys/internal/ui/mounts/secret/data/x",
    ] {
        let row = lookup(path).unwrap();
        // Forwarded to the active node (not local), audited, refused while sealed.
        assert!(
            row.unauthenticated && !row.sealed_ok && !row.local && !row.unaudited,
            "{path}"
        );
    }
    assert!(!is("sys/internal/ui/resultant-acl", |r| r.unauthenticated));
    assert!(!is("sys/internal/uix", |r| r.unauthenticated));
}

#[test]
fn every_row_starts_with_a_whole_literal_segment() {
    // `lookup` skips rows by first segment; a `+` or a glob there would be skipped wrongly.
    for row in SYS_PATHS {
        let head = first_segment(row.pattern);
        assert!(head != "+" && !head.is_empty(), "{}", row.pattern);
        assert_eq!(
            row.pattern.as_bytes().get(head.len()),
            Some(&b'/'),
            "{}",
            row.pattern
        );
    }
}
