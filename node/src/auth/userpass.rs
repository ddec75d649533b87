//! The `userpass` auth method: `users/<name>` (password hashed with Argon2id, token fields),
//! `users/<name>/password`, `users/<name>/policies`, `LIST users`, and `login/<name>`.
//! Storage: `user/<name>` → [`User`]. Usernames are case-insensitive (stored lower-case).

use super::token_params::TokenParams;
use super::{cidr, data_reply, list_response, no_content, password};
use super::{AliasGrant, AuthMethod, LoginGrant, MountRequest, Outcome};
use crate::error::ApiError;
use crate::fields::Fields;
use crate::request::Operation;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Map;

/// The method (stateless; everything is in the mount's storage).
pub struct Userpass;

/// A stored user. `password_hash` is a PHC string; the password is never kept.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct User {
    pub password_hash: String,
    #[serde(flatten)]
    pub token: TokenParams,
}

/// Vault's answer to any failed password check, known user or not.
const BAD_CREDENTIALS: &str = "invalid username or password";

#[async_trait]
impl AuthMethod for Userpass {
    fn is_login_path(&self, path: &str) -> bool {
        path.starts_with("login/")
    }

    async fn exists(&self, areq: MountRequest<'_>) -> Result<Option<bool>, ApiError> {
        match areq.path.strip_prefix("users/") {
            Some(name) if !name.contains('/') => match username(name) {
                Ok(name) => super::stored(&areq, &key(&name)).await,
                Err(_) => Ok(None),
            },
            _ => Ok(None),
        }
    }

    async fn handle(&self, areq: MountRequest<'_>) -> Result<Outcome, ApiError> {
        let op = areq.req.operation;
        let write = matches!(op, Operation::Create | Operation::Update);
        let path = areq.path.trim_end_matches('/');
        if path == "users" {
            return match op {
                Operation::List => list_response(areq.storage.list("user/").await?),
                _ => Err(ApiError::UnsupportedOperation),
            };
        }
        if let Some(name) = path.strip_prefix("login/") {
            return match write {
                true => login(&areq, name).await,
                false => Err(ApiError::UnsupportedOperation),
            };
        }
        let Some(rest) = path.strip_prefix("users/") else {
            return Err(crate::error::ApiError::no_route(&areq.req.path));
        };
        match rest.split_once('/') {
            Some((name, "password")) if write => set_password(&areq, name).await,
            Some((name, "policies")) if write => set_policies(&areq, name).await,
            Some(_) => Err(crate::error::ApiError::no_route(&areq.req.path)),
            None => user_op(&areq, rest).await,
        }
    }
}

fn username(name: &str) -> Result<String, ApiError> {
    super::name_segment(name, "username").map(|n| n.to_lowercase())
}

fn key(name: &str) -> String {
    format!("user/{name}")
}

async fn load(areq: &MountRequest<'_>, name: &str) -> Result<Option<User>, ApiError> {
    areq.storage.get_json(&key(name)).await
}

fn new_password(areq: &MountRequest<'_>) -> Result<Option<String>, ApiError> {
    let pw = Fields(&areq.req.data).str_opt("password")?;
    Ok(pw.filter(|p| !p.is_empty()))
}

async fn hashed(password: String) -> Result<String, ApiError> {
    password::hash_off_worker(password)
        .await
        .map_err(ApiError::internal)
}

async fn user_op(areq: &MountRequest<'_>, name: &str) -> Result<Outcome, ApiError> {
    let name = username(name)?;
    match areq.req.operation {
        Operation::Read => {
            let user = load(areq, &name)
                .await?
                .ok_or_else(|| ApiError::NotFound(String::new()))?;
            let mut data = Map::new();
            user.token.write_json(&mut data);
            Ok(data_reply(data))
        }
        Operation::Create | Operation::Update => {
            let existing = load(areq, &name).await?;
            let mut user = existing.clone().unwrap_or_default();
            user.token.apply(&areq.req.data)?;
            match new_password(areq)? {
                Some(pw) => user.password_hash = hashed(pw).await?,
                None if existing.is_none() => return Err(ApiError::bad("missing password")),
                None => {}
            }
            areq.storage.put_json(&key(&name), &user).await?;
            Ok(no_content())
        }
        Operation::Delete => {
            areq.storage.delete(&key(&name)).await?;
            Ok(no_content())
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}

async fn existing_user(areq: &MountRequest<'_>, name: &str) -> Result<(String, User), ApiError> {
    let name = username(name)?;
    let user = load(areq, &name)
        .await?
        .ok_or_else(|| ApiError::bad("username does not exist"))?;
    Ok((name, user))
}

async fn set_password(areq: &MountRequest<'_>, name: &str) -> Result<Outcome, ApiError> {
    let (name, mut user) = existing_user(areq, name).await?;
    let pw = new_password(areq)?.ok_or_else(|| ApiError::bad("missing password"))?;
    user.password_hash = hashed(pw).await?;
    areq.storage.put_json(&key(&name), &user).await?;
    Ok(no_content())
}

async fn set_policies(areq: &MountRequest<'_>, name: &str) -> Result<Outcome, ApiError> {
    let (name, mut user) = existing_user(areq, name).await?;
    let mut only_policies = Map::new();
    for k in ["policies", "token_policies"] {
        if let Some(v) = areq.req.data.get(k) {
            only_policies.insert(k.to_string(), v.clone());
        }
    }
    user.token.apply(&only_policies)?;
    areq.storage.put_json(&key(&name), &user).await?;
    Ok(no_content())
}

async fn login(areq: &MountRequest<'_>, name: &str) -> Result<Outcome, ApiError> {
    let name = username(name)?;
    let pw = new_password(areq)?.ok_or_else(|| ApiError::bad("missing password"))?;
    let user = load(areq, &name).await?;
    let phc = user.as_ref().map(|u| u.password_hash.clone());
    let (true, Some(user)) = (password::verify_off_worker(pw, phc).await, user) else {
        return Err(ApiError::bad(BAD_CREDENTIALS));
    };
    if !cidr::allows(
        &user.token.token_bound_cidrs,
        areq.req.remote_addr.as_deref(),
    ) {
        return Err(ApiError::PermissionDenied);
    }
    let metadata = [("username".to_string(), name.clone())].into();
    let grant = LoginGrant {
        alias: Some(AliasGrant {
            name: name.clone(),
            metadata: Default::default(),
        }),
        group_aliases: Vec::new(),
        bound_cidrs: user.token.token_bound_cidrs.clone(),
        params: user.token,
        metadata,
        display_name: name,
    };
    Ok(Outcome::Login(Box::new(grant)))
}

#[cfg(test)]
mod tests {
    use crate::auth::testkit::Mount;
    use crate::auth::Outcome;
    use crate::request::Operation::{Read, Update};
    use serde_json::json;

    #[tokio::test]
    async fn only_a_hash_of_the_password_is_stored_and_logins_check_it() {
        let m = Mount::new("userpass").await;
        let body = json!({"password": "hunter2-plain", "token_policies": "dev"});
        assert!(m.call(Update, "users/Bob", body).await.is_ok());
        let stored = m.storage.get("user/bob").await.unwrap().unwrap();
        let stored = String::from_utf8(stored).unwrap();
        assert!(!stored.contains("hunter2-plain"));
        assert!(stored.contains("$argon2id$"));
        assert!(!m
            .data(Read, "users/bob", json!({}))
            .await
            .contains_key("password_hash"));
        match m
            .call(Update, "login/BOB", json!({"password": "hunter2-plain"}))
            .await
        {
            Ok(Outcome::Login(grant)) => {
                assert_eq!(grant.metadata["username"], "bob");
                assert_eq!(grant.params.token_policies, vec!["dev"]);
            }
            _ => panic!("the right password logs in"),
        }
        let wrong = m
            .call(Update, "login/bob", json!({"password": "nope"}))
            .await;
        assert_eq!(
            wrong.err().map(|e| e.to_string()).as_deref(),
            Some(super::BAD_CREDENTIALS)
        );
    }
}
