//! A plugin's Coffer token: where it comes from (a token file, AppRole, Kubernetes), renewed
//! once half its TTL has passed, and replaced by a fresh login when Coffer answers 403 and the
//! token cannot look itself up (it expired or was revoked; a 403 that is the policy's answer to
//! a valid token is passed on, not answered with another token). The renewal is done on the way
//! into a call, so an idle plugin holds no timer; kube-apiserver's Status polls keep the KMS
//! plugin's token warm.

use super::{ClientError, Endpoint};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How the plugin obtains a token.
#[derive(Debug, Clone)]
pub enum Login {
    /// A token read from a file (re-read after a 403, so an agent may rotate it).
    TokenFile(PathBuf),
    /// `auth/<mount>/login` with a role_id and a secret_id, each read from a file.
    AppRole {
        mount: String,
        role_id_file: PathBuf,
        secret_id_file: PathBuf,
    },
    /// `auth/<mount>/login` with a role and the service account token read from `jwt_file`
    /// (the projected token is re-read at every login).
    Kubernetes {
        mount: String,
        role: String,
        jwt_file: PathBuf,
    },
    /// A fixed JWT (the CSI provider's pod token, handed over per Mount).
    KubernetesJwt {
        mount: String,
        role: String,
        jwt: String,
    },
}

#[derive(Debug, Clone)]
struct Held {
    token: String,
    /// When to renew (half the TTL after the token was obtained); `None`: never.
    renew_at: Option<Instant>,
}

/// An endpoint and a token for it.
#[derive(Debug)]
pub struct Session {
    endpoint: Endpoint,
    login: Login,
    held: Mutex<Option<Held>>,
}

fn read_trimmed(path: &PathBuf) -> Result<String, ClientError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ClientError::Config(format!("{}: {e}", path.display())))?;
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(ClientError::Config(format!("{}: empty", path.display())));
    }
    Ok(text)
}

/// When to renew a token of `ttl_s` seconds obtained `now`: at half its TTL (not at all when it
/// does not expire or cannot be renewed).
pub fn renew_at(now: Instant, ttl_s: u64, renewable: bool) -> Option<Instant> {
    (renewable && ttl_s > 0).then(|| now + Duration::from_secs(ttl_s) / 2)
}

impl Session {
    pub fn new(endpoint: Endpoint, login: Login) -> Self {
        Session {
            endpoint,
            login,
            held: Mutex::new(None),
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Log in (or read the token file): the token and when to renew it.
    async fn login(&self) -> Result<Held, ClientError> {
        let (mount, body) = match &self.login {
            Login::TokenFile(path) => {
                let token = read_trimmed(path)?;
                // A token without the default policy may not look itself up (Vault's rule):
                // then it is used as it is, never renewed, and replaced from the file on a 403.
                let lookup = match self
                    .endpoint
                    .call("GET", "auth/token/lookup-self", Some(&token), None)
                    .await
                {
                    Err(ClientError::Status { status: 403, .. }) => serde_json::Value::Null,
                    other => other?,
                };
                let data = &lookup["data"];
                let ttl = data["ttl"].as_u64().unwrap_or(0);
                let renewable = data["renewable"].as_bool().unwrap_or(false);
                return Ok(Held {
                    token,
                    renew_at: renew_at(Instant::now(), ttl, renewable),
                });
            }
            Login::AppRole {
                mount,
                role_id_file,
                secret_id_file,
            } => (
                mount,
                json!({"role_id": read_trimmed(role_id_file)?,
                       "secret_id": read_trimmed(secret_id_file)?}),
            ),
            Login::Kubernetes {
                mount,
                role,
                jwt_file,
            } => (mount, json!({"role": role, "jwt": read_trimmed(jwt_file)?})),
            Login::KubernetesJwt { mount, role, jwt } => (mount, json!({"role": role, "jwt": jwt})),
        };
        let path = format!("auth/{}/login", mount.trim_matches('/'));
        let answer = self.endpoint.call("POST", &path, None, Some(&body)).await?;
        held_from_auth(&answer)
    }

    /// The current token: logs in when there is none, renews it once half its TTL has passed
    /// (a failed renewal logs in again).
    pub async fn token(&self) -> Result<String, ClientError> {
        let mut held = self.held.lock().await;
        if let Some(h) = held.as_ref() {
            match h.renew_at {
                Some(at) if Instant::now() >= at => {
                    let renewed = self
                        .endpoint
                        .call(
                            "POST",
                            "auth/token/renew-self",
                            Some(&h.token),
                            Some(&json!({})),
                        )
                        .await
                        .and_then(|a| held_from_auth(&a));
                    match renewed {
                        Ok(r) => *held = Some(r),
                        Err(ClientError::Status { .. }) => *held = Some(self.login().await?),
                        // Coffer did not answer: keep the token, which is still valid for
                        // another half TTL, and try again on the next call.
                        Err(_) => {}
                    }
                }
                _ => {}
            }
        } else {
            *held = Some(self.login().await?);
        }
        held.as_ref()
            .map(|h| h.token.clone())
            .ok_or_else(|| ClientError::Config("no token".into()))
    }

    /// Forget the token (Coffer refused it): the next call logs in again.
    async fn forget(&self, token: &str) {
        let mut held = self.held.lock().await;
        if held.as_ref().is_some_and(|h| h.token == token) {
            *held = None;
        }
    }

    /// Whether Coffer still knows `token` (it may look itself up): a 403 was then the policy's
    /// answer, and a new login would only make another token with the same policy.
    async fn still_valid(&self, token: &str) -> bool {
        self.endpoint
            .call("GET", "auth/token/lookup-self", Some(token), None)
            .await
            .is_ok()
    }

    /// `method` `/v1/{path}` with the session's token; on a 403 with a token that is no longer
    /// valid, the token is dropped and the call made once more after a fresh login.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let deadline = self.endpoint.timeout();
        let work = async {
            let token = self.token().await?;
            match self.endpoint.call(method, path, Some(&token), body).await {
                Err(e) if e.status() == Some(403) && self.still_valid(&token).await => Err(e),
                Err(e) if e.status() == Some(403) => {
                    self.forget(&token).await;
                    let token = self.token().await?;
                    self.endpoint.call(method, path, Some(&token), body).await
                }
                other => other,
            }
        };
        match tokio::time::timeout(deadline, work).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::Timeout(deadline)),
        }
    }
}

/// The token of a login or renewal answer (`auth.client_token`, `lease_duration`, `renewable`).
fn held_from_auth(answer: &Value) -> Result<Held, ClientError> {
    let auth = &answer["auth"];
    let token = auth["client_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ClientError::Status {
            status: 500,
            message: "the login answer carries no auth.client_token".into(),
        })?;
    let ttl = auth["lease_duration"].as_u64().unwrap_or(0);
    let renewable = auth["renewable"].as_bool().unwrap_or(false);
    Ok(Held {
        token: token.to_string(),
        renew_at: renew_at(Instant::now(), ttl, renewable),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_falls_at_half_the_ttl_of_renewable_tokens_only() {
        let now = Instant::now();
        assert_eq!(
            renew_at(now, 3600, true),
            Some(now + Duration::from_secs(1800))
        );
        assert_eq!(renew_at(now, 3600, false), None);
        assert_eq!(renew_at(now, 0, true), None);
    }

    #[test]
    fn login_answers_without_a_token_are_errors() {
        assert!(held_from_auth(&json!({"auth": null})).is_err());
        let h = held_from_auth(
            &json!({"auth": {"client_token": "s.x", "lease_duration": 60,
            "renewable": true}}),
        )
        .unwrap();
        assert_eq!(h.token, "s.x");
        assert!(h.renew_at.is_some());
    }
}
