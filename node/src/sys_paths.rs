//! What a special path is, in one table: which paths need no token, which a sealed node still
//! answers, which every node answers itself instead of forwarding, which need `sudo`, which
//! take a raw (non-JSON) body, and which are not audited. The pipeline, the HTTP parser, the cluster's forwarding and
//! response wrapping all read this table; none keeps a list of its own.
//!
//! Patterns follow Vault's `PathsSpecial`: a pattern is an exact path, or ends in `*` (a plain
//! string prefix: `sys/auth/*` matches `sys/auth/x` but not `sys/auth`; `auth/token/accessors*`
//! matches `auth/token/accessors/`), and a `+` segment matches any one non-empty segment. An
//! exact pattern also matches the path with one trailing `/`. When several rows match, an exact
//! one wins, then the longest pattern.
//!
//! Legacy aliases (`sys/revoke`, `sys/revoke-prefix`, `sys/revoke-force`, `sys/renew`,
//! `sys/policy`) are looked up as their current forms, so an alias can never have weaker
//! properties than the path it stands for.
//!
//! This module imports nothing: every layer reads it.

/// The properties of one special path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SysPath {
    /// The pattern, relative to `/v1/` (see the module docs for its syntax).
    pub pattern: &'static str,
    /// Served without a token (and without an ACL check).
    pub unauthenticated: bool,
    /// Answered while the node is sealed; an unauthenticated path without it answers 503.
    pub sealed_ok: bool,
    /// Answered by the node that received it, never forwarded to the active node.
    pub local: bool,
    /// Needs the `sudo` capability (or root) on the requested path, besides the operation's own.
    pub sudo: bool,
    /// A write's body is bytes, not a JSON object (snapshot restore).
    pub raw_body: bool,
    /// Not audited: the status endpoints Vault also answers outside its audited request path
    /// (init, seal-status, unseal, health, leader). Every other path is audited, the
    /// unauthenticated key ceremonies and raft bootstrap calls included.
    pub unaudited: bool,
}

const UNAUTH: u8 = 1;
const SEALED_OK: u8 = 2;
const LOCAL: u8 = 4;
const SUDO: u8 = 8;
const RAW_BODY: u8 = 16;
const UNAUDITED: u8 = 32;

const fn p(pattern: &'static str, flags: u8) -> SysPath {
    SysPath {
        pattern,
        unauthenticated: flags & UNAUTH != 0,
        sealed_ok: flags & SEALED_OK != 0,
        local: flags & LOCAL != 0,
        sudo: flags & SUDO != 0,
        raw_body: flags & RAW_BODY != 0,
        unaudited: flags & UNAUDITED != 0,
    }
}

/// Every special path. A path in no row has none of the properties.
pub static SYS_PATHS: &[SysPath] = &[
    // What probes, load balancers and operators ask one given node, sealed or not.
    p("sys/init", UNAUTH | SEALED_OK | LOCAL | UNAUDITED),
    p("sys/seal-status", UNAUTH | SEALED_OK | LOCAL | UNAUDITED),
    p("sys/unseal", UNAUTH | SEALED_OK | LOCAL | UNAUDITED),
    p("sys/health", UNAUTH | SEALED_OK | LOCAL | UNAUDITED),
    p("sys/storage/raft/join", UNAUTH | SEALED_OK | LOCAL),
    p("sys/leader", UNAUTH | LOCAL | UNAUDITED),
    p("sys/metrics", LOCAL),
    // Operator key ceremonies: no token (the key shares are the credential), unsealed only.
    p("sys/generate-root/attempt", UNAUTH),
    p("sys/generate-root/update", UNAUTH),
    p("sys/rekey/init", UNAUTH),
    p("sys/rekey/update", UNAUTH),
    p("sys/rekey/verify", UNAUTH),
    p("sys/rekey-recovery-key/init", UNAUTH),
    p("sys/rekey-recovery-key/update", UNAUTH),
    p("sys/rekey-recovery-key/verify", UNAUTH),
    // A joining node's handshake with the active node (the challenge is the credential).
    p("sys/storage/raft/bootstrap/challenge", UNAUTH),
    p("sys/storage/raft/bootstrap/answer", UNAUTH),
    // Anyone holding a wrapping token may look it up (`wrap::serve` answers it).
    p("sys/wrapping/lookup", UNAUTH),
    // What a UI asks before drawing a page: no token needed, though one given is read and
    // filters the answer (`sys/internal_ui.rs`). `resultant-acl` is not here: it needs a token.
    p("sys/internal/ui/mounts", UNAUTH),
    p("sys/internal/ui/mounts/*", UNAUTH),
    // Root-protected: Vault's system backend `PathsSpecial.Root`.
    p("sys/auth/*", SUDO),
    p("sys/remount", SUDO),
    p("sys/audit", SUDO),
    p("sys/audit/*", SUDO),
    p("sys/raw", SUDO),
    p("sys/raw/*", SUDO),
    p("sys/replication/primary/secondary-token", SUDO),
    p("sys/replication/performance/primary/secondary-token", SUDO),
    p("sys/replication/dr/primary/secondary-token", SUDO),
    p("sys/replication/reindex", SUDO),
    p("sys/replication/dr/reindex", SUDO),
    p("sys/replication/performance/reindex", SUDO),
    p("sys/rotate", SUDO),
    p("sys/config/cors", SUDO),
    p("sys/config/auditing/*", SUDO),
    p("sys/config/ui/headers/*", SUDO),
    p("sys/plugins/catalog/*", SUDO),
    p("sys/plugins/runtimes/catalog/*", SUDO),
    p("sys/leases", SUDO),
    p("sys/leases/lookup/*", SUDO),
    // The prefix itself too: revoking "everything under nothing" is the widest revocation.
    p("sys/leases/revoke-prefix", SUDO),
    p("sys/leases/revoke-prefix/*", SUDO),
    p("sys/leases/revoke-force", SUDO),
    p("sys/leases/revoke-force/*", SUDO),
    p("sys/storage/raft/snapshot-auto/config/*", SUDO),
    p("sys/internal/inspect/*", SUDO),
    p("sys/seal", SUDO),
    // Vault's handlers require sudo here too (the host's and the server's own configuration).
    p("sys/host-info", SUDO),
    p("sys/config/state/sanitized", SUDO),
    p("sys/step-down", SUDO),
    // Vault's token store `PathsSpecial.Root`.
    p("auth/token/revoke-orphan", SUDO),
    p("auth/token/revoke-orphan/*", SUDO),
    p("auth/token/accessors*", SUDO),
    // Coffer's own: the whole storage leaves or is replaced, or a voter is dropped.
    p("sys/storage/raft/snapshot", SUDO | RAW_BODY),
    p("sys/storage/raft/snapshot-force", SUDO | RAW_BODY),
    p("sys/storage/raft/remove-peer", SUDO),
];

/// Legacy paths and the current path each stands for (both as path prefixes, whole segments).
pub static ALIASES: &[(&str, &str)] = &[
    ("sys/revoke", "sys/leases/revoke"),
    ("sys/revoke-prefix", "sys/leases/revoke-prefix"),
    ("sys/revoke-force", "sys/leases/revoke-force"),
    ("sys/renew", "sys/leases/renew"),
    ("sys/policy", "sys/policies/acl"),
];

/// `path` with a legacy prefix replaced by its current form (unchanged when it has none).
pub fn canonical(path: &str) -> std::borrow::Cow<'_, str> {
    for (legacy, current) in ALIASES {
        if let Some(rest) = path.strip_prefix(legacy) {
            if rest.is_empty() || rest.starts_with('/') {
                return std::borrow::Cow::Owned(format!("{current}{rest}"));
            }
        }
    }
    std::borrow::Cow::Borrowed(path)
}

/// The row for `path` (relative to `/v1/`, aliases resolved), if it is special.
pub fn lookup(path: &str) -> Option<&'static SysPath> {
    let path = canonical(path);
    // Every request asks, and most paths are in no row: rows whose first segment differs are
    // skipped before the segment-by-segment match.
    let head = first_segment(&path);
    SYS_PATHS
        .iter()
        .filter(|row| first_segment(row.pattern) == head && matches(row.pattern, &path))
        .max_by_key(|row| (!row.pattern.ends_with('*'), row.pattern.len()))
}

/// A path's or pattern's first segment (up to a `/` or a pattern's `*`).
fn first_segment(path: &str) -> &str {
    path.split(['/', '*']).next().unwrap_or_default()
}

/// `sys_paths::lookup(path)`'s property, false for a path in no row.
pub fn is(path: &str, property: fn(&SysPath) -> bool) -> bool {
    lookup(path).is_some_and(property)
}

/// Whether `pattern` (this module's syntax) matches `path`.
pub fn matches(pattern: &str, path: &str) -> bool {
    let (pattern, glob) = match pattern.strip_suffix('*') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let path = if glob {
        path
    } else {
        path.strip_suffix('/').unwrap_or(path)
    };
    let mut pats = pattern.split('/').peekable();
    let mut segs = path.split('/');
    loop {
        match (pats.next(), segs.next()) {
            (None, None) => return true,
            (Some(pat), Some(seg)) => {
                let last = pats.peek().is_none();
                if glob && last {
                    return if pat == "+" {
                        !seg.is_empty()
                    } else {
                        seg.starts_with(pat)
                    };
                }
                let ok = if pat == "+" {
                    !seg.is_empty()
                } else {
                    pat == seg
                };
                if !ok {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
#[path = "sys_paths_tests.rs"]
mod tests;
