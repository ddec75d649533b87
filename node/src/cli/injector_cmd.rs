//! `coffer injector`: flags and environment variables named as Vault's agent injector names
//! them (`AGENT_INJECT_*`), the serving certificate chosen, the webhook's caBundle patched when
//! the certificate is generated, then the HTTPS server until SIGINT/SIGTERM.

use crate::injector::{annotations::Defaults, ca_bundle, server, tls};
use clap::Args;
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct InjectorArgs {
    /// Address to listen on (`:8080` is every interface).
    #[arg(long, env = "AGENT_INJECT_LISTEN", default_value = ":8080")]
    pub listen: String,
    /// PEM certificate (chain) to serve; with -tls-key-file.
    #[arg(long = "tls-cert-file", env = "AGENT_INJECT_TLS_CERT_FILE")]
    pub tls_cert_file: Option<String>,
    /// PEM private key of -tls-cert-file.
    #[arg(long = "tls-key-file", env = "AGENT_INJECT_TLS_KEY_FILE")]
    pub tls_key_file: Option<String>,
    /// Generate a CA and a serving certificate at start, and patch the caBundle of this
    /// MutatingWebhookConfiguration with the CA.
    #[arg(long = "tls-auto", env = "AGENT_INJECT_TLS_AUTO")]
    pub tls_auto: Option<String>,
    /// Comma-separated DNS names (or IPs) of the generated certificate, e.g.
    /// `coffer-agent-injector-svc,coffer-agent-injector-svc.vault,coffer-agent-injector-svc.vault.svc`.
    #[arg(long = "tls-auto-hosts", env = "AGENT_INJECT_TLS_AUTO_HOSTS")]
    pub tls_auto_hosts: Option<String>,
    /// The image of the injected agent containers (it must contain `coffer` and `/bin/sh`).
    #[arg(long = "agent-image", env = "AGENT_INJECT_VAULT_IMAGE")]
    pub agent_image: Option<String>,
    /// The Coffer address the agents use, unless a pod's `vault.hashicorp.com/service` says.
    #[arg(long = "vault-address", env = "AGENT_INJECT_VAULT_ADDR")]
    pub vault_address: Option<String>,
    /// The kubernetes auth method's path, unless a pod's `vault.hashicorp.com/auth-path` says.
    #[arg(
        long = "vault-auth-path",
        env = "AGENT_INJECT_VAULT_AUTH_PATH",
        default_value = "auth/kubernetes"
    )]
    pub vault_auth_path: String,
    /// trace, debug, info, warn or error.
    #[arg(
        long = "log-level",
        env = "AGENT_INJECT_LOG_LEVEL",
        default_value = "info"
    )]
    pub log_level: String,
    /// standard or json.
    #[arg(
        long = "log-format",
        env = "AGENT_INJECT_LOG_FORMAT",
        default_value = "standard"
    )]
    pub log_format: String,
}

/// `:8080` → `0.0.0.0:8080` (Go's listen syntax).
fn listen_address(listen: &str) -> String {
    match listen.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => listen.to_string(),
    }
}

fn init_logging(a: &InjectorArgs) {
    let filter = tracing_subscriber::EnvFilter::try_new(&a.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if a.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// The serving certificate, and the webhook configuration to give its CA to.
fn certificate(a: &InjectorArgs) -> Result<(tls::ServingCert, Option<String>), String> {
    match (&a.tls_cert_file, &a.tls_key_file, &a.tls_auto) {
        (Some(cert), Some(key), None) => Ok((
            tls::from_files(cert, key).map_err(|e| e.to_string())?,
            None,
        )),
        (None, None, Some(name)) => {
            let hosts: Vec<String> = a
                .tls_auto_hosts
                .as_deref()
                .unwrap_or_default()
                .split(',')
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
                .collect();
            if hosts.is_empty() {
                return Err("-tls-auto needs -tls-auto-hosts (the service's DNS names)".into());
            }
            Ok((
                tls::generate(&hosts).map_err(|e| e.to_string())?,
                Some(name.clone()),
            ))
        }
        _ => Err(
            "give either -tls-cert-file and -tls-key-file, or -tls-auto=<webhook configuration> with -tls-auto-hosts"
                .into(),
        ),
    }
}

/// Run the webhook until a signal.
pub fn run(a: InjectorArgs) -> i32 {
    let Some(vault_address) = a.vault_address.clone().filter(|v| !v.is_empty()) else {
        eprintln!("Error: -vault-address (AGENT_INJECT_VAULT_ADDR) is required");
        return 1;
    };
    let defaults = Defaults {
        agent_image: a
            .agent_image
            .clone()
            .unwrap_or_else(|| format!("coffer:{}", crate::core::VERSION)),
        vault_address,
        auth_path: a.vault_auth_path.clone(),
    };
    let (cert, bundle_target) = match certificate(&a) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let config = match tls::server_config(&cert) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    init_logging(&a);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error starting the runtime: {e}");
            return 1;
        }
    };
    runtime.block_on(async move {
        let addr = listen_address(&a.listen);
        let listener = match tokio::net::TcpListener::bind(&addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("Error: cannot listen on {addr}: {e}");
                return 1;
            }
        };
        let local = listener.local_addr().map(|a| a.to_string()).unwrap_or(addr);
        println!("==> Coffer agent injector listening on {local} (HTTPS)");
        if let (Some(name), Some(ca_pem)) = (bundle_target, cert.ca_pem.clone()) {
            tokio::spawn(ca_bundle::install(name, ca_pem));
        }
        let app = server::app(Arc::new(defaults));
        tokio::select! {
            _ = server::serve(listener, config, app) => 0,
            _ = shutdown() => {
                tracing::info!("shutting down");
                0
            }
        }
    })
}

async fn shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_listen_syntax() {
        assert_eq!(listen_address(":8080"), "0.0.0.0:8080");
        assert_eq!(listen_address("127.0.0.1:9"), "127.0.0.1:9");
    }
}
