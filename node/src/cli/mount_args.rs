//! The grammar of `secrets` and `auth`: enable, disable, list, tune, with Vault's tune flags.

use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};

/// The settings `secrets tune` / `auth tune` (and `enable`) send, as Vault's flags name them.
#[derive(Args, Debug, Default)]
pub struct TuneArgs {
    #[arg(long = "default-lease-ttl")]
    pub default_lease_ttl: Option<String>,
    #[arg(long = "max-lease-ttl")]
    pub max_lease_ttl: Option<String>,
    #[arg(long)]
    pub description: Option<String>,
    /// `unauth` or `hidden`.
    #[arg(long = "listing-visibility")]
    pub listing_visibility: Option<String>,
    #[arg(long = "audit-non-hmac-request-keys", action = clap::ArgAction::Append)]
    pub audit_non_hmac_request_keys: Vec<String>,
    #[arg(long = "audit-non-hmac-response-keys", action = clap::ArgAction::Append)]
    pub audit_non_hmac_response_keys: Vec<String>,
    #[arg(long = "passthrough-request-headers", action = clap::ArgAction::Append)]
    pub passthrough_request_headers: Vec<String>,
    #[arg(long = "allowed-response-headers", action = clap::ArgAction::Append)]
    pub allowed_response_headers: Vec<String>,
    #[arg(long = "allowed-managed-keys", action = clap::ArgAction::Append)]
    pub allowed_managed_keys: Vec<String>,
    #[arg(long = "delegated-auth-accessors", action = clap::ArgAction::Append)]
    pub delegated_auth_accessors: Vec<String>,
    /// `key=value` engine options (repeatable).
    #[arg(long, action = clap::ArgAction::Append)]
    pub options: Vec<String>,
    #[arg(long = "plugin-version")]
    pub plugin_version: Option<String>,
    #[arg(long = "identity-token-key")]
    pub identity_token_key: Option<String>,
}

/// Vault's string-slice flags: repeatable, each comma-separated.
fn slice(flags: &[String]) -> Vec<String> {
    flags
        .iter()
        .flat_map(|f| f.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

impl TuneArgs {
    /// The `sys/mounts/<path>/tune` body: only what was given.
    pub fn body(&self) -> Result<Map<String, Value>, String> {
        let mut body = Map::new();
        let strings = [
            ("default_lease_ttl", &self.default_lease_ttl),
            ("max_lease_ttl", &self.max_lease_ttl),
            ("description", &self.description),
            ("listing_visibility", &self.listing_visibility),
            ("plugin_version", &self.plugin_version),
            ("identity_token_key", &self.identity_token_key),
        ];
        for (k, v) in strings {
            if let Some(v) = v {
                body.insert(k.into(), json!(v));
            }
        }
        let lists = [
            (
                "audit_non_hmac_request_keys",
                &self.audit_non_hmac_request_keys,
            ),
            (
                "audit_non_hmac_response_keys",
                &self.audit_non_hmac_response_keys,
            ),
            (
                "passthrough_request_headers",
                &self.passthrough_request_headers,
            ),
            ("allowed_response_headers", &self.allowed_response_headers),
            ("allowed_managed_keys", &self.allowed_managed_keys),
            ("delegated_auth_accessors", &self.delegated_auth_accessors),
        ];
        for (k, v) in lists {
            if !v.is_empty() {
                body.insert(k.into(), json!(slice(v)));
            }
        }
        if !self.options.is_empty() {
            let mut options = Map::new();
            for o in &self.options {
                let (k, v) = o
                    .split_once('=')
                    .ok_or_else(|| format!("invalid option {o:?}: format must be key=value"))?;
                options.insert(k.to_string(), json!(v));
            }
            body.insert("options".into(), Value::Object(options));
        }
        Ok(body)
    }
}

#[derive(Subcommand, Debug)]
pub enum SecretsCmd {
    Enable {
        kind: String,
        #[arg(long)]
        path: Option<String>,
        #[arg(long)]
        version: Option<u8>,
        #[command(flatten)]
        tune: TuneArgs,
    },
    Disable {
        path: String,
    },
    List {
        #[arg(long)]
        detailed: bool,
    },
    /// Change a secrets engine's TTLs, description and other settings.
    Tune {
        path: String,
        /// The KV version to upgrade to (`options.version`).
        #[arg(long)]
        version: Option<u8>,
        #[command(flatten)]
        tune: TuneArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuthCmd {
    Enable {
        kind: String,
        #[arg(long)]
        path: Option<String>,
        #[command(flatten)]
        tune: TuneArgs,
    },
    Disable {
        path: String,
    },
    List {
        #[arg(long)]
        detailed: bool,
    },
    /// Change an auth method's TTLs, description and other settings.
    Tune {
        path: String,
        /// `service`, `batch`, `default-service`, `default-batch`.
        #[arg(long = "token-type")]
        token_type: Option<String>,
        #[command(flatten)]
        tune: TuneArgs,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tune_body_sends_only_given_flags_and_splits_lists() {
        let t = TuneArgs {
            max_lease_ttl: Some("2h".into()),
            audit_non_hmac_request_keys: vec!["a,b".into(), "c".into()],
            options: vec!["version=2".into()],
            ..TuneArgs::default()
        };
        let body = t.body().unwrap_or_default();
        assert_eq!(
            Value::Object(body),
            json!({"max_lease_ttl": "2h", "audit_non_hmac_request_keys": ["a", "b", "c"],
                   "options": {"version": "2"}})
        );
        let bad = TuneArgs {
            options: vec!["x".into()],
            ..TuneArgs::default()
        };
        assert!(bad.body().is_err());
    }
}
