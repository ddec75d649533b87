//! Built-in policies: the text of `default`, and which names are reserved.
//!
//! `root` has no text and no rules: its name alone grants everything (see
//! [`Acl::new`](super::Acl::new)). It can be neither written nor deleted.
//! `default` is stored like any policy, seeded with [`DEFAULT_POLICY`]; it
//! can be rewritten but not deleted.

use super::error::PolicyError;
use super::parse::{normalize_name, parse_policy};
use super::rule::Policy;

/// Name of the policy attached to tokens unless they opt out.
pub const DEFAULT_POLICY_NAME: &str = "default";

/// Name of the all-powerful policy.
pub const ROOT_POLICY_NAME: &str = super::acl::ROOT_POLICY;

/// The policy of wrapping tokens: the wrapping endpoints and nothing else (built in; it cannot
/// be written or deleted).
pub const WRAPPING_POLICY: &str = r#"
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}
path "sys/wrapping/lookup" {
    capabilities = ["update"]
}
path "sys/wrapping/rewrap" {
    capabilities = ["update"]
}
"#;

/// The name of that policy.
pub const WRAPPING_POLICY_NAME: &str = "response-wrapping";

/// The `default` policy as Vault 1.16 ships it.
pub const DEFAULT_POLICY: &str = r#"
# Allow tokens to look up their own properties
path "auth/token/lookup-self" {
    capabilities = ["read"]
}

# Allow tokens to renew themselves
path "auth/token/renew-self" {
    capabilities = ["update"]
}

# Allow tokens to revoke themselves
path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own capabilities on a path
path "sys/capabilities-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own entity by id or name
path "identity/entity/id/{{identity.entity.id}}" {
  capabilities = ["read"]
}
path "identity/entity/name/{{identity.entity.name}}" {
  capabilities = ["read"]
}


# Allow a token to look up its resultant ACL from all policies. This is useful
# for UIs. It is an internal path because the format may change at any time
# based on how the internal ACL features and capabilities change.
path "sys/internal/ui/resultant-acl" {
    capabilities = ["read"]
}

# Allow a token to renew a lease via lease_id in the request body; old path for
# old clients, new path for newer
path "sys/renew" {
    capabilities = ["update"]
}
path "sys/leases/renew" {
    capabilities = ["update"]
}

# Allow looking up lease properties. This requires knowing the lease ID ahead
# of time and does not divulge any sensitive information.
path "sys/leases/lookup" {
    capabilities = ["update"]
}

# Allow a token to manage its own cubbyhole
path "cubbyhole/*" {
    capabilities = ["create", "read", "update", "delete", "list"]
}

# Allow a token to wrap arbitrary values in a response-wrapping token
path "sys/wrapping/wrap" {
    capabilities = ["update"]
}

# Allow a token to look up the creation time and TTL of a given
# response-wrapping token
path "sys/wrapping/lookup" {
    capabilities = ["update"]
}

# Allow a token to unwrap a response-wrapping token. This is a convenience to
# avoid client token swapping since this is also part of the response wrapping
# policy.
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}

# Allow general purpose tools
path "sys/tools/hash" {
    capabilities = ["update"]
}
path "sys/tools/hash/*" {
    capabilities = ["update"]
}

# Allow checking the status of a Control Group request if the user has the
# accessor
path "sys/control-group/request" {
    capabilities = ["update"]
}

# Allow a token to make requests to the Authorization Endpoint for OIDC providers.
path "identity/oidc/provider/+/authorize" {
    capabilities = ["read", "update"]
}
"#;

/// The parsed `default` policy.
pub fn default_policy() -> Policy {
    parse_policy(DEFAULT_POLICY_NAME, DEFAULT_POLICY)
        .expect("DEFAULT_POLICY is a constant pinned by the default_policy_parses test")
}

/// Whether the name is a built-in policy (`root` or `default`).
pub fn is_reserved(name: &str) -> bool {
    let name = normalize_name(name);
    name == ROOT_POLICY_NAME || name == DEFAULT_POLICY_NAME
}

/// Refuses writes to `root`; `default` may be rewritten.
pub fn check_writable(name: &str) -> Result<(), PolicyError> {
    let name = normalize_name(name);
    if name == ROOT_POLICY_NAME {
        return Err(PolicyError::CannotUpdate(name));
    }
    Ok(())
}

/// Refuses deleting `root` or `default`.
pub fn check_deletable(name: &str) -> Result<(), PolicyError> {
    match normalize_name(name).as_str() {
        ROOT_POLICY_NAME => Err(PolicyError::CannotDelete(ROOT_POLICY_NAME.to_owned())),
        DEFAULT_POLICY_NAME => Err(PolicyError::CannotDeleteDefault),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Acl;
    use serde_json::Map;

    #[test]
    fn default_policy_parses() {
        let policy = default_policy();
        assert_eq!(policy.name, "default");
        assert_eq!(policy.raw, DEFAULT_POLICY);
        assert!(policy.is_templated());
        assert_eq!(policy.rules.len(), 18);
    }

    #[test]
    fn default_policy_grants_self_service_only() {
        let acl = Acl::new(&[default_policy()]);
        assert!(acl.allowed("auth/token/lookup-self", "read"));
        assert!(!acl.allowed("auth/token/lookup-self", "update"));
        assert!(acl.allowed("auth/token/renew-self", "update"));
        assert!(acl.allowed("auth/token/revoke-self", "update"));
        assert!(acl.allowed("sys/capabilities-self", "update"));
        assert!(acl.allowed("cubbyhole/my/secret", "create"));
        assert!(acl.allowed("cubbyhole/", "list"));
        assert!(acl.allowed("sys/wrapping/unwrap", "update"));
        assert!(acl.allowed("sys/tools/hash/sha2-256", "update"));
        assert!(acl.allowed("sys/leases/lookup", "update"));
        assert!(acl.allowed("sys/internal/ui/resultant-acl", "read"));
        assert!(acl.allowed("identity/oidc/provider/p1/authorize", "read"));
        assert!(!acl.allowed("secret/data/anything", "read"));
        assert!(!acl.allowed("sys/policies/acl/default", "update"));
        assert_eq!(acl.capabilities("secret/"), vec!["deny"]);
        assert!(acl
            .check("auth/token/lookup-self", "read", &Map::new())
            .is_ok());
        // Templated rules need an identity; without one they grant nothing.
        assert!(!acl.allowed("identity/entity/id/{{identity.entity.id}}", "read"));
    }

    #[test]
    fn reserved_names() {
        assert!(is_reserved("root"));
        assert!(is_reserved(" Default"));
        assert!(!is_reserved("admin"));
        assert_eq!(
            check_writable("ROOT").unwrap_err().to_string(),
            r#"cannot update "root" policy"#
        );
        assert!(check_writable("default").is_ok());
        assert_eq!(
            check_deletable("root").unwrap_err().to_string(),
            r#"cannot delete "root" policy"#
        );
        assert_eq!(
            check_deletable("default").unwrap_err().to_string(),
            "cannot delete default policy"
        );
        assert!(check_deletable("admin").is_ok());
    }
}
