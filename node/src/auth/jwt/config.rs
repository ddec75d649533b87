//! `auth/<mount>/config`: where the keys that sign tokens come from (exactly one of static PEM
//! keys, a JWKS URL, or an OIDC discovery URL, each with the CA that verifies it), the issuer
//! tokens must name, the algorithms accepted and the default role. A write replaces the whole
//! config, as in Vault; `mod.rs` then proves the key source works before storing it.

use crate::error::ApiError;
use crate::fields::{string_list, Fields};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// Algorithms Vault's jwt plugin accepts (`jwt_supported_algs`); empty means all of them.
pub const SUPPORTED_ALGS: &[&str] = &[
    "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA",
];

/// The stored config.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct JwtConfig {
    pub oidc_discovery_url: String,
    pub oidc_discovery_ca_pem: String,
    pub oidc_client_id: String,
    pub oidc_client_secret: String,
    pub oidc_response_mode: String,
    pub oidc_response_types: Vec<String>,
    pub jwks_url: String,
    pub jwks_ca_pem: String,
    pub jwt_validation_pubkeys: Vec<String>,
    pub jwt_supported_algs: Vec<String>,
    pub bound_issuer: String,
    pub default_role: String,
    pub namespace_in_state: bool,
}

/// Where a config's keys come from.
#[derive(Debug, Clone, PartialEq)]
pub enum KeySource<'a> {
    Static(&'a [String]),
    Jwks { url: &'a str, ca_pem: &'a str },
    Discovery { url: &'a str, ca_pem: &'a str },
}

impl JwtConfig {
    /// The config a write describes, checked as Vault checks it (apart from reaching the key
    /// source, which the caller does).
    pub fn from_write(
        data: &Map<String, Value>,
        existing: Option<&JwtConfig>,
    ) -> Result<JwtConfig, ApiError> {
        let f = Fields(data);
        let s = |k: &str| -> Result<String, ApiError> { Ok(f.str_opt(k)?.unwrap_or_default()) };
        let list = |k: &str| -> Result<Vec<String>, ApiError> {
            match data.get(k) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(v) => string_list(v, k),
            }
        };
        let config = JwtConfig {
            oidc_discovery_url: s("oidc_discovery_url")?,
            oidc_discovery_ca_pem: s("oidc_discovery_ca_pem")?,
            oidc_client_id: s("oidc_client_id")?,
            oidc_client_secret: s("oidc_client_secret")?,
            oidc_response_mode: s("oidc_response_mode")?,
            oidc_response_types: list("oidc_response_types")?,
            jwks_url: s("jwks_url")?,
            jwks_ca_pem: s("jwks_ca_pem")?,
            jwt_validation_pubkeys: list("jwt_validation_pubkeys")?,
            jwt_supported_algs: list("jwt_supported_algs")?,
            bound_issuer: s("bound_issuer")?,
            default_role: s("default_role")?,
            namespace_in_state: match data.get("namespace_in_state") {
                None | Some(Value::Null) => existing.is_none_or(|c| c.namespace_in_state),
                Some(_) => f.bool_or("namespace_in_state", true)?,
            },
        };
        let methods = [
            !config.oidc_discovery_url.is_empty(),
            !config.jwt_validation_pubkeys.is_empty(),
            !config.jwks_url.is_empty(),
        ];
        if methods.iter().filter(|m| **m).count() != 1 {
            return Err(ApiError::bad(
                "exactly one of 'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url' must be set",
            ));
        }
        if config.oidc_client_id.is_empty() != config.oidc_client_secret.is_empty() {
            return Err(ApiError::bad(
                "both 'oidc_client_id' and 'oidc_client_secret' must be set for OIDC",
            ));
        }
        if !config.oidc_client_id.is_empty() && config.oidc_discovery_url.is_empty() {
            return Err(ApiError::bad("'oidc_discovery_url' must be set for OIDC"));
        }
        if let Some(alg) = config
            .jwt_supported_algs
            .iter()
            .find(|a| !SUPPORTED_ALGS.contains(&a.as_str()))
        {
            return Err(ApiError::bad(format!(
                "invalid jwt_supported_algs: unsupported signing algorithm \"{alg}\""
            )));
        }
        let types = &config.oidc_response_types;
        if types.iter().any(|t| t != "code" && t != "id_token") {
            return Err(ApiError::bad(format!(
                "invalid response_types [{}]. 'code' and 'id_token' are allowed",
                types.join(" ")
            )));
        }
        match config.oidc_response_mode.as_str() {
            "" | "query" if types.iter().any(|t| t == "id_token") => {
                return Err(ApiError::bad(
                    "query response_mode may not be used with an id_token response_type",
                ))
            }
            "" | "query" | "form_post" => {}
            other => {
                return Err(ApiError::bad(format!("invalid response_mode: {other:?}")));
            }
        }
        let provider = data.get("provider_config").filter(|v| match v {
            Value::Object(m) => !m.is_empty(),
            Value::Null => false,
            _ => true,
        });
        if provider.is_some() {
            return Err(ApiError::bad(
                "invalid provider_config: provider-specific group fetching is not supported by this server",
            ));
        }
        Ok(config)
    }

    /// The one key source of a valid config.
    pub fn source(&self) -> KeySource<'_> {
        if !self.jwt_validation_pubkeys.is_empty() {
            KeySource::Static(&self.jwt_validation_pubkeys)
        } else if !self.jwks_url.is_empty() {
            KeySource::Jwks {
                url: &self.jwks_url,
                ca_pem: &self.jwks_ca_pem,
            }
        } else {
            KeySource::Discovery {
                url: &self.oidc_discovery_url,
                ca_pem: &self.oidc_discovery_ca_pem,
            }
        }
    }

    /// The `data` of a config read (the client secret is never shown).
    pub fn read_json(&self) -> Map<String, Value> {
        let v = json!({
            "oidc_discovery_url": self.oidc_discovery_url,
            "oidc_discovery_ca_pem": self.oidc_discovery_ca_pem,
            "oidc_client_id": self.oidc_client_id,
            "oidc_response_mode": self.oidc_response_mode,
            "oidc_response_types": self.oidc_response_types,
            "default_role": self.default_role,
            "jwt_validation_pubkeys": self.jwt_validation_pubkeys,
            "jwt_supported_algs": self.jwt_supported_algs,
            "jwks_url": self.jwks_url,
            "jwks_ca_pem": self.jwks_ca_pem,
            "bound_issuer": self.bound_issuer,
            "provider_config": {},
            "namespace_in_state": self.namespace_in_state,
        });
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(v: Value) -> Result<JwtConfig, ApiError> {
        JwtConfig::from_write(v.as_object().unwrap(), None)
    }

    #[test]
    fn exactly_one_key_source() {
        let msg = "exactly one of 'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url' must be set";
        assert_eq!(write(json!({})).unwrap_err().to_string(), msg);
        assert_eq!(
            write(json!({"jwks_url": "https://a", "oidc_discovery_url": "https://b"}))
                .unwrap_err()
                .to_string(),
            msg
        );
        let c = write(json!({"jwks_url": "https://a/keys", "bound_issuer": "i"})).unwrap();
        assert_eq!(
            c.source(),
            KeySource::Jwks {
                url: "https://a/keys",
                ca_pem: ""
            }
        );
        assert!(c.namespace_in_state);
        let shown = c.read_json();
        assert_eq!(shown["jwks_url"], "https://a/keys");
        assert_eq!(shown["jwt_validation_pubkeys"], json!([]));
        assert!(!shown.contains_key("oidc_client_secret"));
    }

    #[test]
    fn algorithms_and_oidc_fields_are_checked() {
        let e = |v: Value| write(v).unwrap_err().to_string();
        assert_eq!(
            e(json!({"jwks_url": "https://a", "jwt_supported_algs": ["HS256"]})),
            "invalid jwt_supported_algs: unsupported signing algorithm \"HS256\""
        );
        assert_eq!(
            e(json!({"jwks_url": "https://a", "oidc_client_id": "x"})),
            "both 'oidc_client_id' and 'oidc_client_secret' must be set for OIDC"
        );
        assert_eq!(
            e(json!({"jwks_url": "https://a", "oidc_client_id": "x", "oidc_client_secret": "y"})),
            "'oidc_discovery_url' must be set for OIDC"
        );
        assert!(
            write(json!({"jwks_url": "https://a", "provider_config": {"provider": "azure"}}))
                .is_err()
        );
        assert!(write(json!({"jwks_url": "https://a", "provider_config": {}})).is_ok());
        let keys = write(
            json!({"jwt_validation_pubkeys": ["-----BEGIN PUBLIC KEY-----\nx\n"],
                                "jwt_supported_algs": "RS256,ES256"}),
        )
        .unwrap();
        assert!(matches!(keys.source(), KeySource::Static(k) if k.len() == 1));
        assert_eq!(keys.jwt_supported_algs, vec!["RS256", "ES256"]);
    }
}
