//! Stored ACL policies (`sys/policy/<name>` inside the barrier, each `{name, policy}` with the raw
//! HCL text) and the ACL built for a token's policy set.

use crate::error::ApiError;
use crate::policy::{self, Acl, Policy};
use crate::storage::StorageView;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// The built-in policies, parsed once: "root" (an empty policy by that name makes a root ACL)
/// and the wrapping tokens' policy, which no stored text may replace.
static ROOT: LazyLock<Result<Policy, String>> =
    LazyLock::new(|| policy::parse_policy("root", "").map_err(|e| e.to_string()));
static WRAPPING: LazyLock<Result<Policy, String>> = LazyLock::new(|| {
    policy::parse_policy(policy::WRAPPING_POLICY_NAME, policy::WRAPPING_POLICY)
        .map_err(|e| e.to_string())
});

fn built_in(parsed: &LazyLock<Result<Policy, String>>) -> Result<Policy, ApiError> {
    LazyLock::force(parsed).clone().map_err(ApiError::internal)
}

#[derive(Serialize, Deserialize)]
struct StoredPolicy {
    name: String,
    policy: String,
}

/// Policies by name.
pub struct PolicyStore {
    view: StorageView,
}

impl PolicyStore {
    /// The store over `sys/policy/`.
    pub fn new(view: StorageView) -> Self {
        PolicyStore { view }
    }

    /// Write the built-in `default` policy at init.
    pub async fn create_defaults(&self) -> Result<(), ApiError> {
        self.write("default", policy::DEFAULT_POLICY).await
    }

    /// Names of all policies, sorted, including `root`.
    pub async fn list(&self) -> Result<Vec<String>, ApiError> {
        let mut names = self.view.list("").await?;
        names.push("root".into());
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// The raw text of a policy (`root` has none), or `None`.
    pub async fn read(&self, name: &str) -> Result<Option<String>, ApiError> {
        let name = name.to_lowercase();
        if name == "root" {
            return Ok(Some(String::new()));
        }
        Ok(self
            .view
            .get_json::<StoredPolicy>(&name)
            .await?
            .map(|p| p.policy))
    }

    /// Parse, then store a policy. `root` cannot be written.
    pub async fn write(&self, name: &str, text: &str) -> Result<(), ApiError> {
        let name = name.to_lowercase();
        if name == "root" || name == policy::WRAPPING_POLICY_NAME {
            return Err(ApiError::bad(format!("cannot update \"{name}\" policy")));
        }
        if name.is_empty() || name.contains('/') {
            return Err(ApiError::bad("invalid policy name"));
        }
        policy::parse_policy(&name, text).map_err(|e| ApiError::bad(e.to_string()))?;
        let stored = StoredPolicy {
            name: name.clone(),
            policy: text.to_string(),
        };
        self.view.put_json(&name, &stored).await
    }

    /// Remove a policy; `root` and `default` cannot be deleted.
    pub async fn delete(&self, name: &str) -> Result<(), ApiError> {
        let name = name.to_lowercase();
        if name == "root" || name == "default" || name == policy::WRAPPING_POLICY_NAME {
            return Err(ApiError::bad(format!("cannot delete \"{name}\" policy")));
        }
        self.view.delete(&name).await
    }

    /// The ACL of a set of policy names; unknown names are skipped, as Vault does.
    pub async fn acl(&self, names: &[String]) -> Result<Acl, ApiError> {
        self.acl_with(names, None).await
    }

    /// The ACL of a set of policy names for a caller whose identity fills templated rules.
    pub async fn acl_with(
        &self,
        names: &[String],
        identity: Option<&policy::IdentityView>,
    ) -> Result<Acl, ApiError> {
        let mut policies: Vec<Policy> = Vec::new();
        for name in names {
            if name == "root" {
                policies.push(built_in(&ROOT)?);
                continue;
            }
            if name == policy::WRAPPING_POLICY_NAME {
                // Wrapping tokens reach the wrapping endpoints and nothing else, whatever is
                // stored under that name.
                policies.push(built_in(&WRAPPING)?);
                continue;
            }
            if let Some(text) = self.read(name).await? {
                let parsed = policy::parse_policy(name, &text)
                    .map_err(|e| ApiError::internal(e.to_string()))?;
                policies.push(parsed);
            }
        }
        Ok(Acl::with_identity(&policies, identity))
    }
}
