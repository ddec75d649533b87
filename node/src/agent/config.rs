//! Vault Agent's config file, in HCL or JSON, read into [`AgentConfig`]: the `vault` stanza,
//! `auto_auth` (one `method`, file `sink`s), `template` stanzas, `template_config` and
//! `exit_after_auth`. Blocks may come labelled (`method "approle" { ... }`, HCL's shape) or with
//! a `type` field (`"method": {"type": "approle", ...}`, the JSON the injector writes), and a
//! block may be one object or a list of them. Pure: nothing here touches the network.

use super::error::AgentError;
use crate::plugin_client::Login;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::time::Duration;

/// Where Coffer is (`vault { address, tls_skip_verify, ca_cert }`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VaultStanza {
    pub address: Option<String>,
    pub tls_skip_verify: bool,
    pub ca_cert: Option<PathBuf>,
}

/// `sink "file" { config { path, mode } }`: where the agent's token is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Sink {
    pub path: PathBuf,
    pub mode: u32,
}

/// One `template` stanza.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateStanza {
    /// How errors name it: the `source` path, or the destination for inline `contents`.
    pub name: String,
    pub text: String,
    pub destination: PathBuf,
    pub perms: u32,
    pub command: Option<String>,
    pub error_on_missing_key: bool,
}

#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub vault: VaultStanza,
    pub login: Login,
    pub sinks: Vec<Sink>,
    pub templates: Vec<TemplateStanza>,
    pub exit_after_auth: bool,
    /// `template_config { static_secret_render_interval }`: how often secrets are re-read.
    pub render_interval: Duration,
    pub pid_file: Option<PathBuf>,
}

/// Vault Agent's default service account token path.
const K8S_TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";
/// Vault Agent's default `static_secret_render_interval`.
const DEFAULT_RENDER_INTERVAL: Duration = Duration::from_secs(300);

fn bad(msg: impl Into<String>) -> AgentError {
    AgentError::Config(msg.into())
}

/// Read the file at `path` (JSON when it parses as JSON, HCL otherwise).
pub fn load(path: &std::path::Path) -> Result<AgentConfig, AgentError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| bad(format!("{}: {e}", path.display())))?;
    parse(&text, path.parent())
}

/// Parse a config; `base` resolves relative template `source` paths.
pub fn parse(text: &str, base: Option<&std::path::Path>) -> Result<AgentConfig, AgentError> {
    let root: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => hcl::from_str(text).map_err(|e| bad(format!("not HCL or JSON: {e}")))?,
    };
    let root = root
        .as_object()
        .ok_or_else(|| bad("the config is not an object"))?;
    let auto_auth = first(root.get("auto_auth")).ok_or_else(|| bad("auto_auth is required"))?;
    let method = labelled(auto_auth.get("method"))
        .into_iter()
        .next()
        .ok_or_else(|| bad("auto_auth needs a method"))?;
    let sinks = labelled(auto_auth.get("sink"))
        .into_iter()
        .map(|(kind, body)| sink(&kind, &body))
        .collect::<Result<_, _>>()?;
    let templates = blocks(root.get("template"))
        .iter()
        .map(|t| template(t, base))
        .collect::<Result<_, _>>()?;
    let vault = first(root.get("vault")).unwrap_or_default();
    let interval = first(root.get("template_config"))
        .and_then(|t| t.get("static_secret_render_interval").cloned());
    Ok(AgentConfig {
        vault: VaultStanza {
            address: string(vault.get("address")),
            tls_skip_verify: boolean(vault.get("tls_skip_verify"))?,
            ca_cert: string(vault.get("ca_cert")).map(PathBuf::from),
        },
        login: login(&method.0, &method.1)?,
        sinks,
        templates,
        exit_after_auth: boolean(root.get("exit_after_auth"))?,
        render_interval: match interval {
            // The injector writes "" when the pod does not set the annotation.
            None | Some(Value::Null) => DEFAULT_RENDER_INTERVAL,
            Some(Value::String(s)) if s.is_empty() => DEFAULT_RENDER_INTERVAL,
            Some(v) => duration(&v)?,
        },
        pid_file: string(root.get("pid_file")).map(PathBuf::from),
    })
}

/// The credentials of `method "<kind>" { mount_path, config { ... } }`.
fn login(kind: &str, body: &Map<String, Value>) -> Result<Login, AgentError> {
    let config = first(body.get("config")).unwrap_or_default();
    let mount = string(body.get("mount_path"))
        .unwrap_or_else(|| format!("auth/{kind}"))
        .trim_start_matches("auth/")
        .trim_matches('/')
        .to_string();
    let file = |key: &str| {
        string(config.get(key))
            .map(PathBuf::from)
            .ok_or_else(|| bad(format!("method {kind}: config.{key} is required")))
    };
    match kind {
        "token_file" => Ok(Login::TokenFile(file("token_file_path")?)),
        "approle" => Ok(Login::AppRole {
            mount,
            role_id_file: file("role_id_file_path")?,
            secret_id_file: file("secret_id_file_path")?,
        }),
        "kubernetes" => Ok(Login::Kubernetes {
            mount,
            role: string(config.get("role"))
                .ok_or_else(|| bad("method kubernetes: config.role is required"))?,
            jwt_file: string(config.get("token_path"))
                .unwrap_or_else(|| K8S_TOKEN_PATH.into())
                .into(),
        }),
        other => Err(bad(format!(
            "auto_auth method {other:?} is not supported (kubernetes, approle, token_file)"
        ))),
    }
}

fn sink(kind: &str, body: &Map<String, Value>) -> Result<Sink, AgentError> {
    if kind != "file" {
        return Err(bad(format!("sink {kind:?} is not supported (file)")));
    }
    if body.contains_key("wrap_ttl") {
        return Err(bad("sink wrap_ttl (response wrapping) is not supported"));
    }
    let config = first(body.get("config")).unwrap_or_default();
    Ok(Sink {
        path: string(config.get("path"))
            .map(PathBuf::from)
            .ok_or_else(|| bad("sink file: config.path is required"))?,
        mode: match config.get("mode") {
            None | Some(Value::Null) => 0o640,
            Some(v) => mode(v)?,
        },
    })
}

fn template(
    t: &Map<String, Value>,
    base: Option<&std::path::Path>,
) -> Result<TemplateStanza, AgentError> {
    let destination = string(t.get("destination"))
        .map(PathBuf::from)
        .ok_or_else(|| bad("template: destination is required"))?;
    let delims = (
        string(t.get("left_delimiter")),
        string(t.get("right_delimiter")),
    );
    if !matches!(delims.0.as_deref(), None | Some("{{"))
        || !matches!(delims.1.as_deref(), None | Some("}}"))
    {
        return Err(bad("template: only the {{ }} delimiters are supported"));
    }
    let (name, text) = match (string(t.get("source")), string(t.get("contents"))) {
        (Some(_), Some(_)) => return Err(bad("template: source and contents are exclusive")),
        (Some(source), None) => {
            let path = match base {
                Some(b) if std::path::Path::new(&source).is_relative() => b.join(&source),
                _ => PathBuf::from(&source),
            };
            let text = std::fs::read_to_string(&path)
                .map_err(|e| bad(format!("template source {}: {e}", path.display())))?;
            (source, text)
        }
        (None, Some(contents)) => (destination.display().to_string(), contents),
        (None, None) => return Err(bad("template: source or contents is required")),
    };
    Ok(TemplateStanza {
        name,
        text,
        destination,
        perms: match t.get("perms") {
            None | Some(Value::Null) => 0o644,
            Some(v) => mode(v)?,
        },
        command: string(t.get("command")).filter(|c| !c.trim().is_empty()),
        error_on_missing_key: boolean(t.get("error_on_missing_key"))?,
    })
}

/// A block that may be an object or a list of objects: all of them.
fn blocks(v: Option<&Value>) -> Vec<Map<String, Value>> {
    match v {
        Some(Value::Object(m)) => vec![m.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_object().cloned())
            .collect(),
        _ => Vec::new(),
    }
}

fn first(v: Option<&Value>) -> Option<Map<String, Value>> {
    blocks(v).into_iter().next()
}

/// Typed blocks: `{"<kind>": {...}}` (HCL labels) or `{"type": "<kind>", ...}`, as `(kind, body)`.
fn labelled(v: Option<&Value>) -> Vec<(String, Map<String, Value>)> {
    let mut out = Vec::new();
    for block in blocks(v) {
        if let Some(kind) = block.get("type").and_then(Value::as_str) {
            out.push((kind.to_string(), block.clone()));
            continue;
        }
        for (kind, body) in &block {
            out.extend(blocks(Some(body)).into_iter().map(|b| (kind.clone(), b)));
        }
    }
    out
}

fn string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn boolean(v: Option<&Value>) -> Result<bool, AgentError> {
    match v {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) => s
            .parse()
            .map_err(|_| bad(format!("{s:?} is not a boolean"))),
        Some(other) => Err(bad(format!("{other} is not a boolean"))),
    }
}

/// A file mode: `"0640"` (octal text), or a number. HCL reads `0640` as the decimal 640, so a
/// number whose digits are all octal digits is read as those digits (Vault users write modes
/// in octal); any other number is the mode's value.
fn mode(v: &Value) -> Result<u32, AgentError> {
    let text = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        other => return Err(bad(format!("{other} is not a file mode"))),
    };
    let parsed = if text.chars().all(|c| ('0'..='7').contains(&c)) {
        u32::from_str_radix(&text, 8).ok()
    } else if matches!(v, Value::Number(_)) {
        text.parse().ok()
    } else {
        None
    };
    parsed
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| bad(format!("{text:?} is not a file mode")))
}

/// `"5m"`, `"30s"`, or seconds.
fn duration(v: &Value) -> Result<Duration, AgentError> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => return Err(bad(format!("{other} is not a duration"))),
    };
    crate::plugin_client::parse_timeout(&text).map_err(bad)
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
