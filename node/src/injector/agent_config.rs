//! The agent's config as Vault's injector hands it over: JSON (Vault Agent's config shape, which
//! `coffer agent -config` reads), base64 in the container's `VAULT_CONFIG`, decoded by the
//! container's shell command into `/home/vault/config.json`. Pure.

use super::annotations::AgentSpec;
use base64::Engine as _;
use serde::Serialize;

/// Where the service account token is mounted in every pod.
pub const TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";
/// The agent's home (an emptyDir per agent container): config, token sink, pid file.
pub const HOME: &str = "/home/vault";

#[derive(Debug, Serialize, PartialEq)]
pub struct AgentConfig {
    pub auto_auth: AutoAuth,
    pub exit_after_auth: bool,
    pub pid_file: String,
    pub vault: VaultStanza,
    pub template: Vec<Template>,
    pub template_config: TemplateConfig,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct AutoAuth {
    pub method: Method,
    pub sink: Vec<Sink>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Method {
    #[serde(rename = "type")]
    pub kind: String,
    pub mount_path: String,
    pub config: MethodConfig,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct MethodConfig {
    pub role: String,
    pub token_path: String,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Sink {
    #[serde(rename = "type")]
    pub kind: String,
    pub config: SinkConfig,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct SinkConfig {
    pub path: String,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct VaultStanza {
    pub address: String,
    pub tls_skip_verify: bool,
    pub ca_cert: String,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Template {
    pub destination: String,
    pub contents: String,
    pub left_delimiter: String,
    pub right_delimiter: String,
    pub command: String,
    pub error_on_missing_key: bool,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct TemplateConfig {
    pub exit_on_retry_failure: bool,
    pub static_secret_render_interval: String,
}

/// The config of the init container (`exit_after_auth`: log in, render once, exit) or of the
/// sidecar (keep renewing and rendering).
pub fn build(spec: &AgentSpec, exit_after_auth: bool) -> AgentConfig {
    AgentConfig {
        auto_auth: AutoAuth {
            method: Method {
                kind: "kubernetes".into(),
                mount_path: spec.auth_path.clone(),
                config: MethodConfig {
                    role: spec.role.clone(),
                    token_path: TOKEN_PATH.into(),
                },
            },
            sink: vec![Sink {
                kind: "file".into(),
                config: SinkConfig {
                    path: format!("{HOME}/.vault-token"),
                },
            }],
        },
        exit_after_auth,
        pid_file: format!("{HOME}/.pid"),
        vault: VaultStanza {
            address: spec.vault_address.clone(),
            tls_skip_verify: spec.tls_skip_verify,
            ca_cert: spec.ca_cert.clone(),
        },
        template: spec
            .secrets
            .iter()
            .map(|s| Template {
                destination: s.destination.clone(),
                contents: s.template.clone(),
                left_delimiter: "{{".into(),
                right_delimiter: "}}".into(),
                command: s.command.clone(),
                error_on_missing_key: s.error_on_missing_key,
            })
            .collect(),
        template_config: TemplateConfig {
            exit_on_retry_failure: true,
            static_secret_render_interval: spec.static_secret_render_interval.clone(),
        },
    }
}

/// The config as the `VAULT_CONFIG` value: base64 of its JSON.
pub fn encoded(config: &AgentConfig) -> String {
    // Serialising plain strings and booleans cannot fail.
    let json = serde_json::to_vec(config).unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(json)
}

/// The agent container's shell command: decode the config, then run the agent on it.
pub fn shell_args() -> String {
    format!(
        "echo ${{VAULT_CONFIG?}} | base64 -d > {HOME}/config.json && coffer agent -config={HOME}/config.json"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::injector::annotations::{AgentSpec, Resources, SecretFile};

    fn spec() -> AgentSpec {
        AgentSpec {
            role: "r".into(),
            auth_path: "auth/kubernetes".into(),
            vault_address: "https://coffer.vault.svc:8200".into(),
            tls_skip_verify: true,
            ca_cert: String::new(),
            image: "coffer:1".into(),
            pre_populate: true,
            pre_populate_only: false,
            init_first: false,
            run_as_user: 100,
            run_as_group: 1000,
            secret_volume_path: "/vault/secrets".into(),
            static_secret_render_interval: String::new(),
            resources: Resources {
                limits_cpu: "500m".into(),
                limits_mem: "128Mi".into(),
                requests_cpu: "250m".into(),
                requests_mem: "64Mi".into(),
            },
            secrets: vec![SecretFile {
                name: "helloworld".into(),
                path: "secret/x".into(),
                template: "...".into(),
                destination: "/vault/secrets/helloworld".into(),
                command: String::new(),
                error_on_missing_key: false,
            }],
        }
    }

    #[test]
    fn json_has_the_agreed_shape_and_order() {
        let json = serde_json::to_string(&build(&spec(), false)).unwrap();
        assert_eq!(
            json,
            r#"{"auto_auth":{"method":{"type":"kubernetes","mount_path":"auth/kubernetes","config":{"role":"r","token_path":"/var/run/secrets/kubernetes.io/serviceaccount/token"}},"sink":[{"type":"file","config":{"path":"/home/vault/.vault-token"}}]},"exit_after_auth":false,"pid_file":"/home/vault/.pid","vault":{"address":"https://coffer.vault.svc:8200","tls_skip_verify":true,"ca_cert":""},"template":[{"destination":"/vault/secrets/helloworld","contents":"...","left_delimiter":"{{","right_delimiter":"}}","command":"","error_on_missing_key":false}],"template_config":{"exit_on_retry_failure":true,"static_secret_render_interval":""}}"#
        );
        let init = build(&spec(), true);
        assert!(init.exit_after_auth);
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded(&init))
            .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
        assert_eq!(value["exit_after_auth"], true);
    }
}
