//! Command-line grammar, with Vault's command and flag names. Vault's flags follow Go's `flag`
//! package (`-format=json`, `-nonce N`, `--init=true`); `normalize_args` (see `grammar.rs`) turns
//! them into clap's form first.

use clap::{Args, CommandFactory, Parser, Subcommand};

/// Rewrite Vault-style arguments into what clap parses (`grammar::normalize` on this CLI).
pub fn normalize_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    super::grammar::normalize(&Cli::command(), args)
}

#[derive(Parser, Debug)]
#[command(
    name = "coffer",
    about = "Coffer: a Vault-compatible secrets manager",
    disable_version_flag = true
)]
pub struct Cli {
    /// Print the version and exit.
    #[arg(long = "version", global = false)]
    pub version: bool,
    /// Server address (VAULT_ADDR).
    #[arg(long, global = true)]
    pub address: Option<String>,
    /// Output format: table or json (VAULT_FORMAT).
    #[arg(long, global = true)]
    pub format: Option<String>,
    /// Wrap the answer in a single-use token with this TTL (VAULT_WRAP_TTL): `60s`, `5m`, seconds.
    #[arg(long = "wrap-ttl", global = true)]
    pub wrap_ttl: Option<String>,
    /// Do not verify the server's TLS certificate (VAULT_SKIP_VERIFY).
    #[arg(long = "tls-skip-verify", global = true)]
    pub tls_skip_verify: bool,
    /// PEM file of the CA that signed the server's certificate (VAULT_CACERT).
    #[arg(long = "ca-cert", global = true)]
    pub ca_cert: Option<String>,
    /// Namespace sent as `X-Vault-Namespace` (VAULT_NAMESPACE).
    #[arg(long, global = true, alias = "ns")]
    pub namespace: Option<String>,
    /// Print only this field of the answer, with no trailing newline when not on a terminal.
    #[arg(long, global = true)]
    pub field: Option<String>,
    /// Print the `curl` command of the request instead of sending it.
    #[arg(long = "output-curl-string", global = true)]
    pub output_curl_string: bool,
    /// An extra `Key=Value` HTTP header for every request (repeatable).
    #[arg(long, global = true, action = clap::ArgAction::Append)]
    pub header: Vec<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start a server.
    Server(ServerArgs),
    /// Print the version.
    Version,
    /// Run the Kubernetes mutating admission webhook that injects `coffer agent` into pods
    /// annotated `vault.hashicorp.com/agent-inject: "true"`.
    Injector(super::injector_cmd::InjectorArgs),
    /// Vault Agent: log in by itself, keep a token in file sinks, render templates to files.
    Agent(crate::agent::AgentArgs),
    /// Kubernetes KMS v2 plugin on a unix socket, backed by a transit key (etcd encryption).
    #[command(name = "kms-plugin")]
    KmsPlugin(crate::kms_plugin::KmsPluginArgs),
    /// Secrets Store CSI driver provider on a unix socket (secrets mounted as pod files).
    #[command(name = "csi-provider")]
    CsiProvider(crate::csi_provider::CsiProviderArgs),
    /// Seal status of the server.
    Status,
    /// Operator commands: init, unseal, seal, rekey, generate-root, rotate, key-status.
    #[command(subcommand)]
    Operator(Operator),
    /// Authenticate (the token is stored in ~/.vault-token): `login TOKEN`, or
    /// `login -method=userpass username=.. password=..`, `-method=approle role_id=.. secret_id=..`.
    Login(LoginArgs),
    /// Token commands.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Secrets engines.
    #[command(subcommand)]
    Secrets(super::mount_args::SecretsCmd),
    /// Auth methods.
    #[command(subcommand)]
    Auth(super::mount_args::AuthCmd),
    /// ACL policies.
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// Audit devices.
    #[command(subcommand)]
    Audit(super::audit::AuditCmd),
    /// Key/value secrets (KV v1 and v2).
    #[command(subcommand)]
    Kv(super::kv_args::KvCmd),
    /// Leases: renew, revoke, lookup.
    #[command(subcommand)]
    Lease(super::lease::LeaseCmd),
    /// Print a value the CLI uses: `print token`.
    #[command(subcommand)]
    Print(PrintCmd),
    /// Read any path.
    Read { path: String },
    /// Write key=value pairs to any path.
    Write { path: String, pairs: Vec<String> },
    /// List keys under any path.
    List { path: String },
    /// Delete any path.
    Delete { path: String },
    /// Unwrap a wrapped answer: TOKEN, or the client's own token when TOKEN is absent.
    Unwrap { token: Option<String> },
}

#[derive(Subcommand, Debug)]
pub enum PrintCmd {
    /// The token the CLI sends (VAULT_TOKEN, else the token helper's).
    Token,
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    /// Auth method type: token (default), userpass, approle, or any method whose login takes
    /// its fields at `auth/<path>/login`.
    #[arg(long)]
    pub method: Option<String>,
    /// Mount path of the auth method (default: the method's name).
    #[arg(long)]
    pub path: Option<String>,
    /// Do not store the token in the token helper.
    #[arg(long = "no-store")]
    pub no_store: bool,
    /// Print only the token.
    #[arg(long = "token-only")]
    pub token_only: bool,
    /// The token (`-` reads stdin), or the method's `key=value` fields.
    pub args: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ServerArgs {
    /// Config file (HCL or JSON).
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
    /// In-memory, initialised and unsealed dev server.
    #[arg(long)]
    pub dev: bool,
    /// Three in-process nodes forming one cluster (like Vault's -dev-three-node).
    #[arg(long = "dev-three-node")]
    pub dev_three_node: bool,
    /// Root token id for -dev.
    #[arg(long = "dev-root-token-id")]
    pub dev_root_token_id: Option<String>,
    /// Listen address for -dev.
    #[arg(long = "dev-listen-address", default_value = "127.0.0.1:8200")]
    pub dev_listen_address: String,
    /// Check the config and exit: parse it, apply the environment overrides and validate every
    /// stanza (storage, listeners, seal, service_registration) without binding a port or
    /// contacting a KMS, HSM or API server. Exit 0 when valid, 1 with the reason otherwise.
    #[arg(long)]
    pub check: bool,
    /// Log level (overrides the config).
    #[arg(long = "log-level")]
    pub log_level: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Operator {
    Init(InitArgs),
    Unseal {
        key: Option<String>,
        #[arg(long)]
        reset: bool,
        /// Migrate the seal (Shamir ↔ auto) with this key share.
        #[arg(long)]
        migrate: bool,
    },
    Seal,
    Rotate,
    KeyStatus,
    Rekey(RekeyArgs),
    GenerateRoot(GenerateRootArgs),
    /// Raft membership: list-peers, remove-peer, join.
    #[command(subcommand)]
    Raft(RaftCmd),
    /// Make the active node hand over to a standby.
    StepDown,
    /// The nodes of the cluster and which one is active.
    Members,
}

#[derive(Subcommand, Debug)]
pub enum RaftCmd {
    /// The members of the Raft configuration.
    ListPeers,
    /// Remove a member by node id.
    RemovePeer { server_id: String },
    /// Ask the node at -address to join the cluster led by LEADER_API_ADDR.
    Join {
        leader_api_addr: String,
        #[arg(long = "leader-ca-cert")]
        leader_ca_cert: Option<String>,
        #[arg(long = "non-voter")]
        non_voter: bool,
    },
    /// Save or restore a snapshot of the Raft data.
    #[command(subcommand)]
    Snapshot(SnapshotCmd),
    /// Autopilot: state, get-config, set-config.
    #[command(subcommand)]
    Autopilot(super::autopilot::AutopilotCmd),
}

#[derive(Subcommand, Debug)]
pub enum SnapshotCmd {
    /// Write a snapshot of the cluster's data to FILE.
    Save { file: String },
    /// Replace the cluster's data with the snapshot in FILE.
    Restore {
        file: String,
        /// Restore a snapshot taken on another cluster.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Unseal key shares (Shamir seal only; an auto seal keeps the key itself).
    #[arg(long = "key-shares", short = 'n', default_value_t = 5)]
    pub key_shares: u8,
    /// Unseal key shares needed to unseal (Shamir seal only).
    #[arg(long = "key-threshold", short = 't', default_value_t = 3)]
    pub key_threshold: u8,
    /// Recovery key shares (auto seal only).
    #[arg(long = "recovery-shares", default_value_t = 5)]
    pub recovery_shares: u8,
    /// Recovery key shares needed to authorise generate-root and rekey (auto seal only).
    #[arg(long = "recovery-threshold", default_value_t = 3)]
    pub recovery_threshold: u8,
    /// Exit 0 when initialised, 2 when not, 1 on error.
    #[arg(long)]
    pub status: bool,
}

#[derive(Args, Debug)]
pub struct RekeyArgs {
    /// A current key share; `-` reads stdin; absent, it is asked for.
    pub key: Option<String>,
    #[arg(long)]
    pub init: bool,
    #[arg(long)]
    pub cancel: bool,
    #[arg(long)]
    pub status: bool,
    /// With -init: require the new shares to be verified; otherwise act on the verification.
    #[arg(long)]
    pub verify: bool,
    #[arg(long)]
    pub nonce: Option<String>,
    #[arg(long = "key-shares", short = 'n', default_value_t = 5)]
    pub key_shares: u8,
    #[arg(long = "key-threshold", short = 't', default_value_t = 3)]
    pub key_threshold: u8,
    /// `barrier` (the unseal key, default) or `recovery` (the recovery key of an auto seal).
    #[arg(long, default_value = "barrier")]
    pub target: String,
}

#[derive(Args, Debug)]
pub struct GenerateRootArgs {
    /// A key share (the recovery key's with an auto seal); `-` reads stdin; absent, it is
    /// asked for.
    pub key: Option<String>,
    #[arg(long)]
    pub init: bool,
    #[arg(long)]
    pub cancel: bool,
    #[arg(long)]
    pub status: bool,
    #[arg(long)]
    pub nonce: Option<String>,
    #[arg(long)]
    pub otp: Option<String>,
    #[arg(long)]
    pub decode: Option<String>,
    #[arg(long = "generate-otp")]
    pub generate_otp: bool,
}

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    Create {
        #[arg(long = "policy")]
        policies: Vec<String>,
        #[arg(long)]
        ttl: Option<String>,
        #[arg(long = "explicit-max-ttl")]
        explicit_max_ttl: Option<String>,
        #[arg(long)]
        period: Option<String>,
        #[arg(long = "use-limit")]
        use_limit: Option<u64>,
        #[arg(long)]
        orphan: bool,
        #[arg(long = "no-default-policy")]
        no_default_policy: bool,
        #[arg(long = "display-name")]
        display_name: Option<String>,
        #[arg(long)]
        role: Option<String>,
        #[arg(long)]
        id: Option<String>,
    },
    Lookup {
        token: Option<String>,
        #[arg(long)]
        accessor: bool,
    },
    Renew {
        token: Option<String>,
        #[arg(long)]
        increment: Option<String>,
    },
    Revoke {
        token: Option<String>,
        #[arg(long = "self")]
        self_: bool,
        #[arg(long)]
        accessor: bool,
        #[arg(long)]
        mode: Option<String>,
    },
    /// The capabilities of TOKEN (default: the client's own) on PATH.
    Capabilities {
        /// `[TOKEN] PATH`.
        #[arg(num_args = 1..=2, required = true)]
        args: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum PolicyCmd {
    Write { name: String, file: String },
    Read { name: String },
    List,
    Delete { name: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_style_flags_parse() {
        let args = normalize_args(
            [
                "coffer",
                "operator",
                "init",
                "-key-shares=5",
                "-key-threshold=3",
                "-format=json",
            ]
            .map(String::from),
        );
        let cli = Cli::try_parse_from(args).unwrap();
        assert_eq!(cli.format.as_deref(), Some("json"));
        match cli.command {
            Some(Command::Operator(Operator::Init(a))) => {
                assert_eq!((a.key_shares, a.key_threshold), (5, 3));
            }
            other => panic!("parsed {other:?}"),
        }
    }

    #[test]
    fn wrap_ttl_is_a_global_flag() {
        let args = normalize_args(["coffer", "read", "-wrap-ttl=5m", "secret/x"].map(String::from));
        let cli = Cli::try_parse_from(args).unwrap();
        assert_eq!(cli.wrap_ttl.as_deref(), Some("5m"));
        let args = normalize_args(["coffer", "unwrap", "hvs.abc"].map(String::from));
        let cli = Cli::try_parse_from(args).unwrap();
        assert!(
            matches!(cli.command, Some(Command::Unwrap { token: Some(ref t) }) if t == "hvs.abc")
        );
    }

    #[test]
    fn vault_global_flags_parse_after_any_subcommand() {
        for argv in [
            &[
                "kv",
                "get",
                "-namespace",
                "ns1",
                "-field",
                "f",
                "-output-curl-string",
                "a",
            ][..],
            &[
                "kv",
                "get",
                "-ns=ns1",
                "-field=f",
                "-output-curl-string=true",
                "a",
            ][..],
        ] {
            let args = normalize_args(
                std::iter::once("coffer")
                    .chain(argv.iter().copied())
                    .map(String::from),
            );
            let cli = Cli::try_parse_from(args).unwrap();
            assert_eq!(cli.namespace.as_deref(), Some("ns1"), "{argv:?}");
            assert_eq!(cli.field.as_deref(), Some("f"), "{argv:?}");
            assert!(cli.output_curl_string, "{argv:?}");
        }
    }

    #[test]
    fn login_takes_a_method_and_fields() {
        let args = normalize_args(
            [
                "coffer",
                "login",
                "-method=userpass",
                "-path=up",
                "username=bob",
                "password=-",
            ]
            .map(String::from),
        );
        match Cli::try_parse_from(args).unwrap().command {
            Some(Command::Login(l)) => {
                assert_eq!(l.method.as_deref(), Some("userpass"));
                assert_eq!(l.path.as_deref(), Some("up"));
                assert_eq!(l.args, vec!["username=bob", "password=-"]);
            }
            other => panic!("parsed {other:?}"),
        }
        let args = normalize_args(
            ["coffer", "auth", "tune", "-max-lease-ttl=1h", "userpass/"].map(String::from),
        );
        assert!(matches!(
            Cli::try_parse_from(args).unwrap().command,
            Some(Command::Auth(crate::cli::mount_args::AuthCmd::Tune { .. }))
        ));
    }
}
