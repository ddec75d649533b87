//! The grammar of `kv`, with Vault 1.16's subcommands and flags. Every subcommand takes
//! `-mount=M KEY` or the path-like `M/KEY`.

use clap::{Args, Subcommand};

/// `-mount`, shared by every `kv` subcommand.
#[derive(Args, Debug, Clone, Default)]
pub struct Mount {
    /// Where the KV engine is mounted; the positional path is then the key under it.
    #[arg(long)]
    pub mount: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum KvCmd {
    /// Write a new version (v2) or replace the value (v1).
    Put {
        path: String,
        pairs: Vec<String>,
        #[command(flatten)]
        mount: Mount,
        /// Check-and-set: the version the write expects to replace (0: only if absent).
        #[arg(long)]
        cas: Option<i64>,
    },
    /// Merge `k=v` pairs into the latest version (v2 only, HTTP PATCH with a JSON merge patch).
    Patch {
        path: String,
        pairs: Vec<String>,
        #[command(flatten)]
        mount: Mount,
        #[arg(long)]
        cas: Option<i64>,
        /// `patch` (HTTP PATCH only) or `rw` (read, merge, write with cas); default: patch.
        #[arg(long)]
        method: Option<String>,
        /// Remove this key (repeatable).
        #[arg(long = "remove-data", action = clap::ArgAction::Append)]
        remove_data: Vec<String>,
    },
    /// Read the latest version, or `-version=N`.
    Get {
        path: String,
        #[command(flatten)]
        mount: Mount,
        #[arg(long)]
        version: Option<u64>,
    },
    /// Soft-delete the latest version, or `-versions=1,2`.
    Delete {
        path: String,
        #[command(flatten)]
        mount: Mount,
        #[arg(long, action = clap::ArgAction::Append)]
        versions: Vec<String>,
    },
    /// Restore soft-deleted versions.
    Undelete {
        path: String,
        #[command(flatten)]
        mount: Mount,
        #[arg(long, action = clap::ArgAction::Append)]
        versions: Vec<String>,
    },
    /// Destroy versions for good.
    Destroy {
        path: String,
        #[command(flatten)]
        mount: Mount,
        #[arg(long, action = clap::ArgAction::Append)]
        versions: Vec<String>,
    },
    /// Write version N's data again as the newest version.
    Rollback {
        path: String,
        #[command(flatten)]
        mount: Mount,
        #[arg(long)]
        version: Option<u64>,
    },
    /// The keys under a path.
    List {
        path: String,
        #[command(flatten)]
        mount: Mount,
    },
    #[command(subcommand)]
    Metadata(KvMetadataCmd),
}

#[derive(Subcommand, Debug)]
pub enum KvMetadataCmd {
    Get {
        path: String,
        #[command(flatten)]
        mount: Mount,
    },
    Delete {
        path: String,
        #[command(flatten)]
        mount: Mount,
    },
    Put {
        path: String,
        #[command(flatten)]
        mount: Mount,
        #[arg(long = "max-versions")]
        max_versions: Option<i64>,
        /// Bare or `=true|false`; unset leaves the key's setting alone.
        #[arg(long = "cas-required", num_args = 0..=1, require_equals = true,
              default_missing_value = "true")]
        cas_required: Option<bool>,
        /// Duration after which a new version is deleted (`0s`: never).
        #[arg(long = "delete-version-after")]
        delete_version_after: Option<String>,
        /// `key=value` (repeatable); replaces the key's custom metadata.
        #[arg(long = "custom-metadata", action = clap::ArgAction::Append)]
        custom_metadata: Vec<String>,
    },
}

/// Vault's `-versions` (repeatable, each comma-separated) as version numbers.
pub fn parse_versions(flags: &[String]) -> Result<Vec<u64>, String> {
    flags
        .iter()
        .flat_map(|f| f.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| v.parse().map_err(|_| format!("invalid version {v:?}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::cli::args::{normalize_args, Cli, Command};
    use crate::cli::kv_args::{parse_versions, KvCmd, KvMetadataCmd};
    use clap::Parser;

    fn kv(args: &[&str]) -> KvCmd {
        let argv = normalize_args(["coffer", "kv"].iter().chain(args).map(|s| s.to_string()));
        match Cli::try_parse_from(&argv).map(|c| c.command) {
            Ok(Some(Command::Kv(k))) => k,
            other => panic!("{argv:?}: {other:?}"),
        }
    }

    #[test]
    fn cas_required_is_unset_bare_or_a_go_boolean() {
        for (flags, want) in [
            (&[][..], None),
            (&["-cas-required"][..], Some(true)),
            (&["-cas-required=false"][..], Some(false)),
            (&["--cas-required=1"][..], Some(true)),
        ] {
            let mut args = vec!["metadata", "put"];
            args.extend_from_slice(flags);
            args.push("secret/x");
            match kv(&args) {
                KvCmd::Metadata(KvMetadataCmd::Put {
                    cas_required, path, ..
                }) => {
                    assert_eq!(
                        (cas_required, path.as_str()),
                        (want, "secret/x"),
                        "{flags:?}"
                    )
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn versions_are_comma_separated_and_repeatable() {
        match kv(&[
            "destroy",
            "-versions=1,2",
            "-versions",
            "5",
            "-mount=secret",
            "k",
        ]) {
            KvCmd::Destroy {
                versions, mount, ..
            } => {
                assert_eq!(parse_versions(&versions), Ok(vec![1, 2, 5]));
                assert_eq!(mount.mount.as_deref(), Some("secret"));
            }
            other => panic!("{other:?}"),
        }
        assert!(parse_versions(&["x".into()]).is_err());
    }
}
