//! The CLI's HTTP client: address, token and TLS from flags and `VAULT_*` / `COFFER_*` env vars,
//! the token helper file `~/.vault-token`, and Vault-shaped error reporting.

use serde_json::Value;
use std::time::Duration;

/// The largest answer the CLI reads (a Raft snapshot is the big one).
const MAX_BODY_BYTES: u64 = 1 << 30;

/// The content type of a PATCH (a JSON merge patch, RFC 7386), as Vault requires.
const MERGE_PATCH: &str = "application/merge-patch+json";

/// A failed call, as the CLI reports it.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "Error making API request.\n\nURL: {method} {url}\nCode: {status}. Errors:\n\n{errors}"
    )]
    Api {
        method: String,
        url: String,
        status: u16,
        errors: String,
    },
    #[error("error talking to {url}: {reason}")]
    Transport { url: String, reason: String },
    #[error("{0}")]
    Usage(String),
    /// `-output-curl-string`: the request was printed as a `curl` command, not sent.
    #[error("printed the curl command")]
    CurlPrinted,
}

/// The answer of one call: status and parsed body (`Null` for 204).
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

/// An API client for one server address.
pub struct Client {
    agent: ureq::Agent,
    address: String,
    token: Option<String>,
    /// Sent as `X-Vault-Wrap-TTL` with every call (`-wrap-ttl`).
    wrap_ttl: Option<String>,
    flags: TlsFlags,
}

fn env(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

/// Where `login` keeps the token, as Vault's default token helper does.
pub fn token_file() -> Option<std::path::PathBuf> {
    std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".vault-token"))
}

/// Connection choices from the command line (`-tls-skip-verify`, `-ca-cert`, `-namespace`,
/// `-header`, `-output-curl-string`); the `VAULT_*` variables fill what the flags leave unset.
#[derive(Debug, Default, Clone)]
pub struct TlsFlags {
    pub skip_verify: bool,
    pub ca_cert: Option<String>,
    pub namespace: Option<String>,
    /// `Key=Value` headers sent with every call.
    pub headers: Vec<String>,
    /// Print each request as a `curl` command instead of sending it.
    pub curl_only: bool,
}

fn tls_config(flags: &TlsFlags) -> Result<ureq::tls::TlsConfig, ClientError> {
    use ureq::tls::{Certificate, RootCerts, TlsConfig};
    let skip = flags.skip_verify
        || env(&["VAULT_SKIP_VERIFY", "COFFER_SKIP_VERIFY"])
            .is_some_and(|v| matches!(v.as_str(), "1" | "true" | "TRUE" | "True"));
    let mut builder = TlsConfig::builder().disable_verification(skip);
    if let Some(path) = flags
        .ca_cert
        .clone()
        .or_else(|| env(&["VAULT_CACERT", "COFFER_CACERT"]))
    {
        let pem = std::fs::read(&path)
            .map_err(|e| ClientError::Usage(format!("reading VAULT_CACERT {path}: {e}")))?;
        let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        builder = builder.root_certs(RootCerts::new_with_certs(&certs));
    }
    Ok(builder.build())
}

impl Client {
    /// A client from the `-address` flag (or `VAULT_ADDR`), and `VAULT_TOKEN` or the token file.
    pub fn from_env(address: Option<&str>, tls: &TlsFlags) -> Result<Client, ClientError> {
        let address = address
            .map(str::to_string)
            .or_else(|| env(&["VAULT_ADDR", "COFFER_ADDR"]))
            .unwrap_or_else(|| "https://127.0.0.1:8200".into());
        let token = env(&["VAULT_TOKEN", "COFFER_TOKEN"]).or_else(|| {
            token_file()
                .and_then(|p| std::fs::read_to_string(p).ok())
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
        });
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .tls_config(tls_config(tls)?)
            .build();
        let mut flags = tls.clone();
        flags.namespace = flags
            .namespace
            .or_else(|| env(&["VAULT_NAMESPACE"]))
            .filter(|n| !n.trim_matches('/').is_empty());
        for h in &flags.headers {
            if !h.contains('=') {
                return Err(ClientError::Usage(format!(
                    "invalid header {h:?}: format must be key=value"
                )));
            }
        }
        Ok(Client {
            agent: config.into(),
            address: address.trim_end_matches('/').to_string(),
            token,
            wrap_ttl: None,
            flags,
        })
    }

    /// Use this token instead of the ambient one.
    pub fn set_token(&mut self, token: String) {
        self.token = Some(token);
    }

    /// Ask the server to wrap every answer in a single-use token with this TTL.
    pub fn set_wrap_ttl(&mut self, ttl: String) {
        self.wrap_ttl = Some(ttl).filter(|t| !t.is_empty());
    }

    /// Send no token (a login needs none).
    pub fn clear_token(&mut self) {
        self.token = None;
    }

    /// The server address this client talks to.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The current token, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/{}", self.address, path.trim_start_matches('/'))
    }

    /// One call with a JSON body; a non-2xx status becomes `ClientError::Api` unless `accept`
    /// lists it.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        accept: &[u16],
    ) -> Result<Reply, ClientError> {
        let bytes = body
            .map(|b| serde_json::to_vec(b).unwrap_or_default())
            .unwrap_or_default();
        self.call_bytes(method, path, bytes, accept)
    }

    /// One call with `body` sent as it is (a snapshot to restore).
    pub fn call_bytes(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        accept: &[u16],
    ) -> Result<Reply, ClientError> {
        if self.flags.curl_only {
            println!("{}", self.curl_string(method, path, &body));
            return Err(ClientError::CurlPrinted);
        }
        self.send(method, path, body, accept)
    }

    /// A read that is always sent, even under `-output-curl-string`: the KV commands' lookup of
    /// the mount, as Vault's CLI does it.
    pub fn preflight(&self, path: &str) -> Result<Reply, ClientError> {
        self.send("GET", path, Vec::new(), &[])
    }

    /// The headers of every request, in the order they are sent.
    fn headers(&self) -> Vec<(String, String)> {
        let mut out = vec![("X-Vault-Request".to_string(), "true".to_string())];
        if let Some(t) = &self.token {
            out.push(("X-Vault-Token".into(), t.clone()));
        }
        if let Some(ttl) = &self.wrap_ttl {
            out.push(("X-Vault-Wrap-TTL".into(), ttl.clone()));
        }
        if let Some(ns) = &self.flags.namespace {
            out.push(("X-Vault-Namespace".into(), ns.clone()));
        }
        for h in &self.flags.headers {
            if let Some((k, v)) = h.split_once('=') {
                out.push((k.to_string(), v.to_string()));
            }
        }
        out
    }

    /// The request as a `curl` command line, as Vault's `-output-curl-string` prints it: the
    /// token replaced by `$(coffer print token)`, single quotes in the body escaped.
    fn curl_string(&self, method: &str, path: &str, body: &[u8]) -> String {
        let quote = |s: &str| s.replace('\'', "'\"'\"'");
        let mut out = String::from("curl ");
        if self.flags.skip_verify {
            out.push_str("--insecure ");
        }
        if method != "GET" {
            out.push_str(&format!("-X {method} "));
        }
        if let Some(ca) = &self.flags.ca_cert {
            out.push_str(&format!("--cacert '{}' ", quote(ca)));
        }
        for (k, v) in self.headers() {
            let v = if k == "X-Vault-Token" {
                "$(coffer print token)".to_string()
            } else {
                v
            };
            out.push_str(&format!("-H \"{k}: {v}\" "));
        }
        if method == "PATCH" {
            out.push_str(&format!("-H \"Content-Type: {MERGE_PATCH}\" "));
        }
        if !body.is_empty() {
            out.push_str(&format!("-d '{}' ", quote(&String::from_utf8_lossy(body))));
        }
        out.push_str(&self.url(path));
        out
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        accept: &[u16],
    ) -> Result<Reply, ClientError> {
        let url = self.url(path);
        let transport = |e: ureq::Error| ClientError::Transport {
            url: url.clone(),
            reason: e.to_string(),
        };
        let mut builder = ureq::http::Request::builder().method(method).uri(&url);
        for (k, v) in self.headers() {
            builder = builder.header(k, v);
        }
        if method == "PATCH" {
            builder = builder.header("Content-Type", MERGE_PATCH);
        }
        let request = builder
            .body(body)
            .map_err(|e| ClientError::Usage(format!("bad request: {e}")))?;
        let mut response = self.agent.run(request).map_err(transport)?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_string()
            .map_err(transport)?;
        let body: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if (200..300).contains(&status) || accept.contains(&status) {
            return Ok(Reply { status, body });
        }
        let errors = body["errors"]
            .as_array()
            .map(|e| {
                e.iter()
                    .map(|m| format!("\t* {}", m.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        Err(ClientError::Api {
            method: method.into(),
            url,
            status,
            errors,
        })
    }

    /// GET
    pub fn read(&self, path: &str) -> Result<Reply, ClientError> {
        self.call("GET", path, None, &[])
    }

    /// PUT with a JSON body.
    pub fn write(&self, path: &str, body: &Value) -> Result<Reply, ClientError> {
        self.call("PUT", path, Some(body), &[])
    }

    /// LIST (sent as `GET ?list=true`, which every proxy passes through).
    pub fn list(&self, path: &str) -> Result<Reply, ClientError> {
        self.call(
            "GET",
            &format!("{}?list=true", path.trim_end_matches('/')),
            None,
            &[],
        )
    }

    /// DELETE
    pub fn delete(&self, path: &str) -> Result<Reply, ClientError> {
        self.call("DELETE", path, None, &[])
    }
}
