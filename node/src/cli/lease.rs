//! `lease renew|revoke|lookup`, with Vault's flags and messages.

use super::client::{Client, ClientError};
use super::Out;
use clap::Subcommand;
use serde_json::json;

#[derive(Subcommand, Debug)]
pub enum LeaseCmd {
    /// Extend a lease by `-increment` (default: the lease's own TTL).
    Renew {
        lease_id: String,
        #[arg(long)]
        increment: Option<String>,
    },
    /// Revoke a lease, or with `-prefix` every lease under a prefix.
    Revoke {
        lease_id: String,
        #[arg(long)]
        prefix: bool,
        /// With -prefix: remove the leases even if revoking fails at the backend.
        #[arg(long)]
        force: bool,
        /// Wait for the revocation to finish.
        #[arg(long)]
        sync: bool,
    },
    /// A lease's issue time, expiry and TTL.
    Lookup { lease_id: String },
}

pub fn run(client: &Client, cmd: LeaseCmd, out: &Out) -> Result<i32, ClientError> {
    match cmd {
        LeaseCmd::Renew {
            lease_id,
            increment,
        } => {
            let mut body = json!({ "lease_id": lease_id });
            if let Some(i) = increment {
                body["increment"] = json!(i);
            }
            let reply = client.write("sys/leases/renew", &body)?;
            Ok(out.secret(&reply.body))
        }
        LeaseCmd::Revoke {
            lease_id,
            prefix,
            force,
            sync,
        } => {
            let id = lease_id.trim_matches('/');
            if force && !prefix {
                return Err(ClientError::Usage(
                    "Specifying -force requires also specifying -prefix".into(),
                ));
            }
            if force {
                eprintln!(
                    "Warning! Force-removing leases can cause Vault to become out of sync with \
                     secret engines!"
                );
                client.write(&format!("sys/leases/revoke-force/{id}"), &json!({}))?;
                println!("Success! Force revoked any leases with prefix: {id}");
            } else if prefix {
                client.write(&format!("sys/leases/revoke-prefix/{id}"), &json!({}))?;
                println!("Success! Revoked any leases with prefix: {id}");
            } else {
                client.write(
                    "sys/leases/revoke",
                    &json!({ "lease_id": id, "sync": sync }),
                )?;
                if sync {
                    println!("Success! Revoked lease: {id}");
                } else {
                    println!("All revocation operations queued successfully!");
                }
            }
            Ok(0)
        }
        LeaseCmd::Lookup { lease_id } => {
            let reply = client.write("sys/leases/lookup", &json!({ "lease_id": lease_id }))?;
            Ok(out.secret(&reply.body))
        }
    }
}
