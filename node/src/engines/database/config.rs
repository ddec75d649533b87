//! `config/<name>`: a database connection (Vault's `DatabaseConfig`), `config` LIST,
//! `reset/<name>` and `rotate-root/<name>`. The record holds the root password; reads return
//! `connection_details` without it (and with a password written into the URL masked).

use super::error::DbError;
use super::{postgres, statements_field, template, unknown, STORE_CONFIG};
use crate::engines::MountRequest;
use crate::error::ApiError;
use crate::fields::Fields;
use crate::request::{Operation, Response};
use crate::storage::StorageView;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// The one plugin this build has.
pub const POSTGRES_PLUGIN: &str = "postgresql-database-plugin";
const DEFAULT_ROOT_ROTATION: &str = r#"ALTER ROLE "{{username}}" WITH PASSWORD '{{password}}';"#;
/// Fields that are the config's own, not connection details.
const OWN_FIELDS: &[&str] = &[
    "name",
    "plugin_name",
    "plugin_version",
    "allowed_roles",
    "verify_connection",
    "root_rotation_statements",
    "password_policy",
];

/// One stored connection. Not `Debug`: it holds the root password.
#[derive(Clone, Serialize, Deserialize)]
pub struct DbConfig {
    pub plugin_name: String,
    pub allowed_roles: Vec<String>,
    pub verify_connection: bool,
    #[serde(default)]
    pub password_policy: String,
    #[serde(default)]
    pub root_rotation_statements: Vec<String>,
    /// `connection_url`, `username`, `password` and any other connection setting given.
    pub details: Map<String, Value>,
}

fn detail<'a>(details: &'a Map<String, Value>, key: &str) -> &'a str {
    details.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Percent-encode a value put into a URL's user info (what Go's `url.PathEscape` keeps).
fn url_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Quote a value for a `key=value` connection string.
fn dsn_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// `connection_url` with a literal password in it masked, for reads.
fn mask_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let auth_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..auth_end].rfind('@') {
            if let Some((user, pass)) = rest[..at].split_once(':') {
                if pass != "{{password}}" {
                    return format!("{scheme}://{user}:*****{}", &rest[at..]);
                }
            }
        }
        return url.to_string();
    }
    url.split_whitespace()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if k == "password" && v != "{{password}}" => "password=*****".into(),
            _ => kv.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `url` carries a password that is not the `{{password}}` template.
fn has_literal_password(url: &str) -> bool {
    mask_url(url) != url
}

impl DbConfig {
    /// The connection string with `{{username}}` and `{{password}}` filled in.
    pub fn conn_string(&self) -> String {
        let url = detail(&self.details, "connection_url");
        let (user, pass) = (
            detail(&self.details, "username"),
            detail(&self.details, "password"),
        );
        let (user, pass) = if url.contains("://") {
            (url_escape(user), url_escape(pass))
        } else {
            (dsn_quote(user), dsn_quote(pass))
        };
        url.replace("{{username}}", &user)
            .replace("{{password}}", &pass)
    }

    /// Open a connection to this database.
    pub async fn connect(&self) -> Result<postgres::Conn, DbError> {
        postgres::connect(&self.conn_string()).await
    }

    /// Whether `role` may use this connection (`allowed_roles`, with `*` globs).
    pub fn allows(&self, role: &str) -> bool {
        self.allowed_roles.iter().any(|p| glob_match(p, role))
    }

    fn to_json(&self) -> Value {
        let mut details = self.details.clone();
        details.remove("password");
        details.remove("private_key");
        if let Some(Value::String(url)) = details.get_mut("connection_url") {
            *url = mask_url(url);
        }
        json!({
            "plugin_name": self.plugin_name,
            "plugin_version": "",
            "connection_details": details,
            "allowed_roles": self.allowed_roles,
            "root_credentials_rotate_statements": self.root_rotation_statements,
            "password_policy": self.password_policy,
            "verify_connection": self.verify_connection,
        })
    }
}

/// Vault's `StrListContainsGlob` for one pattern: `*` matches any run of characters.
fn glob_match(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !s.starts_with(first) || s.len() < first.len() + last.len() || !s.ends_with(last) {
        return false;
    }
    let mut rest = &s[first.len()..s.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// The config `name`, if stored.
pub async fn load(storage: &StorageView, name: &str) -> Result<Option<DbConfig>, ApiError> {
    storage.get_json(&format!("{STORE_CONFIG}{name}")).await
}

/// The config `name`, or Vault's error for a role naming a missing one.
pub async fn require(storage: &StorageView, name: &str) -> Result<DbConfig, ApiError> {
    load(storage, name).await?.ok_or_else(|| {
        ApiError::bad(format!(
            "failed to find entry for connection with name: {name:?}"
        ))
    })
}

async fn store(storage: &StorageView, name: &str, cfg: &DbConfig) -> Result<(), ApiError> {
    storage
        .put_json(&format!("{STORE_CONFIG}{name}"), cfg)
        .await
}

/// `config` and `config/<name>`.
pub async fn route(m: &MountRequest<'_>, name: &str) -> Result<Option<Response>, ApiError> {
    match (m.req.operation, name) {
        (Operation::List, "") => super::list(m.storage, STORE_CONFIG).await,
        (_, "") => Err(ApiError::UnsupportedOperation),
        (Operation::Read, n) => match load(m.storage, n).await? {
            Some(cfg) => Ok(Some(Response::data(cfg.to_json()))),
            None => Err(ApiError::NotFound(String::new())),
        },
        (Operation::Create | Operation::Update, n) => write(m, n).await,
        (Operation::Delete, n) => {
            m.storage.delete(&format!("{STORE_CONFIG}{n}")).await?;
            Ok(None)
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}

async fn write(m: &MountRequest<'_>, name: &str) -> Result<Option<Response>, ApiError> {
    let f = Fields(&m.req.data);
    let old = load(m.storage, name).await?;
    let plugin_name = match (f.str_opt("plugin_name")?, &old) {
        (Some(p), _) if !p.is_empty() => p,
        (_, Some(old)) => old.plugin_name.clone(),
        _ => return Err(ApiError::bad("empty plugin name")),
    };
    if plugin_name != POSTGRES_PLUGIN {
        return Err(ApiError::bad(format!(
            "error creating database object: unable to create database instance: plugin not found in the catalog: {plugin_name}"
        )));
    }
    let password_policy = f.str_opt("password_policy")?.unwrap_or_else(|| {
        old.as_ref()
            .map(|o| o.password_policy.clone())
            .unwrap_or_default()
    });
    if !password_policy.is_empty() {
        return Err(ApiError::bad(format!(
            "password policy {password_policy:?} not found: this build has only the default password policy"
        )));
    }
    if m.req.data.contains_key("username_template") {
        return Err(ApiError::bad(
            "username_template is not supported: this build uses the plugin's default username template",
        ));
    }
    let mut details = old.as_ref().map(|o| o.details.clone()).unwrap_or_default();
    for (k, v) in &m.req.data {
        if !OWN_FIELDS.contains(&k.as_str()) {
            details.insert(k.clone(), v.clone());
        }
    }
    if detail(&details, "connection_url").is_empty() {
        return Err(ApiError::bad(
            "error creating database object: connection_url cannot be empty",
        ));
    }
    let cfg = DbConfig {
        plugin_name,
        allowed_roles: match f.list_opt("allowed_roles")? {
            Some(l) => l,
            None => old
                .as_ref()
                .map(|o| o.allowed_roles.clone())
                .unwrap_or_default(),
        },
        verify_connection: f.bool_or("verify_connection", true)?,
        password_policy,
        root_rotation_statements: match m.req.data.get("root_rotation_statements") {
            Some(v) => statements_field(v, "root_rotation_statements")?,
            None => old
                .as_ref()
                .map(|o| o.root_rotation_statements.clone())
                .unwrap_or_default(),
        },
        details,
    };
    if cfg.verify_connection {
        let verify = async { cfg.connect().await?.ping().await };
        verify.await.map_err(|e| {
            ApiError::bad(format!(
                "error creating database object: error verifying connection: {e}"
            ))
        })?;
    }
    store(m.storage, name, &cfg).await?;
    if has_literal_password(detail(&cfg.details, "connection_url")) {
        let mut resp = Response::default();
        resp.warnings.push("Password found in connection_url, use a templated url to enable root rotation and prevent read access to password information.".into());
        return Ok(Some(resp));
    }
    Ok(None)
}

/// `reset/<name>`: connections are opened per operation, so there is nothing to close; the
/// config must exist.
pub async fn reset(m: &MountRequest<'_>, name: &str) -> Result<Option<Response>, ApiError> {
    if load(m.storage, name).await?.is_none() {
        return Err(unknown("connection", name));
    }
    Ok(None)
}

/// `rotate-root/<name>`: set a new random password for the config's user in the database,
/// then store it; the old one stops working.
pub async fn rotate_root(m: &MountRequest<'_>, name: &str) -> Result<Option<Response>, ApiError> {
    let mut cfg = load(m.storage, name)
        .await?
        .ok_or_else(|| unknown("connection", name))?;
    let username = detail(&cfg.details, "username").to_string();
    if username.is_empty() {
        return Err(ApiError::bad(
            "unable to rotate root credentials: no username in configuration",
        ));
    }
    if detail(&cfg.details, "password").is_empty() {
        return Err(ApiError::bad(
            "unable to rotate root credentials: no password in configuration",
        ));
    }
    let password = super::username::password();
    let stmts = if cfg.root_rotation_statements.is_empty() {
        vec![DEFAULT_ROOT_ROTATION.to_string()]
    } else {
        cfg.root_rotation_statements.clone()
    };
    let vars = [
        ("username", username.as_str()),
        ("name", username.as_str()),
        ("password", password.as_str()),
    ];
    let stmts: Vec<String> = stmts.iter().map(|s| template(s, &vars)).collect();
    let mut conn = cfg.connect().await?;
    conn.run_in_transaction(&stmts).await?;
    cfg.details
        .insert("password".into(), Value::String(password));
    if let Err(e) = store(m.storage, name, &cfg).await {
        tracing::error!(
            connection = name,
            "rotate-root changed the database password but could not store it"
        );
        return Err(e);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(url: &str, user: &str, pass: &str) -> DbConfig {
        let mut details = Map::new();
        details.insert("connection_url".into(), url.into());
        details.insert("username".into(), user.into());
        details.insert("password".into(), pass.into());
        DbConfig {
            plugin_name: POSTGRES_PLUGIN.into(),
            allowed_roles: vec!["app*".into()],
            verify_connection: true,
            password_policy: String::new(),
            root_rotation_statements: Vec::new(),
            details,
        }
    }

    #[test]
    fn urls_are_templated_with_escaping() {
        let c = cfg(
            "postgresql://{{username}}:{{password}}@127.0.0.1:5/db",
            "vault",
            "p@ss/w:rd",
        );
        assert_eq!(
            c.conn_string(),
            "postgresql://vault:p%40ss%2Fw%3Ard@127.0.0.1:5/db"
        );
        let c = cfg(
            "host=h user={{username}} password={{password}}",
            "vault",
            "it's",
        );
        assert_eq!(c.conn_string(), r"host=h user='vault' password='it\'s'");
    }

    #[test]
    fn reads_never_show_the_password() {
        let c = cfg(
            "postgresql://{{username}}:{{password}}@h/db",
            "vault",
            "secret-pw",
        );
        let shown = c.to_json().to_string();
        assert!(!shown.contains("secret-pw"));
        assert!(shown.contains("{{password}}"));
        let literal = cfg("postgresql://vault:secret-pw@h/db", "", "");
        assert!(!literal.to_json().to_string().contains("secret-pw"));
        assert_eq!(
            mask_url("host=h password=secret-pw"),
            "host=h password=*****"
        );
    }

    #[test]
    fn allowed_roles_globs() {
        let c = cfg("x", "", "");
        assert!(c.allows("app") && c.allows("app-ro"));
        assert!(!c.allows("other"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("a*c*e", "abcde"));
        assert!(!glob_match("a*c*e", "abde"));
    }
}
