//! A Kubernetes auth role: which service accounts (names and namespaces, `*` globs; a lone `*`
//! is any, and both may be `*`) may log in, the audience their tokens must carry, and the token
//! fields of their logins.

use crate::auth::{glob, token_params::TokenParams};
use crate::error::ApiError;
use crate::fields::string_list;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A stored role (`role/<name>`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct KubeRole {
    pub bound_service_account_names: Vec<String>,
    pub bound_service_account_namespaces: Vec<String>,
    pub audience: String,
    /// `serviceaccount_uid` (default) or `serviceaccount_name`.
    pub alias_name_source: String,
    #[serde(flatten)]
    pub token: TokenParams,
}

/// Why a service account may not use a role (both are 403s in Vault).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BindError {
    #[error("service account name not authorized")]
    Name,
    #[error("namespace not authorized")]
    Namespace,
}

impl KubeRole {
    /// Apply a write on top of the stored role (or a new one); checked before anything is set.
    pub fn apply(&mut self, data: &Map<String, Value>) -> Result<(), ApiError> {
        let mut next = self.clone();
        let list = |k: &str| -> Result<Option<Vec<String>>, ApiError> {
            match data.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => Ok(Some(string_list(v, k)?)),
            }
        };
        if let Some(names) = list("bound_service_account_names")? {
            next.bound_service_account_names = names;
        }
        if let Some(namespaces) = list("bound_service_account_namespaces")? {
            next.bound_service_account_namespaces = namespaces;
        }
        if let Some(v) = data.get("audience").filter(|v| !v.is_null()) {
            next.audience = v.as_str().unwrap_or_default().trim().to_string();
        }
        if let Some(v) = data.get("alias_name_source").filter(|v| !v.is_null()) {
            next.alias_name_source = match v.as_str().unwrap_or_default() {
                "" | "serviceaccount_uid" => "serviceaccount_uid".into(),
                "serviceaccount_name" => "serviceaccount_name".into(),
                other => {
                    return Err(ApiError::bad(format!(
                        "invalid alias_name_source {other:?}"
                    )))
                }
            };
        }
        if next.alias_name_source.is_empty() {
            next.alias_name_source = "serviceaccount_uid".into();
        }
        if data
            .get("bound_service_account_namespace_selector")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty())
        {
            return Err(ApiError::bad(
                "bound_service_account_namespace_selector is not supported by this server",
            ));
        }
        next.token.apply(data)?;
        if next.bound_service_account_names.is_empty() {
            return Err(ApiError::bad(
                "\"bound_service_account_names\" can not be empty",
            ));
        }
        if next.bound_service_account_namespaces.is_empty() {
            return Err(ApiError::bad(
                "\"bound_service_account_namespaces\" can not be empty if \"bound_service_account_namespace_selector\" is not set",
            ));
        }
        // `*` alone means any; mixed with other values it is refused. Names and namespaces may
        // both be `*` (Vault has allowed that since 2019: the TokenReview still decides).
        let mixed = |l: &[String]| l.len() > 1 && l.iter().any(|v| v == "*");
        if mixed(&next.bound_service_account_names) || mixed(&next.bound_service_account_namespaces)
        {
            return Err(ApiError::bad("can not mix \"*\" with values"));
        }
        *self = next;
        Ok(())
    }

    /// Whether a service account (`namespace`/`name`) is bound to this role.
    pub fn check_bound(&self, namespace: &str, name: &str) -> Result<(), BindError> {
        if !glob::any_matches(&self.bound_service_account_names, name) {
            return Err(BindError::Name);
        }
        if !glob::any_matches(&self.bound_service_account_namespaces, namespace) {
            return Err(BindError::Namespace);
        }
        Ok(())
    }

    /// The `data` of a role read.
    pub fn read_json(&self) -> Map<String, Value> {
        let mut out = Map::new();
        out.insert(
            "bound_service_account_names".into(),
            self.bound_service_account_names.clone().into(),
        );
        out.insert(
            "bound_service_account_namespaces".into(),
            self.bound_service_account_namespaces.clone().into(),
        );
        out.insert("bound_service_account_namespace_selector".into(), "".into());
        out.insert("audience".into(), self.audience.clone().into());
        out.insert(
            "alias_name_source".into(),
            self.alias_name_source.clone().into(),
        );
        out.insert("ttl".into(), self.token.token_ttl.into());
        out.insert("max_ttl".into(), self.token.token_max_ttl.into());
        out.insert("period".into(), self.token.token_period.into());
        self.token.write_json(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn role(v: Value) -> Result<KubeRole, ApiError> {
        let mut r = KubeRole::default();
        r.apply(v.as_object().unwrap()).map(|_| r)
    }

    #[test]
    fn the_walkthrough_role_parses_with_deprecated_names() {
        let r = role(json!({"bound_service_account_names": "basic-secret",
            "bound_service_account_namespaces": "example-app",
            "policies": "basic-secret-policy", "ttl": "1h"}))
        .unwrap();
        assert_eq!(r.token.token_policies, vec!["basic-secret-policy"]);
        assert_eq!(r.token.token_ttl, 3600);
        assert_eq!(r.alias_name_source, "serviceaccount_uid");
        assert_eq!(r.read_json()["ttl"], 3600);
    }

    #[test]
    fn names_and_namespaces_are_required_and_a_star_stands_alone() {
        assert!(role(json!({"bound_service_account_names": "a"})).is_err());
        assert!(role(json!({"bound_service_account_namespaces": "a"})).is_err());
        let both = role(json!({"bound_service_account_names": "*",
            "bound_service_account_namespaces": "*"}))
        .unwrap();
        assert_eq!(both.check_bound("any-ns", "any-name"), Ok(()));
        for mixed in [
            json!({"bound_service_account_names": ["*", "web"],
                   "bound_service_account_namespaces": "a"}),
            json!({"bound_service_account_names": "web",
                   "bound_service_account_namespaces": ["prod", "*"]}),
        ] {
            assert_eq!(
                role(mixed).unwrap_err().to_string(),
                "can not mix \"*\" with values"
            );
        }
        assert!(role(json!({"bound_service_account_names": "*",
            "bound_service_account_namespaces": "prod-*"}))
        .is_ok());
    }

    #[test]
    fn bound_names_and_namespaces_match_with_globs() {
        let r = role(
            json!({"bound_service_account_names": ["basic-secret", "job-*"],
            "bound_service_account_namespaces": ["example-app"]}),
        )
        .unwrap();
        assert_eq!(r.check_bound("example-app", "basic-secret"), Ok(()));
        assert_eq!(r.check_bound("example-app", "job-42"), Ok(()));
        assert_eq!(r.check_bound("example-app", "other"), Err(BindError::Name));
        assert_eq!(
            r.check_bound("other-ns", "basic-secret"),
            Err(BindError::Namespace)
        );
        let any_ns = role(json!({"bound_service_account_names": "web",
            "bound_service_account_namespaces": "*"}))
        .unwrap();
        assert_eq!(any_ns.check_bound("whatever", "web"), Ok(()));
    }
}
