//! `operator unseal|seal|rotate|key-status|raft|members|step-down`; `init.rs` has `init`,
//! `ceremony.rs` has `rekey` and `generate-root`.

use super::args::{Operator, RaftCmd, SnapshotCmd};
use super::client::{Client, ClientError};
use super::output::{self, cell, Format};
use serde_json::{json, Value};

pub fn run(client: &Client, op: Operator, format: Format) -> Result<i32, ClientError> {
    match op {
        Operator::Init(a) => super::init::run(client, a, format),
        Operator::Unseal {
            key,
            reset,
            migrate,
        } => {
            let body = if reset {
                json!({ "reset": true })
            } else {
                let key =
                    key.ok_or_else(|| ClientError::Usage("an unseal key is required".into()))?;
                json!({ "key": key, "migrate": migrate })
            };
            client.write("sys/unseal", &body)?;
            super::status::run(client, format).map(|_| 0)
        }
        Operator::Seal => {
            client.write("sys/seal", &json!({}))?;
            println!("Success! Coffer is sealed.");
            Ok(0)
        }
        Operator::Rotate => {
            client.write("sys/rotate", &json!({}))?;
            let status = client.read("sys/key-status")?;
            if format == Format::Json {
                output::json(&status.body["data"]);
            } else {
                println!("Success! Rotated key\n");
                let d = &status.body["data"];
                output::table(
                    &[
                        ("Key Term".into(), cell(&d["term"])),
                        ("Install Time".into(), cell(&d["install_time"])),
                    ],
                    ("Key", "Value"),
                );
            }
            Ok(0)
        }
        Operator::KeyStatus => {
            let status = client.read("sys/key-status")?;
            let d = &status.body["data"];
            if format == Format::Json {
                output::json(d);
            } else {
                output::table(
                    &[
                        ("Key Term".into(), cell(&d["term"])),
                        ("Install Time".into(), cell(&d["install_time"])),
                        ("Encryption Count".into(), cell(&d["encryptions"])),
                    ],
                    ("Key", "Value"),
                );
            }
            Ok(0)
        }
        Operator::Rekey(a) => super::ceremony::rekey(client, a, format),
        Operator::Raft(cmd) => raft(client, cmd, format),
        Operator::Members => {
            let reply = client.read("sys/ha-status")?;
            if format == Format::Json {
                output::json(&reply.body["data"]);
                return Ok(0);
            }
            let nodes = reply.body["data"]["nodes"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let rows: Vec<(String, String)> = nodes
                .iter()
                .map(|n| {
                    let mode = if n["active_node"] == true {
                        "active"
                    } else {
                        "standby"
                    };
                    (
                        cell(&n["hostname"]),
                        format!(
                            "{:<28}{:<28}{mode}",
                            cell(&n["api_address"]),
                            cell(&n["cluster_address"])
                        ),
                    )
                })
                .collect();
            output::table(
                &rows,
                ("Host Name", "API Address / Cluster Address / HA Mode"),
            );
            Ok(0)
        }
        Operator::StepDown => {
            client.write("sys/step-down", &json!({}))?;
            println!("Success! Stepped down: {}", client.address());
            Ok(0)
        }
        Operator::GenerateRoot(a) => super::ceremony::generate_root(client, a, format),
    }
}

fn raft(client: &Client, cmd: RaftCmd, format: Format) -> Result<i32, ClientError> {
    match cmd {
        RaftCmd::ListPeers => {
            let reply = client.read("sys/storage/raft/configuration")?;
            if format == Format::Json {
                output::json(&reply.body);
                return Ok(0);
            }
            let servers = reply.body["data"]["config"]["servers"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            // Vault's `Node  Address  State  Voter` table.
            let mut rows = vec![["Node", "Address", "State", "Voter"]
                .map(String::from)
                .to_vec()];
            for s in &servers {
                let state = if s["leader"] == true {
                    "leader"
                } else {
                    "follower"
                };
                rows.push(vec![
                    cell(&s["node_id"]),
                    cell(&s["address"]),
                    state.to_string(),
                    (s["voter"] == true).to_string(),
                ]);
            }
            print!("{}", output::columns(&rows));
        }
        RaftCmd::Autopilot(cmd) => return super::autopilot::run(client, cmd, format),
        RaftCmd::RemovePeer { server_id } => {
            client.write(
                "sys/storage/raft/remove-peer",
                &json!({ "server_id": server_id }),
            )?;
            println!("Peer removed successfully!");
        }
        RaftCmd::Join {
            leader_api_addr,
            leader_ca_cert,
            non_voter,
        } => {
            let ca = match leader_ca_cert {
                Some(path) => Some(
                    std::fs::read_to_string(&path)
                        .map_err(|e| ClientError::Usage(format!("reading {path}: {e}")))?,
                ),
                None => None,
            };
            let body = json!({ "leader_api_addr": leader_api_addr, "leader_ca_cert": ca, "non_voter": non_voter });
            let reply = client.write("sys/storage/raft/join", &body)?;
            if format == Format::Json {
                output::json(&reply.body);
            } else {
                output::table(
                    &[("Joined".into(), cell(&reply.body["joined"]))],
                    ("Key", "Value"),
                );
            }
        }
        RaftCmd::Snapshot(SnapshotCmd::Save { file }) => {
            let progress = spinner("saving a snapshot of the cluster");
            let reply = client.read("sys/storage/raft/snapshot")?;
            let Value::String(archive) = reply.body else {
                return Err(ClientError::Usage(
                    "the server did not answer with a snapshot".into(),
                ));
            };
            let size = archive.len();
            std::fs::write(&file, archive)
                .map_err(|e| ClientError::Usage(format!("writing {file}: {e}")))?;
            progress.finish_with_message(format!("saved {size} bytes to {file}"));
        }
        RaftCmd::Snapshot(SnapshotCmd::Restore { file, force }) => {
            let archive = std::fs::read(&file)
                .map_err(|e| ClientError::Usage(format!("reading {file}: {e}")))?;
            let path = if force {
                "sys/storage/raft/snapshot-force"
            } else {
                "sys/storage/raft/snapshot"
            };
            let progress = spinner(&format!("restoring {} bytes from {file}", archive.len()));
            let reply = client.call_bytes("POST", path, archive, &[])?;
            progress.finish_with_message(format!("restored the snapshot in {file}"));
            for w in reply.body["warnings"].as_array().into_iter().flatten() {
                eprintln!("WARNING! {}", w.as_str().unwrap_or_default());
            }
        }
    }
    Ok(0)
}

/// A spinner on stderr for a long call (hidden when stderr is not a terminal).
fn spinner(message: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(message.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}
