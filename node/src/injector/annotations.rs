//! The `vault.hashicorp.com/*` pod annotations Vault's agent injector documents, read into one
//! plain [`AgentSpec`]: whether to inject at all, the agent's login, the templates to render and
//! the containers' resources and identity. Pure: a map in, a decision out.

use std::collections::BTreeMap;

/// Every annotation key starts with this.
pub const PREFIX: &str = "vault.hashicorp.com/";
/// `true` asks for injection.
pub const AGENT_INJECT: &str = "vault.hashicorp.com/agent-inject";
/// `injected` once done (the webhook sets it); `update` asks for injection again.
pub const AGENT_INJECT_STATUS: &str = "vault.hashicorp.com/agent-inject-status";

/// What the injector was started with: the defaults the annotations may override.
#[derive(Debug, Clone)]
pub struct Defaults {
    pub agent_image: String,
    pub vault_address: String,
    pub auth_path: String,
}

/// One file the agent renders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFile {
    /// The `<name>` of `agent-inject-secret-<name>`.
    pub name: String,
    /// The secret's path (the annotation's value).
    pub path: String,
    /// `agent-inject-template-<name>`, else Vault's default template over `.Data`.
    pub template: String,
    /// Where it is written: the volume path and `agent-inject-file-<name>` (else `<name>`).
    pub destination: String,
    /// `agent-inject-command-<name>`: run after each render.
    pub command: String,
    /// `error-on-missing-key-<name>`.
    pub error_on_missing_key: bool,
}

/// Resource quantities of the agent containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub limits_cpu: String,
    pub limits_mem: String,
    pub requests_cpu: String,
    pub requests_mem: String,
}

/// Everything the patch and the agent config need, decided from the annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSpec {
    pub role: String,
    pub auth_path: String,
    pub vault_address: String,
    pub tls_skip_verify: bool,
    pub ca_cert: String,
    pub image: String,
    pub pre_populate: bool,
    pub pre_populate_only: bool,
    pub init_first: bool,
    pub run_as_user: i64,
    pub run_as_group: i64,
    pub secret_volume_path: String,
    pub static_secret_render_interval: String,
    pub resources: Resources,
    pub secrets: Vec<SecretFile>,
}

/// Why the annotations cannot be honoured (the pod is refused with this message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnotationError {
    #[error("annotation {key}: {value:?} is not a boolean")]
    Bool { key: String, value: String },
    #[error("annotation {key}: {value:?} is not an integer")]
    Int { key: String, value: String },
    #[error("annotation {key}: {value:?} is not a Kubernetes resource quantity")]
    Quantity { key: String, value: String },
    #[error("annotation {key}: {value:?} is not an absolute path")]
    Path { key: String, value: String },
    #[error("annotation {key}: {reason}")]
    Invalid { key: String, reason: String },
    #[error("no Vault role found: set the vault.hashicorp.com/role annotation")]
    NoRole,
    #[error("vault.hashicorp.com/agent-pre-populate-only with agent-pre-populate=false leaves no agent to inject")]
    NothingToRun,
}

/// Vault's template when a secret has none: every key of `.Data` as `key: value` lines.
pub fn default_template(path: &str) -> String {
    format!(
        "{{{{ with secret \"{}\" }}}}{{{{ range $k, $v := .Data }}}}{{{{ $k }}}}: {{{{ $v }}}}\n{{{{ end }}}}{{{{ end }}}}",
        path.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

/// Whether the pod asks for injection and is not injected yet (`agent-inject-status` absent
/// or `update`). A malformed `agent-inject` is an error, not a silent skip.
pub fn wants_injection(a: &BTreeMap<String, String>) -> Result<bool, AnnotationError> {
    if !flag(a, "agent-inject", false)? {
        return Ok(false);
    }
    Ok(match a.get(AGENT_INJECT_STATUS).map(|s| s.trim()) {
        None | Some("") | Some("update") => true,
        Some(_) => false,
    })
}

/// Read every annotation the injector honours (call after [`wants_injection`]).
pub fn read(a: &BTreeMap<String, String>, d: &Defaults) -> Result<AgentSpec, AnnotationError> {
    let role = text(a, "role").ok_or(AnnotationError::NoRole)?;
    let mut auth_path = text(a, "auth-path").unwrap_or_else(|| d.auth_path.clone());
    auth_path = auth_path.trim_matches('/').to_string();
    if !auth_path.starts_with("auth/") {
        auth_path = format!("auth/{auth_path}");
    }
    let secret_volume_path =
        text(a, "secret-volume-path").unwrap_or_else(|| "/vault/secrets".into());
    if !secret_volume_path.starts_with('/') {
        return Err(AnnotationError::Path {
            key: key("secret-volume-path"),
            value: secret_volume_path,
        });
    }
    let spec = AgentSpec {
        role,
        auth_path,
        vault_address: text(a, "service").unwrap_or_else(|| d.vault_address.clone()),
        tls_skip_verify: flag(a, "tls-skip-verify", false)?,
        ca_cert: text(a, "ca-cert").unwrap_or_default(),
        image: text(a, "agent-image").unwrap_or_else(|| d.agent_image.clone()),
        pre_populate: flag(a, "agent-pre-populate", true)?,
        pre_populate_only: flag(a, "agent-pre-populate-only", false)?,
        init_first: flag(a, "agent-init-first", false)?,
        run_as_user: int(a, "agent-run-as-user", 100)?,
        run_as_group: int(a, "agent-run-as-group", 1000)?,
        static_secret_render_interval: text(a, "template-static-secret-render-interval")
            .unwrap_or_default(),
        resources: Resources {
            limits_cpu: quantity(a, "agent-limits-cpu", "500m")?,
            limits_mem: quantity(a, "agent-limits-mem", "128Mi")?,
            requests_cpu: quantity(a, "agent-requests-cpu", "250m")?,
            requests_mem: quantity(a, "agent-requests-mem", "64Mi")?,
        },
        secrets: secrets(a, &secret_volume_path)?,
        secret_volume_path,
    };
    if spec.pre_populate_only && !spec.pre_populate {
        return Err(AnnotationError::NothingToRun);
    }
    Ok(spec)
}

fn key(name: &str) -> String {
    format!("{PREFIX}{name}")
}

fn text(a: &BTreeMap<String, String>, name: &str) -> Option<String> {
    a.get(&key(name))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Go's `strconv.ParseBool`, which Vault's injector uses.
fn flag(a: &BTreeMap<String, String>, name: &str, default: bool) -> Result<bool, AnnotationError> {
    match text(a, name).as_deref() {
        None => Ok(default),
        Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(true),
        Some("0" | "f" | "F" | "false" | "FALSE" | "False") => Ok(false),
        Some(other) => Err(AnnotationError::Bool {
            key: key(name),
            value: other.to_string(),
        }),
    }
}

fn int(a: &BTreeMap<String, String>, name: &str, default: i64) -> Result<i64, AnnotationError> {
    match text(a, name) {
        None => Ok(default),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or(AnnotationError::Int {
                key: key(name),
                value: v,
            }),
    }
}

fn quantity(
    a: &BTreeMap<String, String>,
    name: &str,
    default: &str,
) -> Result<String, AnnotationError> {
    match text(a, name) {
        None => Ok(default.to_string()),
        Some(v) if is_quantity(&v) => Ok(v),
        Some(v) => Err(AnnotationError::Quantity {
            key: key(name),
            value: v,
        }),
    }
}

/// A Kubernetes resource quantity: a decimal number and an optional suffix (binary `Ki`..`Ei`,
/// decimal `n u m k M G T P E`, or an exponent `e3`/`E3`).
pub fn is_quantity(v: &str) -> bool {
    let number_end = v
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.' || *c == '+' || *c == '-'))
        .map(|(i, _)| i)
        .unwrap_or(v.len());
    let (number, suffix) = v.split_at(number_end);
    let digits = number.trim_start_matches(['+', '-']);
    let number_ok = !digits.is_empty()
        && digits.chars().filter(|c| *c == '.').count() <= 1
        && digits.chars().any(|c| c.is_ascii_digit())
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && number.len() - digits.len() <= 1;
    let suffix_ok = matches!(
        suffix,
        "" | "Ki"
            | "Mi"
            | "Gi"
            | "Ti"
            | "Pi"
            | "Ei"
            | "n"
            | "u"
            | "m"
            | "k"
            | "M"
            | "G"
            | "T"
            | "P"
            | "E"
    ) || suffix
        .strip_prefix(['e', 'E'])
        .map(|exp| exp.strip_prefix(['+', '-']).unwrap_or(exp))
        .is_some_and(|digits| !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()));
    number_ok && suffix_ok
}

/// `agent-inject-secret-<name>` and its companions, sorted by name (the map is ordered).
fn secrets(
    a: &BTreeMap<String, String>,
    volume_path: &str,
) -> Result<Vec<SecretFile>, AnnotationError> {
    let mut out = Vec::new();
    for (k, path) in a {
        let Some(name) = k.strip_prefix(&key("agent-inject-secret-")) else {
            continue;
        };
        if name.is_empty() {
            return Err(AnnotationError::Invalid {
                key: k.clone(),
                reason: "the secret has no name".into(),
            });
        }
        let path = path.trim().to_string();
        let file = text(a, &format!("agent-inject-file-{name}")).unwrap_or_else(|| name.into());
        if file.split('/').any(|part| part == "..") || file.starts_with('/') {
            return Err(AnnotationError::Invalid {
                key: key(&format!("agent-inject-file-{name}")),
                reason: format!("{file:?} must be a relative path inside the volume"),
            });
        }
        out.push(SecretFile {
            name: name.to_string(),
            template: a
                .get(&key(&format!("agent-inject-template-{name}")))
                .filter(|t| !t.trim().is_empty())
                .cloned()
                .unwrap_or_else(|| default_template(&path)),
            destination: format!("{}/{file}", volume_path.trim_end_matches('/')),
            command: text(a, &format!("agent-inject-command-{name}")).unwrap_or_default(),
            error_on_missing_key: flag(a, &format!("error-on-missing-key-{name}"), false)?,
            path,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Defaults {
        Defaults {
            agent_image: "coffer:1".into(),
            vault_address: "https://coffer.vault.svc:8200".into(),
            auth_path: "auth/kubernetes".into(),
        }
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (format!("{PREFIX}{k}"), v.to_string()))
            .collect()
    }

    #[test]
    fn only_pods_asking_and_not_yet_injected_are_injected() {
        assert!(!wants_injection(&map(&[])).unwrap());
        assert!(!wants_injection(&map(&[("agent-inject", "false")])).unwrap());
        assert!(wants_injection(&map(&[("agent-inject", "true")])).unwrap());
        assert!(wants_injection(&map(&[("agent-inject", "1")])).unwrap());
        let done = map(&[
            ("agent-inject", "true"),
            ("agent-inject-status", "injected"),
        ]);
        assert!(!wants_injection(&done).unwrap());
        let again = map(&[("agent-inject", "true"), ("agent-inject-status", "update")]);
        assert!(wants_injection(&again).unwrap());
        assert!(wants_injection(&map(&[("agent-inject", "yes")])).is_err());
    }

    #[test]
    fn defaults_and_overrides() {
        let spec = read(
            &map(&[("role", "r"), ("agent-inject-secret-db", "kv/db")]),
            &defaults(),
        )
        .unwrap();
        assert_eq!(spec.role, "r");
        assert_eq!(spec.auth_path, "auth/kubernetes");
        assert_eq!(spec.vault_address, "https://coffer.vault.svc:8200");
        assert!(spec.pre_populate && !spec.pre_populate_only && !spec.tls_skip_verify);
        assert_eq!((spec.run_as_user, spec.run_as_group), (100, 1000));
        assert_eq!(spec.resources.limits_cpu, "500m");
        assert_eq!(spec.secrets[0].destination, "/vault/secrets/db");
        assert_eq!(spec.secrets[0].template, default_template("kv/db"));
        assert!(spec.secrets[0]
            .template
            .starts_with("{{ with secret \"kv/db\" }}"));

        let spec = read(
            &map(&[
                ("role", "r"),
                ("auth-path", "k8s-east"),
                ("service", "http://c:8200"),
                ("agent-inject-secret-db", "kv/db"),
                ("agent-inject-file-db", "conf/db.json"),
                ("agent-inject-template-db", "{{ .Data }}"),
                ("agent-inject-command-db", "kill -HUP 1"),
                ("secret-volume-path", "/etc/secrets"),
                ("agent-limits-mem", "1Gi"),
                ("agent-run-as-user", "0"),
                ("agent-pre-populate-only", "true"),
            ]),
            &defaults(),
        )
        .unwrap();
        assert_eq!(spec.auth_path, "auth/k8s-east");
        assert_eq!(spec.vault_address, "http://c:8200");
        assert_eq!(spec.secrets[0].destination, "/etc/secrets/conf/db.json");
        assert_eq!(spec.secrets[0].template, "{{ .Data }}");
        assert_eq!(spec.secrets[0].command, "kill -HUP 1");
        assert_eq!(spec.resources.limits_mem, "1Gi");
        assert_eq!(spec.run_as_user, 0);
        assert!(spec.pre_populate_only);
    }

    #[test]
    fn bad_values_are_refused_with_the_key() {
        let bad = [
            ("tls-skip-verify", "maybe"),
            ("agent-limits-cpu", "lots"),
            ("agent-run-as-user", "-1"),
            ("secret-volume-path", "relative"),
            ("agent-inject-file-x", "../../etc/passwd"),
        ];
        for (k, v) in bad {
            let a = map(&[("role", "r"), ("agent-inject-secret-x", "p"), (k, v)]);
            let err = read(&a, &defaults()).unwrap_err().to_string();
            assert!(err.contains(k), "{k}={v}: {err}");
        }
        assert_eq!(read(&map(&[]), &defaults()), Err(AnnotationError::NoRole));
        let none = map(&[
            ("role", "r"),
            ("agent-pre-populate", "false"),
            ("agent-pre-populate-only", "true"),
        ]);
        assert_eq!(read(&none, &defaults()), Err(AnnotationError::NothingToRun));
    }

    #[test]
    fn quantities() {
        for ok in ["1", "250m", "0.5", "128Mi", "1Gi", "1e3", "+1k", "1.5E-2"] {
            assert!(is_quantity(ok), "{ok}");
        }
        for bad in ["", "m", "1mb", "1.2.3", "--1", "1 Gi", "1e", "Gi"] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }
}
