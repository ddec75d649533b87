//! `login` with `{role, jwt}`: the token's signature is verified against the configured keys
//! (static PEM keys, or a JWKS fetched directly or through OIDC discovery, refetched once when the
//! token names a kid the cached set lacks), then its algorithm, issuer, subject, audience and time
//! claims, then the role's user claim, claim mappings, groups and bound claims. Refusals are
//! Vault's: 400 with its messages for a bad token or claims, 403 for a caller outside the role's
//! CIDRs.

use super::claims::{self, Expected};
use super::config::{JwtConfig, KeySource, SUPPORTED_ALGS};
use super::jwks::{self, Remote};
use super::keys::{self, Key};
use super::role::JwtRole;
use super::token::{self, Unverified};
use crate::auth::{cidr, name_segment, AliasGrant, LoginGrant, MountRequest, Outcome};
use crate::error::ApiError;
use crate::fields::Fields;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Why a login was refused after its role was found (each a 400 in Vault).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Refused {
    #[error("error validating token: {0}")]
    Token(String),
    #[error("audience claim found in JWT but no audiences bound to the role")]
    AudienceUnbound,
    #[error("{0}")]
    Identity(String),
    #[error("error validating claims: {0}")]
    Claims(String),
}

/// Verify the token's signature with the config's keys; its claims when it holds.
async fn verify(mount_uuid: &str, config: &JwtConfig, jwt: &str) -> Result<Unverified, String> {
    let t = token::parse(jwt).map_err(|e| e.to_string())?;
    let verified = match config.source() {
        KeySource::Static(pems) => {
            let keys: Vec<Key> = pems.iter().filter_map(|p| keys::from_pem(p).ok()).collect();
            keys::verifies(&keys, &t, false)
        }
        KeySource::Jwks { url, ca_pem } => {
            remote_verifies(mount_uuid, Remote::Jwks { url, ca_pem }, &t).await?
        }
        KeySource::Discovery { url, ca_pem } => {
            remote_verifies(mount_uuid, Remote::Discovery { url, ca_pem }, &t).await?
        }
    };
    if !verified {
        return Err("error verifying token signature: failed to verify id token signature".into());
    }
    let alg = token::alg_name(t.alg);
    let allowed = if config.jwt_supported_algs.is_empty() {
        SUPPORTED_ALGS.contains(&alg.as_str())
    } else {
        config.jwt_supported_algs.contains(&alg)
    };
    if !allowed {
        return Err(format!(
            "invalid algorithm (alg) header parameter: token signed with unsupported algorithm {alg:?}"
        ));
    }
    Ok(t)
}

/// Verify against the mount's remote keys, refetching them once when the kid is unknown.
async fn remote_verifies(
    mount_uuid: &str,
    remote: Remote<'_>,
    t: &Unverified,
) -> Result<bool, String> {
    let now = crate::clock::unix_now_ms();
    let fetch_err = |e: jwks::FetchError| format!("error verifying token signature: {e}");
    let mut keys = jwks::keys_for(mount_uuid, remote, false, now)
        .await
        .map_err(fetch_err)?;
    if !keys::knows_kid(&keys, t) {
        keys = jwks::keys_for(mount_uuid, remote, true, now)
            .await
            .map_err(fetch_err)?;
    }
    Ok(keys::verifies(&keys, t, true))
}

/// Who a token names, by the role's claim rules.
struct Identity {
    /// The user claim's value: the alias name.
    user: String,
    /// The alias metadata (`claim_mappings`, and `role`).
    metadata: BTreeMap<String, String>,
    /// The groups claim's values.
    groups: Vec<String>,
}

/// The user claim's value, the alias metadata and the group names (Vault's `createIdentity`).
fn identity(
    claims: &Map<String, Value>,
    role_name: &str,
    role: &JwtRole,
) -> Result<Identity, String> {
    let user = if role.user_claim_json_pointer {
        claims::get(claims, &role.user_claim)
    } else {
        claims.get(&role.user_claim).filter(|v| !v.is_null())
    }
    .ok_or_else(|| format!("claim {:?} not found in token", role.user_claim))?;
    let user = user
        .as_str()
        .ok_or_else(|| {
            format!(
                "claim {:?} could not be converted to string",
                role.user_claim
            )
        })?
        .to_string();
    let mut metadata = claims::mapped_metadata(claims, &role.claim_mappings)?;
    metadata.insert("role".into(), role_name.to_string());
    let groups = if role.groups_claim.is_empty() {
        Vec::new()
    } else {
        claims::groups(claims, &role.groups_claim)?
    };
    Ok(Identity {
        user,
        metadata,
        groups,
    })
}

/// Check a verified token's claims against the role; the grant when they hold.
pub fn grant(
    claims: &Map<String, Value>,
    config: &JwtConfig,
    role_name: &str,
    role: &JwtRole,
    now: i64,
) -> Result<LoginGrant, Refused> {
    let expected = Expected {
        issuer: &config.bound_issuer,
        subject: &role.bound_subject,
        audiences: &role.bound_audiences,
        clock_skew_leeway: role.clock_skew_leeway,
        expiration_leeway: role.expiration_leeway,
        not_before_leeway: role.not_before_leeway,
        now,
    };
    claims::validate(claims, &expected).map_err(Refused::Token)?;
    // Vault 1.16 refuses a list `aud` (not a lone string) when the role binds no audience.
    let listed = claims
        .get("aud")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if listed && role.bound_audiences.is_empty() {
        return Err(Refused::AudienceUnbound);
    }
    let Identity {
        user,
        metadata,
        groups,
    } = identity(claims, role_name, role).map_err(Refused::Identity)?;
    claims::check_bound(&role.bound_claims, role.globs(), claims).map_err(Refused::Claims)?;
    Ok(LoginGrant {
        params: role.token.clone(),
        display_name: user.clone(),
        bound_cidrs: role.token.token_bound_cidrs.clone(),
        alias: Some(AliasGrant {
            name: user,
            metadata: metadata.clone(),
        }),
        group_aliases: groups,
        metadata,
    })
}

/// Serve `login`.
pub async fn login(areq: &MountRequest<'_>) -> Result<Outcome, ApiError> {
    let config: JwtConfig = super::load_config(areq)
        .await?
        .ok_or_else(|| ApiError::bad("could not load configuration"))?;
    let f = Fields(&areq.req.data);
    let mut role_name = f.str_opt("role")?.unwrap_or_default();
    if role_name.is_empty() {
        role_name = config.default_role.clone();
    }
    if role_name.is_empty() {
        return Err(ApiError::bad("missing role"));
    }
    let role: JwtRole = match name_segment(&role_name.to_lowercase(), "role name") {
        Ok(n) => areq.storage.get_json(&super::role_key(&n)).await?,
        Err(_) => None,
    }
    .ok_or_else(|| ApiError::bad(format!("role {role_name:?} could not be found")))?;
    if role.role_type == "oidc" {
        return Err(ApiError::bad("role with oidc role_type is not allowed"));
    }
    let jwt = f.str_opt("jwt")?.unwrap_or_default();
    if jwt.is_empty() {
        return Err(ApiError::bad("missing token"));
    }
    if !cidr::allows(
        &role.token.token_bound_cidrs,
        areq.req.remote_addr.as_deref(),
    ) {
        return Err(ApiError::PermissionDenied);
    }
    let refused = |e: Refused| {
        tracing::info!(role = %role_name, reason = %e, "jwt login refused");
        // Vault answers 400 here; Coffer answers 403, as for any refused credential (issue 23),
        // with Vault's message, so hvac raises Forbidden instead of InvalidRequest.
        ApiError::Forbidden(e.to_string())
    };
    let t = verify(&areq.mount.uuid, &config, &jwt)
        .await
        .map_err(|e| refused(Refused::Token(e)))?;
    let now = crate::clock::unix_now();
    grant(&t.claims, &config, &role_name, &role, now)
        .map(|grant| Outcome::Login(Box::new(grant)))
        .map_err(refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn role(v: Value) -> JwtRole {
        let mut r = JwtRole::default();
        r.apply(v.as_object().unwrap()).unwrap();
        r
    }

    #[test]
    fn a_grant_carries_the_user_claim_mapped_metadata_and_groups() {
        let r = role(
            json!({"role_type": "jwt", "user_claim": "email", "bound_audiences": "vault",
            "claim_mappings": {"/org/team": "team"}, "groups_claim": "groups",
            "token_policies": "dev", "bound_claims": {"env": ["prod", "stage"]}}),
        );
        let c = obj(
            json!({"email": "a@x", "aud": ["vault"], "iat": 100, "exp": 1000,
            "org": {"team": "blue"}, "groups": ["g1", "g2"], "env": "prod"}),
        );
        let g = grant(&c, &JwtConfig::default(), "ci", &r, 500).unwrap();
        let alias = g.alias.unwrap();
        assert_eq!(alias.name, "a@x");
        assert_eq!(alias.metadata["team"], "blue");
        assert_eq!(alias.metadata["role"], "ci");
        assert_eq!(g.metadata, alias.metadata);
        assert_eq!(g.group_aliases, vec!["g1", "g2"]);
        assert_eq!(g.params.token_policies, vec!["dev"]);
        assert_eq!(g.display_name, "a@x");

        let mut other_env = c.clone();
        other_env.insert("env".into(), json!("dev"));
        assert!(matches!(
            grant(&other_env, &JwtConfig::default(), "ci", &r, 500),
            Err(Refused::Claims(_))
        ));
        let mut no_user = c.clone();
        no_user.remove("email");
        assert_eq!(
            grant(&no_user, &JwtConfig::default(), "ci", &r, 500).unwrap_err(),
            Refused::Identity("claim \"email\" not found in token".into())
        );
        assert!(matches!(
            grant(&c, &JwtConfig::default(), "ci", &r, 5000),
            Err(Refused::Token(_))
        ));
    }

    #[test]
    fn a_listed_audience_needs_a_bound_one() {
        let r = role(json!({"role_type": "jwt", "user_claim": "sub", "bound_subject": "s"}));
        let listed = obj(json!({"sub": "s", "aud": ["x"], "iat": 100}));
        assert_eq!(
            grant(&listed, &JwtConfig::default(), "r", &r, 100).unwrap_err(),
            Refused::AudienceUnbound
        );
        let single = obj(json!({"sub": "s", "aud": "x", "iat": 100}));
        assert!(grant(&single, &JwtConfig::default(), "r", &r, 100).is_ok());
        let config = JwtConfig {
            bound_issuer: "https://issuer".into(),
            ..Default::default()
        };
        assert_eq!(
            grant(&single, &config, "r", &r, 100)
                .unwrap_err()
                .to_string(),
            "error validating token: invalid issuer (iss) claim"
        );
    }
}
