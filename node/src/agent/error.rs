//! Why the agent could not do something. None of these carries a token or a secret value.

use crate::plugin_client::ClientError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The config file is unreadable or not Vault Agent's shape.
    #[error("config: {0}")]
    Config(String),
    /// A template does not parse, or names a function the agent does not have.
    #[error("template {name}: {message}")]
    Template { name: String, message: String },
    /// A template rendered, but a key it reads is missing and `error_on_missing_key` is set.
    #[error("template {name}: missing key (error_on_missing_key is set)")]
    MissingKey { name: String },
    /// Coffer refused or could not answer a call.
    #[error("{path}: {source}")]
    Coffer { path: String, source: ClientError },
    /// A rendered file or sink could not be written.
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A template's `command` did not run or exited non-zero.
    #[error("command {command:?} of template {name}: {message}")]
    Command {
        name: String,
        command: String,
        message: String,
    },
}
