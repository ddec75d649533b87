//! From a successful login to its token: policies, TTL within the mount's and the system's limits,
//! metadata and path. `plan` is a plain function; `issue` stores the result.

use super::token_params::{normalize_policies, TokenParams, NO_ROOT};
use crate::error::ApiError;
use crate::request::{AuthInfo, Response};
use crate::token::{TokenEntry, TokenStore};
use std::collections::BTreeMap;

/// What an auth method decided: who logged in and with which token settings.
#[derive(Debug, Clone, Default)]
pub struct LoginGrant {
    pub params: TokenParams,
    /// `auth.metadata` and the token's `meta` (username, role, service account...).
    pub metadata: BTreeMap<String, String>,
    /// The method's part of the display name (`bob`, `example-app-basic-secret`); may be empty.
    pub display_name: String,
    /// CIDR blocks the token is bound to (the params' own unless a secret ID overrides them).
    pub bound_cidrs: Vec<String>,
    /// Who logged in, as the identity store knows them (Vault's `logical.Alias`): the entity
    /// alias on this mount, created with its entity on first login.
    pub alias: Option<AliasGrant>,
    /// External group names the method asserts (jwt's `groups_claim`): the identity store
    /// matches them to group aliases on this mount.
    pub group_aliases: Vec<String>,
}

/// The alias a login names: unique per auth mount and name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AliasGrant {
    /// userpass: the username; approle: the role id; kubernetes: the service account's uid (or
    /// `namespace/name`, per the role's `alias_name_source`); jwt: the `user_claim`'s value.
    pub name: String,
    /// The method's metadata on the alias (`service_account_namespace`, `role_name`, claims
    /// mapped by `claim_mappings`...), which templated policies read.
    pub metadata: BTreeMap<String, String>,
}

/// TTL limits, seconds; 0 in a mount's config means "the system's".
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub mount_default_ttl: u64,
    pub mount_max_ttl: u64,
    pub system_default_ttl: u64,
    pub system_max_ttl: u64,
}

/// The token a login gets, and Vault's warnings about capped TTLs; or Vault's 400 when the
/// grant names `root` or an internal policy (refused again here, whatever a stored user or role
/// holds, since an auth method never mints a root token).
pub fn plan(
    grant: &LoginGrant,
    mount_path: &str,
    login_path: &str,
    limits: Limits,
    now_ms: i64,
) -> Result<(TokenEntry, Vec<String>), ApiError> {
    let p = &grant.params;
    let mut policies = normalize_policies(p.token_policies.clone());
    if policies.iter().any(|x| x == "root") {
        return Err(ApiError::bad(NO_ROOT));
    }
    if let Some(x) = policies
        .iter()
        .find(|x| *x == crate::policy::WRAPPING_POLICY_NAME)
    {
        return Err(ApiError::bad(format!("cannot assign policy {x:?}")));
    }
    let mut warnings = Vec::new();
    let or = |v: u64, fallback: u64| if v == 0 { fallback } else { v };
    let mount_max = or(limits.mount_max_ttl, limits.system_max_ttl).min(limits.system_max_ttl);
    let mut max_ttl = or(p.token_max_ttl, mount_max);
    if max_ttl > mount_max {
        warnings.push(format!(
            "token max TTL of {max_ttl} is greater than the mount's max TTL of {mount_max}; using {mount_max}"
        ));
        max_ttl = mount_max;
    }
    let mut ttl = or(
        p.token_ttl,
        or(limits.mount_default_ttl, limits.system_default_ttl),
    );
    if p.token_period > 0 {
        ttl = p.token_period.min(mount_max);
        max_ttl = 0; // a periodic token renews forever unless an explicit max applies
    } else if ttl > max_ttl {
        warnings.push(format!(
            "TTL of {ttl}s exceeded the effective max_ttl of {max_ttl}s; TTL value is capped accordingly"
        ));
        ttl = max_ttl;
    }
    if p.token_explicit_max_ttl > 0 && ttl > p.token_explicit_max_ttl {
        ttl = p.token_explicit_max_ttl;
    }
    if !p.token_no_default_policy && !policies.iter().any(|x| x == "default" || x == "root") {
        policies.push("default".into());
        policies.sort();
    }
    let source = mount_path.trim_end_matches('/').replace('/', "-");
    let display_name = format!("{source}-{}", grant.display_name)
        .trim_end_matches('-')
        .to_string();
    let entry = TokenEntry {
        id: TokenStore::generate_id(),
        accessor: crate::ids::base62(24),
        policies,
        parent: String::new(),
        meta: grant.metadata.clone(),
        display_name,
        num_uses: p.token_num_uses,
        creation_ms: now_ms,
        creation_ttl: ttl,
        expire_at_ms: if ttl == 0 {
            0
        } else {
            crate::token::lifetime::after(now_ms, ttl)
        },
        explicit_max_ttl: p.token_explicit_max_ttl,
        period: p.token_period,
        renewable: true,
        path: login_path.to_string(),
        role: String::new(),
        orphan: true,
        bound_cidrs: grant.bound_cidrs.clone(),
        max_ttl,
        entity_id: String::new(),
    };
    Ok((entry, warnings))
}

/// Store the planned token and answer the login with Vault's `auth` block: `policies` are the
/// token's and the entity's (`identity_policies`) together.
pub async fn issue(
    tokens: &TokenStore,
    entry: TokenEntry,
    identity_policies: Vec<String>,
    warnings: Vec<String>,
    now_ms: i64,
) -> Result<Option<Response>, ApiError> {
    tokens.store(&entry).await?;
    let mut auth: AuthInfo = entry.auth_info(now_ms);
    if !identity_policies.is_empty() {
        let mut all = auth.token_policies.clone();
        all.extend(identity_policies.iter().cloned());
        all.sort();
        all.dedup();
        auth.policies = all;
        auth.identity_policies = Some(identity_policies);
    }
    Ok(Some(Response {
        auth: Some(auth),
        warnings,
        ..Default::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        mount_default_ttl: 0,
        mount_max_ttl: 0,
        system_default_ttl: 768 * 3600,
        system_max_ttl: 768 * 3600,
    };

    fn grant(params: TokenParams) -> LoginGrant {
        LoginGrant {
            alias: None,
            group_aliases: Vec::new(),
            params,
            display_name: "bob".into(),
            ..Default::default()
        }
    }

    #[test]
    fn login_tokens_are_orphans_with_default_policy_and_the_login_path() {
        let params = TokenParams {
            token_policies: vec!["dev".into()],
            token_ttl: 3600,
            ..Default::default()
        };
        let (e, w) = plan(
            &grant(params),
            "userpass/",
            "auth/userpass/login/bob",
            LIMITS,
            1000,
        )
        .unwrap();
        assert!(w.is_empty());
        assert_eq!(e.policies, vec!["default", "dev"]);
        assert!(e.orphan && e.parent.is_empty() && e.renewable);
        assert_eq!(e.path, "auth/userpass/login/bob");
        assert_eq!(e.display_name, "userpass-bob");
        assert_eq!(e.creation_ttl, 3600);
        assert_eq!(e.expire_at_ms, 1000 + 3_600_000);
        assert_eq!(e.max_ttl, 768 * 3600);
    }

    #[test]
    fn ttls_fall_back_to_the_mount_then_the_system_and_are_capped() {
        let limits = Limits {
            mount_default_ttl: 600,
            mount_max_ttl: 1200,
            ..LIMITS
        };
        let (e, _) = plan(&grant(TokenParams::default()), "a/", "p", limits, 0).unwrap();
        assert_eq!((e.creation_ttl, e.max_ttl), (600, 1200));
        let (e, _) = plan(&grant(TokenParams::default()), "a/", "p", LIMITS, 0).unwrap();
        assert_eq!(e.creation_ttl, 768 * 3600);
        let long = TokenParams {
            token_ttl: 5000,
            token_max_ttl: 9000,
            ..Default::default()
        };
        let (e, w) = plan(&grant(long), "a/", "p", limits, 0).unwrap();
        assert_eq!((e.creation_ttl, e.max_ttl), (1200, 1200));
        assert_eq!(w.len(), 2, "{w:?}");
    }

    #[test]
    fn period_explicit_max_and_no_default_policy() {
        let p = TokenParams {
            token_period: 300,
            token_ttl: 100,
            token_explicit_max_ttl: 200,
            token_no_default_policy: true,
            token_policies: vec!["x".into()],
            ..Default::default()
        };
        let (e, _) = plan(&grant(p), "approle/", "auth/approle/login", LIMITS, 0).unwrap();
        assert_eq!(e.creation_ttl, 200);
        assert_eq!((e.period, e.max_ttl), (300, 0));
        assert_eq!(e.policies, vec!["x"]);
        let nameless = LoginGrant::default();
        let (e, _) = plan(&nameless, "approle/", "p", LIMITS, 0).unwrap();
        assert_eq!(e.display_name, "approle");
    }

    #[test]
    fn logins_never_get_root_or_internal_policies() {
        for bad in [vec!["dev", "root"], vec!["response-wrapping"]] {
            let params = TokenParams {
                token_policies: bad.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            };
            let refused = plan(&grant(params), "userpass/", "p", LIMITS, 0);
            assert!(matches!(refused, Err(ApiError::BadRequest(_))), "{bad:?}");
        }
        let err = plan(
            &grant(TokenParams {
                token_policies: vec!["ROOT".into()],
                ..Default::default()
            }),
            "userpass/",
            "p",
            LIMITS,
            0,
        )
        .err()
        .map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some(NO_ROOT));
    }

    #[test]
    fn huge_periods_and_mount_maxes_stay_within_the_system() {
        let limits = Limits {
            mount_max_ttl: u64::MAX,
            ..LIMITS
        };
        let p = TokenParams {
            token_period: u64::MAX,
            ..Default::default()
        };
        let (e, _) = plan(&grant(p), "a/", "p", limits, 1000).unwrap();
        assert_eq!(e.creation_ttl, 768 * 3600);
        assert_eq!(e.expire_at_ms, 1000 + 768 * 3600 * 1000);
    }
}
