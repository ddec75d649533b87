//! The `coffer` command line: `server`, and Vault-compatible client commands.

pub mod args;
mod audit;
mod autopilot;
mod ceremony;
mod client;
mod commands;
mod grammar;
mod init;
mod injector_cmd;
mod kv;
pub mod kv_args;
mod kv_path;
mod kv_versions;
mod lease;
mod login;
pub mod mount_args;
mod mounts;
mod operator;
pub mod output;
mod server_cmd;
mod status;

use args::{Cli, Command};
use clap::Parser;
pub use client::{Client, ClientError};
use output::Format;

/// The version line, `Coffer v<semver> (Vault API <version>)`.
pub fn version_line() -> String {
    format!(
        "Coffer v{} (Vault API {}, rustc build)",
        crate::core::VERSION,
        crate::core::VAULT_API_VERSION
    )
}

/// Parse `std::env::args`, run the command, return the process exit code.
pub fn main() -> i32 {
    let args = args::normalize_args(std::env::args());
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 1 } else { 0 };
        }
    };
    if cli.version {
        println!("{}", version_line());
        return 0;
    }
    let format = match Format::parse(cli.format.as_deref()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let Some(command) = cli.command else {
        eprintln!(
            "Usage: coffer <command> [args]\n\nRun `coffer --help` for the list of commands."
        );
        return 1;
    };
    match command {
        Command::Server(a) => server_cmd::run(a),
        Command::Injector(a) => injector_cmd::run(a),
        Command::Agent(a) => {
            let target = plugin_target(&cli.address, &cli.ca_cert, cli.tls_skip_verify);
            crate::agent::run(a, &target)
        }
        Command::KmsPlugin(a) => {
            let target = plugin_target(&cli.address, &cli.ca_cert, cli.tls_skip_verify);
            crate::kms_plugin::run(a, &target)
        }
        Command::CsiProvider(a) => {
            let target = plugin_target(&cli.address, &cli.ca_cert, cli.tls_skip_verify);
            crate::csi_provider::run(a, &target)
        }
        Command::Version => {
            println!("{}", version_line());
            0
        }
        other => {
            let tls = client::TlsFlags {
                skip_verify: cli.tls_skip_verify,
                ca_cert: cli.ca_cert,
                namespace: cli.namespace,
                headers: cli.header,
                curl_only: cli.output_curl_string,
            };
            let out = Out {
                format,
                field: cli.field,
            };
            match run_client(other, cli.address.as_deref(), &tls, cli.wrap_ttl, &out) {
                Ok(code) => code,
                Err(ClientError::CurlPrinted) => 0,
                Err(e @ ClientError::Usage(_)) => {
                    eprintln!("{e}");
                    1
                }
                Err(e) => {
                    eprintln!("{e}");
                    2
                }
            }
        }
    }
}

/// Where a Kubernetes plugin finds Coffer: the global flags, else Vault's variables.
fn plugin_target(
    address: &Option<String>,
    ca_cert: &Option<String>,
    skip_verify: bool,
) -> crate::plugin_client::Target {
    crate::plugin_client::Target::from_flags(address.clone(), ca_cert.clone(), skip_verify)
}

/// How a client command prints: `-format`, and `-field` when only one value is wanted.
pub struct Out {
    pub format: Format,
    pub field: Option<String>,
}

impl Out {
    /// A secret-shaped answer: `-field`'s value alone, or the whole answer.
    pub fn secret(&self, body: &serde_json::Value) -> i32 {
        match &self.field {
            Some(f) => output::raw_field(self.format, output::secret_field(body, f).as_ref(), f),
            None => {
                output::secret(self.format, body);
                0
            }
        }
    }
}

fn run_client(
    command: Command,
    address: Option<&str>,
    tls: &client::TlsFlags,
    wrap_ttl: Option<String>,
    out: &Out,
) -> Result<i32, ClientError> {
    let format = out.format;
    let mut client = Client::from_env(address, tls)?;
    if let Some(ttl) = wrap_ttl.or_else(|| std::env::var("VAULT_WRAP_TTL").ok()) {
        client.set_wrap_ttl(ttl);
    }
    match command {
        Command::Status => status::run(&client, format),
        Command::Operator(op) => operator::run(&client, op, format),
        Command::Login(args) => login::run(&mut client, args, format),
        Command::Token(t) => commands::token(&client, t, out),
        Command::Secrets(s) => mounts::secrets(&client, s, format),
        Command::Auth(a) => mounts::auth(&client, a, format),
        Command::Audit(a) => audit::run(&client, a, format),
        Command::Policy(p) => commands::policy(&client, p, format),
        Command::Kv(k) => kv::run(&client, k, out),
        Command::Lease(l) => lease::run(&client, l, out),
        Command::Print(args::PrintCmd::Token) => {
            println!("{}", client.token().unwrap_or_default());
            Ok(0)
        }
        Command::Read { path } => commands::read(&client, &path, out),
        Command::Write { path, pairs } => commands::write(&client, &path, &pairs, out),
        Command::List { path } => commands::list(&client, &path, format),
        Command::Delete { path } => commands::delete(&client, &path),
        Command::Unwrap { token } => commands::unwrap(&mut client, token, out),
        Command::Server(_)
        | Command::Injector(_)
        | Command::Version
        | Command::Agent(_)
        | Command::KmsPlugin(_)
        | Command::CsiProvider(_) => {
            unreachable!("handled before a client is built")
        }
    }
}

/// Read `k=v` pairs into a JSON object: `k=@file` reads a file, `k=-` reads stdin, as Vault does.
pub fn parse_pairs(
    pairs: &[String],
) -> Result<serde_json::Map<String, serde_json::Value>, ClientError> {
    let mut out = serde_json::Map::new();
    for pair in pairs {
        let (k, v) = pair.split_once('=').ok_or_else(|| {
            ClientError::Usage(format!(
                "invalid key/value pair {pair:?}: format must be key=value"
            ))
        })?;
        let value = if let Some(file) = v.strip_prefix('@') {
            std::fs::read_to_string(file)
                .map_err(|e| ClientError::Usage(format!("reading {file}: {e}")))?
        } else if v == "-" {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                .map_err(|e| ClientError::Usage(format!("reading stdin: {e}")))?;
            s
        } else {
            v.to_string()
        };
        out.insert(k.to_string(), serde_json::Value::String(value));
    }
    Ok(out)
}
