//! Who may create which token: Vault's rules from `handleCreateCommon`, as a plain function.
//! The creating token and the call's options go in; the new token's policies and orphan status,
//! or the refusal Vault gives (every refusal is a 400), come out.
//!
//! The rules, in Vault's order:
//! - a token with limited uses creates no tokens (it could escape its count);
//! - a chosen token id, `no_parent=true` and a requested `period` need root or `sudo` on the
//!   create path (`create-orphan` itself is governed by the ACL on that path alone);
//! - without a role that names allowed or disallowed policies, the new token's policies are a
//!   subset of the parent's unless the caller has root or `sudo` on the create path; a role with
//!   empty lists means exactly that, not "any policy";
//! - with such a role, the policies are within its allowed list and outside its disallowed list;
//! - `root` goes only to children of a root token, whatever the role or `sudo` says, and the
//!   internal `response-wrapping` policy goes to no created token.

use super::roles::TokenRole;

/// Policies no created token may carry (Vault's `nonAssignablePolicies`).
const NOT_ASSIGNABLE: &[&str] = &["response-wrapping", "control-group"];

/// The token that makes the call (the new token's parent unless it becomes an orphan).
#[derive(Debug, Clone, Copy)]
pub struct Creator<'a> {
    pub policies: &'a [String],
    /// Root, or `sudo` on the create path.
    pub sudo: bool,
    /// Uses left; 0: unlimited.
    pub num_uses: u64,
}

/// What the create call asks for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ask<'a> {
    /// The requested policies; `None` or empty: the role's or the parent's.
    pub policies: Option<&'a [String]>,
    pub no_default_policy: bool,
    pub no_parent: bool,
    /// The call came to `auth/token/create-orphan`.
    pub orphan_endpoint: bool,
    /// The call names the token id.
    pub id: bool,
    /// The requested period, seconds (a role's own period needs no privilege).
    pub period: u64,
}

/// What the new token gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Sanitised, sorted, without duplicates.
    pub policies: Vec<String>,
    pub orphan: bool,
}

/// Why a create call is refused, with Vault's message; each one is a 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("restricted use token cannot generate child tokens")]
    RestrictedUse,
    #[error("root or sudo privileges required to specify token id")]
    IdNeedsSudo,
    #[error(
        "token policies ({asked:?}) must be subset of the role's allowed policies ({allowed:?})"
    )]
    OutsideRole {
        asked: Vec<String>,
        allowed: Vec<String>,
    },
    #[error("token policy {0:?} is disallowed by this role")]
    DisallowedByRole(String),
    #[error("child policies must be subset of parent")]
    NotSubsetOfParent,
    #[error("cannot assign policy {0:?}")]
    NotAssignable(String),
    #[error("root tokens may not be created without parent token being root")]
    RootNeedsRootParent,
    #[error("root or sudo privileges required to create orphan token")]
    OrphanNeedsSudo,
    #[error("root or sudo privileges required to create periodic token")]
    PeriodNeedsSudo,
}

/// Vault's `SanitizePolicies`: trimmed, lower-case, no blanks; `root` alone stands for all;
/// `default` added when asked (never next to `root`); sorted, no duplicates.
pub fn sanitize(policies: &[String], add_default: bool) -> Vec<String> {
    let mut out: Vec<String> = policies
        .iter()
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    if out.iter().any(|p| p == "root") {
        return vec!["root".into()];
    }
    if add_default && !out.iter().any(|p| p == "default") {
        out.push("default".into());
    }
    out.sort();
    out.dedup();
    out
}

fn subset(inner: &[String], outer: &[String]) -> bool {
    inner.iter().all(|p| outer.contains(p))
}

/// Decide a create call: the new token's policies and whether it is an orphan.
pub fn decide(
    creator: Creator<'_>,
    ask: Ask<'_>,
    role: Option<&TokenRole>,
) -> Result<Verdict, Refusal> {
    if creator.num_uses > 0 {
        return Err(Refusal::RestrictedUse);
    }
    if ask.id && !creator.sudo {
        return Err(Refusal::IdNeedsSudo);
    }
    let no_default = ask.no_default_policy || role.is_some_and(|r| r.token_no_default_policy);
    let requested = ask.policies.filter(|p| !p.is_empty());
    let mut policies = match role
        .filter(|r| !r.allowed_policies.is_empty() || !r.disallowed_policies.is_empty())
    {
        Some(role) => role_policies(creator, requested, role, no_default)?,
        None => parent_bound_policies(creator, requested, no_default)?,
    };
    if no_default {
        policies.retain(|p| p != "default");
    }
    if let Some(p) = policies
        .iter()
        .find(|p| NOT_ASSIGNABLE.contains(&p.as_str()))
    {
        return Err(Refusal::NotAssignable(p.clone()));
    }
    if policies.iter().any(|p| p == "root") && !creator.policies.iter().any(|p| p == "root") {
        return Err(Refusal::RootNeedsRootParent);
    }
    let orphan = match role {
        Some(role) => role.orphan,
        None if ask.no_parent => {
            if !creator.sudo {
                return Err(Refusal::OrphanNeedsSudo);
            }
            true
        }
        None => ask.orphan_endpoint,
    };
    if ask.period > 0 && !creator.sudo {
        return Err(Refusal::PeriodNeedsSudo);
    }
    Ok(Verdict { policies, orphan })
}

/// A role with allowed or disallowed policies sets its own bounds, apart from the parent's.
fn role_policies(
    creator: Creator<'_>,
    requested: Option<&[String]>,
    role: &TokenRole,
    no_default: bool,
) -> Result<Vec<String>, Refusal> {
    let add_default = !no_default && !role.disallowed_policies.iter().any(|p| p == "default");
    let mut policies = requested
        .map(|p| sanitize(p, add_default))
        .unwrap_or_default();
    if !role.allowed_policies.is_empty() {
        let allowed = sanitize(&role.allowed_policies, add_default);
        if policies.is_empty() {
            policies = allowed;
        } else if !subset(&policies, &allowed) {
            return Err(Refusal::OutsideRole {
                asked: policies,
                allowed,
            });
        }
    } else if policies.is_empty() {
        policies = sanitize(creator.policies, add_default);
    }
    let disallowed = sanitize(&role.disallowed_policies, false);
    if let Some(p) = policies.iter().find(|p| disallowed.contains(p)) {
        return Err(Refusal::DisallowedByRole(p.clone()));
    }
    Ok(policies)
}

/// No role (or one with empty lists): inherit the parent's policies, or ask for a subset of them
/// unless the caller has `sudo`.
fn parent_bound_policies(
    creator: Creator<'_>,
    requested: Option<&[String]>,
    no_default: bool,
) -> Result<Vec<String>, Refusal> {
    let Some(requested) = requested else {
        return Ok(sanitize(creator.policies, false));
    };
    let asked = sanitize(requested, false);
    if creator.sudo {
        return Ok(sanitize(&asked, !no_default));
    }
    if !subset(&asked, &sanitize(creator.policies, false)) {
        return Err(Refusal::NotSubsetOfParent);
    }
    let parent_has_default = creator.policies.iter().any(|p| p == "default");
    Ok(sanitize(&asked, !no_default && parent_has_default))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    const LIMITED: &[&str] = &["default", "creator"];

    fn limited(policies: &[String]) -> Creator<'_> {
        Creator {
            policies,
            sudo: false,
            num_uses: 0,
        }
    }

    fn role(allowed: &[&str], disallowed: &[&str]) -> TokenRole {
        TokenRole {
            name: "r1".into(),
            allowed_policies: list(allowed),
            disallowed_policies: list(disallowed),
            renewable: true,
            ..Default::default()
        }
    }

    #[test]
    fn a_limited_parent_cannot_ask_for_root_directly_or_through_a_default_role() {
        let parent = list(LIMITED);
        let root = list(&["root"]);
        let ask = Ask {
            policies: Some(&root),
            ..Default::default()
        };
        assert_eq!(
            decide(limited(&parent), ask, None),
            Err(Refusal::NotSubsetOfParent)
        );
        let defaults = role(&[], &[]);
        assert_eq!(
            decide(limited(&parent), ask, Some(&defaults)),
            Err(Refusal::NotSubsetOfParent),
            "a role with empty lists means: a subset of the parent"
        );
        let orphan = Ask {
            orphan_endpoint: true,
            ..ask
        };
        assert_eq!(
            decide(limited(&parent), orphan, None),
            Err(Refusal::NotSubsetOfParent)
        );
    }

    #[test]
    fn root_needs_a_root_parent_even_with_sudo_or_a_role_that_allows_it() {
        let parent = list(LIMITED);
        let root = list(&["root"]);
        let sudo = Creator {
            sudo: true,
            ..limited(&parent)
        };
        let ask = Ask {
            policies: Some(&root),
            ..Default::default()
        };
        assert_eq!(decide(sudo, ask, None), Err(Refusal::RootNeedsRootParent));
        let allows_root = role(&["root"], &[]);
        assert_eq!(
            decide(limited(&parent), Ask::default(), Some(&allows_root)),
            Err(Refusal::RootNeedsRootParent)
        );
        let real_root = list(&["root"]);
        let from_root = Creator {
            sudo: true,
            ..limited(&real_root)
        };
        let v = decide(from_root, ask, None).unwrap();
        assert_eq!(v.policies, vec!["root"]);
    }

    #[test]
    fn subsets_inherit_default_only_when_the_parent_has_it() {
        let parent = list(LIMITED);
        let asked = list(&["Creator "]);
        let ask = Ask {
            policies: Some(&asked),
            ..Default::default()
        };
        let v = decide(limited(&parent), ask, None).unwrap();
        assert_eq!(v.policies, vec!["creator", "default"]);
        assert!(!v.orphan);
        let bare = list(&["creator"]);
        let v = decide(limited(&bare), ask, None).unwrap();
        assert_eq!(v.policies, vec!["creator"]);
        let inherit = decide(limited(&parent), Ask::default(), None).unwrap();
        assert_eq!(inherit.policies, vec!["creator", "default"]);
        let no_default = Ask {
            no_default_policy: true,
            ..ask
        };
        assert_eq!(
            decide(limited(&parent), no_default, None).unwrap().policies,
            vec!["creator"]
        );
    }

    #[test]
    fn sudo_may_grant_any_policy_but_root_and_internal_ones() {
        let parent = list(LIMITED);
        let sudo = Creator {
            sudo: true,
            ..limited(&parent)
        };
        let other = list(&["other"]);
        let ask = Ask {
            policies: Some(&other),
            ..Default::default()
        };
        assert_eq!(
            decide(sudo, ask, None).unwrap().policies,
            vec!["default", "other"]
        );
        let wrapping = list(&["response-wrapping"]);
        let ask = Ask {
            policies: Some(&wrapping),
            ..Default::default()
        };
        assert_eq!(
            decide(sudo, ask, None),
            Err(Refusal::NotAssignable("response-wrapping".into()))
        );
    }

    #[test]
    fn roles_with_lists_bound_the_policies_themselves() {
        let parent = list(LIMITED);
        let r = role(&["app"], &[]);
        let v = decide(limited(&parent), Ask::default(), Some(&r)).unwrap();
        assert_eq!(v.policies, vec!["app", "default"]);
        let other = list(&["other"]);
        let ask = Ask {
            policies: Some(&other),
            ..Default::default()
        };
        assert!(matches!(
            decide(limited(&parent), ask, Some(&r)),
            Err(Refusal::OutsideRole { .. })
        ));
        let deny = role(&[], &["creator"]);
        assert_eq!(
            decide(limited(&parent), Ask::default(), Some(&deny)),
            Err(Refusal::DisallowedByRole("creator".into()))
        );
    }

    #[test]
    fn orphans_periods_ids_and_use_limits() {
        let parent = list(LIMITED);
        let no_parent = Ask {
            no_parent: true,
            ..Default::default()
        };
        assert_eq!(
            decide(limited(&parent), no_parent, None),
            Err(Refusal::OrphanNeedsSudo)
        );
        let endpoint = Ask {
            orphan_endpoint: true,
            ..Default::default()
        };
        assert!(decide(limited(&parent), endpoint, None).unwrap().orphan);
        let mut orphan_role = role(&[], &[]);
        orphan_role.orphan = true;
        assert!(
            decide(limited(&parent), no_parent, Some(&orphan_role))
                .unwrap()
                .orphan
        );
        let period = Ask {
            period: 60,
            ..Default::default()
        };
        assert_eq!(
            decide(limited(&parent), period, None),
            Err(Refusal::PeriodNeedsSudo)
        );
        let id = Ask {
            id: true,
            ..Default::default()
        };
        assert_eq!(
            decide(limited(&parent), id, None),
            Err(Refusal::IdNeedsSudo)
        );
        let counted = Creator {
            num_uses: 3,
            sudo: true,
            ..limited(&parent)
        };
        assert_eq!(
            decide(counted, Ask::default(), None),
            Err(Refusal::RestrictedUse)
        );
    }
}
