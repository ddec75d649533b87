//! A request routed once. The pipeline asks the mount table where a path goes a single time
//! and carries the answer, a `Target`, through metrics, the ACL's existence check, the login
//! check and dispatch, so all of them agree on the mount and the path inside it.

use crate::mounts::{MountEntry, MountRequest};
use crate::request::Request;
use crate::router::{MountTable, Table};
use crate::storage::StorageView;

/// A path inside one mount, with the mount's private storage.
pub struct Routed {
    pub entry: MountEntry,
    /// The path relative to the mount (`data/app/db` for `secret/data/app/db`).
    pub rel: String,
    pub storage: StorageView,
}

impl Routed {
    /// The call a backend receives for `req`.
    pub fn call<'a>(&'a self, req: &'a Request) -> MountRequest<'a> {
        MountRequest {
            req,
            path: &self.rel,
            storage: &self.storage,
            mount: &self.entry,
        }
    }
}

/// Where a request path goes.
pub enum Target {
    /// `sys/<rel>`: the system backend.
    System(String),
    /// `auth/token/<rel>` (and `auth/token`): the token store's endpoints.
    Token(String),
    /// `identity/<rel>`: the identity store, mounted in every node as in Vault.
    Identity(String),
    /// `auth/<mount>/<rel>`: an auth method's mount.
    Auth(Routed),
    /// `<mount>/<rel>`: a secrets engine's mount.
    Secret(Routed),
    /// Nothing serves the path (404).
    Unrouted,
}

impl Target {
    /// Route `path` against `mounts`.
    pub fn of(mounts: &MountTable, path: &str) -> Target {
        if let Some(rel) = path.strip_prefix("sys/") {
            return Target::System(rel.to_string());
        }
        if let Some(rel) = path.strip_prefix("auth/") {
            if let Some(tok) = rel
                .strip_prefix("token/")
                .or((rel == "token").then_some(""))
            {
                return Target::Token(tok.to_string());
            }
            return match mounts.route(Table::Auth, rel) {
                Some((entry, rel)) => Target::Auth(Routed {
                    storage: mounts.storage_for(Table::Auth, &entry),
                    entry,
                    rel,
                }),
                None => Target::Unrouted,
            };
        }
        if let Some(rel) = path
            .strip_prefix("identity/")
            .or((path == "identity").then_some(""))
        {
            return Target::Identity(rel.to_string());
        }
        match mounts.route(Table::Secrets, path) {
            Some((entry, rel)) => Target::Secret(Routed {
                storage: mounts.storage_for(Table::Secrets, &entry),
                entry,
                rel,
            }),
            None => Target::Unrouted,
        }
    }

    /// The type of the mount serving the request, as Vault's replies carry it in `mount_type`
    /// (`system` for `sys/`, `token` for `auth/token/`, the engine or method type otherwise).
    pub fn mount_type(&self) -> &str {
        match self {
            Target::System(_) => "system",
            Target::Token(_) => "token",
            Target::Identity(_) => "identity",
            Target::Auth(r) | Target::Secret(r) => &r.entry.kind,
            Target::Unrouted => "",
        }
    }

    /// The config of the mount serving the request (none for `sys/` and `auth/token/`).
    pub fn mount_config(&self) -> Option<&crate::mounts::MountConfig> {
        match self {
            Target::Auth(r) | Target::Secret(r) => Some(&r.entry.config),
            _ => None,
        }
    }

    /// The mount as a metrics label (`secret/`, `sys/`, `auth/token/`, `auth/<name>/`).
    pub fn metrics_label(&self, path: &str) -> String {
        match self {
            Target::System(_) => "sys/".into(),
            Target::Token(_) => "auth/token/".into(),
            Target::Identity(_) => "identity/".into(),
            Target::Auth(r) => format!("auth/{}", r.entry.path),
            Target::Secret(r) => r.entry.path.clone(),
            Target::Unrouted => unrouted_label(path),
        }
    }
}

/// The label of a path no mount serves (also before the node can route: sealed).
pub fn unrouted_label(path: &str) -> String {
    if let Some(rest) = path.strip_prefix("auth/") {
        let name = rest.split('/').next().unwrap_or_default();
        return format!("auth/{name}/");
    }
    if path.starts_with("sys/") {
        return "sys/".into();
    }
    "unknown".into()
}
