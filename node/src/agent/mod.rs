//! `coffer agent`: Vault Agent for Coffer. It logs in by itself (`auto_auth`: kubernetes,
//! approle or a token file), keeps its token renewed and written to file sinks, and renders
//! templates in consul-template's Go-template dialect to files, re-reading secrets on an
//! interval. Run as the sidecar and init container the injector adds, or by hand.
//!
//! - `config`: Vault Agent's config file (HCL or JSON), pure.
//! - `template`: the templates and their functions, pure.
//! - `kv_path`: consul-template's KV v2 path rule (`secret/app` reads `secret/data/app`), pure.
//! - `render`: atomic file writes and a template's `command`.
//! - `runner`: the loop (login, sinks, renders, backoff).
//!
//! The Coffer client (addresses, TLS, deadlines, login, renewal, a new login after a 403) is
//! `plugin_client`'s. Outside simulation only.

pub mod config;
mod error;
mod kv_path;
mod render;
mod runner;
pub mod template;

pub use config::{parse, AgentConfig};
pub use error::AgentError;

use crate::plugin_client::{Endpoint, Session, Target};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args, Debug, Clone)]
pub struct AgentArgs {
    /// Vault Agent's config file (HCL or JSON).
    #[arg(long)]
    pub config: PathBuf,
    /// trace, debug, info, warn or error.
    #[arg(long = "log-level", env = "VAULT_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
}

/// Bound on one call to Coffer (failover between addresses included).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Run the agent; the process exit code.
pub fn run(args: AgentArgs, flags: &Target) -> i32 {
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match start(&args, flags) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}

fn start(args: &AgentArgs, flags: &Target) -> Result<i32, AgentError> {
    let config = config::load(&args.config)?;
    // The config's vault stanza wins over the global flags and VAULT_* variables.
    let target = Target {
        address: config.vault.address.clone().or(flags.address.clone()),
        ca_cert: config.vault.ca_cert.clone().or(flags.ca_cert.clone()),
        tls_skip_verify: config.vault.tls_skip_verify || flags.tls_skip_verify,
    };
    let endpoint = Endpoint::new(
        &target.address(),
        target.ca_cert.as_deref(),
        target.tls_skip_verify,
        CALL_TIMEOUT,
    )
    .map_err(|e| AgentError::Config(e.to_string()))?;
    if let Some(pid) = &config.pid_file {
        render::write_atomic(pid, std::process::id().to_string().as_bytes(), 0o644)?;
    }
    let agent = runner::Agent::new(config.clone(), Session::new(endpoint, config.login.clone()))?;
    let Some(runtime) = crate::unix_socket::runtime() else {
        return Ok(1);
    };
    runtime.block_on(async move {
        tokio::select! {
            result = agent.run() => result.map(|()| 0),
            _ = crate::unix_socket::shutdown_signal() => Ok(0),
        }
    })
}
