//! ACL evaluation against the examples of Vault's policy documentation.

use super::*;
use crate::policy::parse_policy;
use serde_json::json;

fn policy(name: &str, text: &str) -> Policy {
    parse_policy(name, text).expect("test policy parses")
}

fn acl(texts: &[&str]) -> Acl {
    let policies: Vec<Policy> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| policy(&format!("p{i}"), text))
        .collect();
    Acl::new(&policies)
}

fn no_params() -> Map<String, Value> {
    Map::new()
}

fn params(value: Value) -> Map<String, Value> {
    value
        .as_object()
        .cloned()
        .expect("test params are an object")
}

#[test]
fn app_glob_grants_children_only() {
    let acl = acl(&[r#"path "secret/data/app/*" { capabilities = ["read"] }"#]);
    assert!(acl.allowed("secret/data/app/x", "read"));
    assert!(acl.allowed("secret/data/app/x/y", "read"));
    assert_eq!(acl.capabilities("secret/data/app/x"), vec!["read"]);
    assert!(!acl.allowed("secret/data/app/x", "update"));
    assert!(!acl.allowed("secret/data/other", "read"));
    assert_eq!(acl.capabilities("secret/data/other"), vec!["deny"]);
    // The glob needs the slash: the directory itself is not matched.
    assert!(!acl.allowed("secret/data/app", "read"));
    assert_eq!(acl.capabilities("secret/data/app"), vec!["deny"]);
    let denied = acl
        .check("secret/data/other", "read", &no_params())
        .unwrap_err();
    assert_eq!(denied.reason, DenyReason::NoMatchingRule);
    assert_eq!(denied.to_string(), "permission denied");
}

#[test]
fn glob_is_a_plain_prefix() {
    let acl = acl(&[r#"path "secret/foo*" { capabilities = ["read"] }"#]);
    assert!(acl.allowed("secret/foo", "read"));
    assert!(acl.allowed("secret/food", "read"));
    assert!(acl.allowed("secret/foo/bar", "read"));
    assert!(!acl.allowed("secret/fo", "read"));
}

#[test]
fn exact_match_wins_over_glob() {
    let acl = acl(&[r#"
        path "secret/*" { capabilities = ["create", "read", "update"] }
        path "secret/super-secret" { capabilities = ["deny"] }
        path "secret/foo" { capabilities = ["read"] }
    "#]);
    assert!(acl.allowed("secret/bar", "create"));
    assert!(!acl.allowed("secret/super-secret", "read"));
    assert_eq!(acl.capabilities("secret/super-secret"), vec!["deny"]);
    // Only the exact rule decides: no union with the glob.
    assert_eq!(acl.capabilities("secret/foo"), vec!["read"]);
    assert!(!acl.allowed("secret/foo", "update"));
}

#[test]
fn longest_glob_wins() {
    let acl = acl(&[r#"
        path "secret/*" { capabilities = ["read"] }
        path "secret/team/*" { capabilities = ["list"] }
    "#]);
    assert_eq!(acl.capabilities("secret/team/x"), vec!["list"]);
    assert_eq!(acl.capabilities("secret/other"), vec!["read"]);
}

#[test]
fn plus_segment_beats_glob_at_same_position() {
    let acl = acl(&[r#"
        path "secret/*" { capabilities = ["read"] }
        path "secret/+/teamb" { capabilities = ["update"] }
    "#]);
    assert_eq!(acl.capabilities("secret/foo/teamb"), vec!["update"]);
    assert_eq!(acl.capabilities("secret/foo/teamc"), vec!["read"]);
    assert_eq!(acl.capabilities("secret/foo/bar/teamb"), vec!["read"]);
}

#[test]
fn later_wildcard_wins() {
    // "secret/a*" has its glob after the "+" of "secret/+/x".
    let acl = acl(&[r#"
        path "secret/+/x" { capabilities = ["update"] }
        path "secret/a*" { capabilities = ["read"] }
    "#]);
    assert_eq!(acl.capabilities("secret/ab/x"), vec!["read"]);
    assert_eq!(acl.capabilities("secret/zz/x"), vec!["update"]);
}

#[test]
fn plus_segment_rules_from_the_docs() {
    let acl = acl(&[r#"
        path "secret/+/teamb" { capabilities = ["read"] }
        path "secret/+/+/teamc" { capabilities = ["read"] }
        path "+/+/tune" { capabilities = ["sudo"] }
    "#]);
    assert!(acl.allowed("secret/foo/teamb", "read"));
    assert!(!acl.allowed("secret/teamb", "read"));
    assert!(!acl.allowed("secret/foo/bar/teamb", "read"));
    assert!(acl.allowed("secret/a/b/teamc", "read"));
    assert!(!acl.allowed("secret/a/teamc", "read"));
    assert!(acl.allowed("sys/mounts/tune", "sudo"));
    assert!(!acl.allowed("sys/mounts/x/tune", "sudo"));
}

#[test]
fn fewer_plus_segments_win() {
    let acl = acl(&[r#"
        path "foo/bar/+/baz" { capabilities = ["read"] }
        path "foo/+/+/baz" { capabilities = ["list"] }
    "#]);
    assert_eq!(acl.capabilities("foo/bar/x/baz"), vec!["read"]);
    assert_eq!(acl.capabilities("foo/qux/x/baz"), vec!["list"]);
}

#[test]
fn same_pattern_merges_across_policies() {
    let acl = acl(&[
        r#"path "secret/*" { capabilities = ["read"] }"#,
        r#"path "secret/*" { capabilities = ["list", "update"] }"#,
    ]);
    assert_eq!(acl.capabilities("secret/x"), vec!["list", "read", "update"]);
}

#[test]
fn deny_in_any_policy_overrides() {
    for order in [[0, 1], [1, 0]] {
        let texts = [
            r#"path "secret/prod" { capabilities = ["read", "update", "sudo"] }"#,
            r#"path "secret/prod" { capabilities = ["deny"] }"#,
        ];
        let acl = acl(&[texts[order[0]], texts[order[1]]]);
        assert_eq!(acl.capabilities("secret/prod"), vec!["deny"]);
        assert!(!acl.allowed("secret/prod", "read"));
        assert!(!acl.allowed("secret/prod", "sudo"));
        let denied = acl.check("secret/prod", "read", &no_params()).unwrap_err();
        assert_eq!(denied.reason, DenyReason::ExplicitDeny);
    }
}

#[test]
fn root_allows_everything() {
    let root = Policy {
        name: "root".into(),
        raw: String::new(),
        rules: Vec::new(),
    };
    let acl = Acl::new(&[root]);
    assert!(acl.is_root());
    assert!(acl.allowed("sys/seal", "sudo"));
    assert_eq!(acl.capabilities("anything/at/all"), vec!["root"]);
    assert!(acl
        .check("secret/x", "update", &params(json!({"any": 1})))
        .is_ok());
    assert!(!Acl::new(&[]).is_root());
}

#[test]
fn sudo_is_an_ordinary_capability() {
    let acl = acl(&[r#"path "sys/auth/*" { capabilities = ["create", "sudo"] }"#]);
    assert!(acl.allowed("sys/auth/userpass", "sudo"));
    assert!(acl.check("sys/auth/userpass", "sudo", &no_params()).is_ok());
    assert_eq!(
        acl.capabilities("sys/auth/userpass"),
        vec!["create", "sudo"]
    );
}

#[test]
fn list_falls_back_to_path_without_trailing_slash() {
    let acl = acl(&[r#"
        path "secret/metadata/app" { capabilities = ["list"] }
        path "kv/+/dir" { capabilities = ["list"] }
    "#]);
    assert!(acl.allowed("secret/metadata/app/", "list"));
    assert!(!acl.allowed("secret/metadata/app/", "read"));
    assert!(acl.allowed("kv/x/dir/", "list"));
    assert_eq!(acl.capabilities("secret/metadata/app/"), vec!["list"]);
}

#[test]
fn leading_slash_is_ignored() {
    let acl = acl(&[r#"path "/secret/x" { capabilities = ["read"] }"#]);
    assert!(acl.allowed("secret/x", "read"));
    assert!(acl.allowed("/secret/x", "read"));
}

#[test]
fn operations_map_to_capabilities() {
    let acl = acl(&[r#"path "sys/leases/renew" { capabilities = ["update"] }"#]);
    assert!(acl.allowed("sys/leases/renew", "renew"));
    assert!(acl.allowed("sys/leases/renew", "help"));
    assert!(!acl.allowed("sys/leases/renew", "bogus"));
    assert!(!acl.allowed("sys/leases/renew", "deny"));
    let denied = acl
        .check("sys/leases/renew", "fly", &no_params())
        .unwrap_err();
    assert_eq!(denied.reason, DenyReason::UnknownCapability);
}

#[test]
fn legacy_write_policy_grants_crud() {
    let acl = acl(&[r#"path "secret/*" { policy = "write" }"#]);
    assert_eq!(
        acl.capabilities("secret/a"),
        vec!["create", "delete", "list", "read", "update"]
    );
}

#[test]
fn json_policy_evaluates_like_hcl() {
    let json = r#"{"path": {"secret/+/teamb": {"capabilities": ["read"]}}}"#;
    let acl = Acl::new(&[policy("j", json)]);
    assert!(acl.allowed("secret/a/teamb", "read"));
}

#[test]
fn parameter_constraints_from_the_docs() {
    let acl = acl(&[r#"
        path "secret/foo" {
            capabilities = ["create", "update"]
            allowed_parameters = {
                "bar" = ["zip", "zap-*"]
                "*"   = []
            }
            denied_parameters = {
                "salary" = []
            }
            required_parameters = ["bar"]
        }
    "#]);
    let check = |data: Value| acl.check("secret/foo", "update", &params(data));
    assert!(check(json!({"bar": "zip", "baz": 1})).is_ok());
    assert!(check(json!({"bar": "zap-1"})).is_ok());
    assert_eq!(
        check(json!({"bar": "nope"})).unwrap_err().reason,
        DenyReason::ParameterNotAllowed("bar".into())
    );
    assert_eq!(
        check(json!({"baz": 1})).unwrap_err().reason,
        DenyReason::MissingRequiredParameter("bar".into())
    );
    assert_eq!(
        check(json!({"bar": "zip", "salary": 10}))
            .unwrap_err()
            .reason,
        DenyReason::DeniedParameter("salary".into())
    );
    // Constraints do not apply to delete, nor to capability queries.
    assert!(acl.allowed("secret/foo", "update"));
}

#[test]
fn parameter_constraints_merge_across_policies() {
    let acl = acl(&[
        r#"
        path "secret/foo" {
            capabilities = ["update"]
            allowed_parameters = { "a" = ["1"] }
        }"#,
        r#"
        path "secret/foo" {
            capabilities = ["update"]
            allowed_parameters = { "a" = ["2"] }
        }"#,
    ]);
    let check = |data: Value| acl.check("secret/foo", "update", &params(data));
    assert!(check(json!({"a": "1"})).is_ok());
    assert!(check(json!({"a": "2"})).is_ok());
    assert!(check(json!({"a": "3"})).is_err());
}

#[test]
fn wrapping_ttl_constraints() {
    let acl = acl(&[r#"
        path "auth/approle/role/r/secret-id" {
            capabilities = ["update"]
            min_wrapping_ttl = "1s"
            max_wrapping_ttl = "90s"
        }
    "#]);
    let path = "auth/approle/role/r/secret-id";
    let wrapped = |secs| acl.check_wrapped(path, "update", &no_params(), secs);
    assert!(wrapped(Some(Duration::from_secs(60))).is_ok());
    assert_eq!(
        acl.check(path, "update", &no_params()).unwrap_err().reason,
        DenyReason::WrappingTtl
    );
    assert!(wrapped(Some(Duration::from_secs(120))).is_err());
}

#[test]
fn capability_not_granted_reason() {
    let acl = acl(&[r#"path "secret/x" { capabilities = ["read"] }"#]);
    let denied = acl.check("secret/x", "delete", &no_params()).unwrap_err();
    assert_eq!(denied.reason, DenyReason::CapabilityNotGranted);
    assert_eq!(denied.path, "secret/x");
    assert_eq!(denied.capability, "delete");
}

fn namespace_view(namespace: &str) -> crate::policy::IdentityView {
    let alias = crate::policy::AliasView {
        id: "a1".into(),
        name: "uid".into(),
        metadata: [("service_account_namespace".to_owned(), namespace.to_owned())].into(),
        ..Default::default()
    };
    crate::policy::IdentityView {
        entity_id: "e1".into(),
        entity_name: "entity_e1".into(),
        aliases: [("auth_kubernetes_x".to_owned(), alias)].into(),
        ..Default::default()
    }
}

#[test]
fn templated_rules_apply_only_once_filled_from_the_callers_identity() {
    let team = policy(
        "team",
        r#"path "secret/data/{{identity.entity.aliases.auth_kubernetes_x.metadata.service_account_namespace}}/*" { capabilities = ["read"] }
           path "secret/data/shared" { capabilities = ["read"] }"#,
    );
    let policies = [team];
    let a = Acl::with_identity(&policies, Some(&namespace_view("a")));
    assert!(a.allowed("secret/data/a/db", "read"));
    assert!(!a.allowed("secret/data/b/db", "read"));
    let b = Acl::with_identity(&policies, Some(&namespace_view("b")));
    assert!(b.allowed("secret/data/b/db", "read"));
    assert!(!b.allowed("secret/data/a/db", "read"));
    let nobody = Acl::with_identity(&policies, None);
    assert!(!nobody.allowed("secret/data/a/db", "read"));
    assert!(
        nobody.allowed("secret/data/shared", "read"),
        "plain rules still apply"
    );
    let literal = "secret/data/{{identity.entity.aliases.auth_kubernetes_x.metadata.service_account_namespace}}/x";
    assert!(
        !a.allowed(literal, "read"),
        "the template never matches literally"
    );
}

#[test]
fn a_template_error_is_refused_when_the_policy_is_parsed() {
    let err = parse_policy(
        "t",
        r#"path "secret/{{identity.entity.nope}}" { capabilities = ["read"] }"#,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to parse policy: path \"secret/{{identity.entity.nope}}\": invalid identity template: unknown template parameter \"identity.entity.nope\""
    );
    assert!(parse_policy(
        "t",
        r#"path "secret/{{identity.entity.id" { capabilities = ["read"] }"#
    )
    .is_err());
}
