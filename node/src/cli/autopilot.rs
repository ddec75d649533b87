//! `operator raft autopilot state|get-config|set-config`, printed as Vault's CLI prints them
//! (`state` in Vault's "pretty" layout unless `-format=json`).

use super::client::{Client, ClientError};
use super::output::{self, cell, Format};
use clap::Subcommand;
use serde_json::{json, Map, Value};
use std::fmt::Write as _;

const CONFIG_PATH: &str = "sys/storage/raft/autopilot/configuration";

#[derive(Subcommand, Debug)]
pub enum AutopilotCmd {
    /// The cluster's health as autopilot sees it.
    State,
    /// Autopilot's configuration.
    GetConfig,
    /// Change autopilot's configuration (only the flags given).
    SetConfig(SetConfigArgs),
}

#[derive(clap::Args, Debug)]
pub struct SetConfigArgs {
    #[arg(long = "cleanup-dead-servers", num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    pub cleanup_dead_servers: Option<bool>,
    #[arg(long = "last-contact-threshold")]
    pub last_contact_threshold: Option<String>,
    #[arg(long = "dead-server-last-contact-threshold")]
    pub dead_server_last_contact_threshold: Option<String>,
    #[arg(long = "max-trailing-logs")]
    pub max_trailing_logs: Option<u64>,
    #[arg(long = "min-quorum")]
    pub min_quorum: Option<u64>,
    #[arg(long = "server-stabilization-time")]
    pub server_stabilization_time: Option<String>,
    #[arg(long = "disable-upgrade-migration", num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    pub disable_upgrade_migration: Option<bool>,
}

/// The answer's fields, wherever the server put them (`data` or the top level).
fn payload(body: &Value) -> &Value {
    if body["data"].is_object() {
        &body["data"]
    } else {
        body
    }
}

pub fn run(client: &Client, cmd: AutopilotCmd, format: Format) -> Result<i32, ClientError> {
    match cmd {
        AutopilotCmd::State => {
            let reply = client.read("sys/storage/raft/autopilot/state")?;
            let state = payload(&reply.body);
            if format == Format::Json {
                output::json(state);
            } else {
                print!("{}", pretty_state(state));
            }
        }
        AutopilotCmd::GetConfig => {
            let reply = client.read(CONFIG_PATH)?;
            let c = payload(&reply.body);
            if format == Format::Json {
                output::json(c);
                return Ok(0);
            }
            let rows = [
                ("Cleanup Dead Servers", &c["cleanup_dead_servers"]),
                ("Last Contact Threshold", &c["last_contact_threshold"]),
                (
                    "Dead Server Last Contact Threshold",
                    &c["dead_server_last_contact_threshold"],
                ),
                ("Server Stabilization Time", &c["server_stabilization_time"]),
                ("Min Quorum", &c["min_quorum"]),
                ("Max Trailing Logs", &c["max_trailing_logs"]),
                (
                    "Disable Upgrade Migration",
                    c.get("disable_upgrade_migration").unwrap_or(&json!(false)),
                ),
            ];
            let rows: Vec<(String, String)> =
                rows.iter().map(|(k, v)| (k.to_string(), cell(v))).collect();
            output::table(&rows, ("Key", "Value"));
        }
        AutopilotCmd::SetConfig(a) => {
            let mut body = Map::new();
            let mut set = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    body.insert(k.into(), v);
                }
            };
            set(
                "cleanup_dead_servers",
                a.cleanup_dead_servers.map(Value::from),
            );
            set(
                "last_contact_threshold",
                a.last_contact_threshold.map(Value::from),
            );
            set(
                "dead_server_last_contact_threshold",
                a.dead_server_last_contact_threshold.map(Value::from),
            );
            set("max_trailing_logs", a.max_trailing_logs.map(Value::from));
            set("min_quorum", a.min_quorum.map(Value::from));
            set(
                "server_stabilization_time",
                a.server_stabilization_time.map(Value::from),
            );
            set(
                "disable_upgrade_migration",
                a.disable_upgrade_migration.map(Value::from),
            );
            let reply = client.write(CONFIG_PATH, &Value::Object(body))?;
            if !reply.body.is_null() {
                output::secret(format, &reply.body);
            }
        }
    }
    Ok(0)
}

/// Vault's "pretty" autopilot state: the summary, the voters, then each server sorted by id.
fn pretty_state(state: &Value) -> String {
    let mut out = String::new();
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let _ = writeln!(
        out,
        "Healthy:                      {}",
        text(&state["healthy"])
    );
    let _ = writeln!(
        out,
        "Failure Tolerance:            {}",
        text(&state["failure_tolerance"])
    );
    let _ = writeln!(
        out,
        "Leader:                       {}",
        text(&state["leader"])
    );
    let list = |out: &mut String, title: &str, v: &Value| {
        let _ = writeln!(out, "{title}:");
        for item in v.as_array().into_iter().flatten() {
            let _ = writeln!(out, "   {}", text(item));
        }
    };
    list(&mut out, "Voters", &state["voters"]);
    if state["non_voters"]
        .as_array()
        .is_some_and(|n| !n.is_empty())
    {
        list(&mut out, "Non Voters", &state["non_voters"]);
    }
    let _ = writeln!(out, "Servers:");
    if let Some(servers) = state["servers"].as_object() {
        let mut ids: Vec<&String> = servers.keys().collect();
        ids.sort();
        for id in ids {
            let s = &servers[id.as_str()];
            let _ = writeln!(out, "   {id}");
            for (label, key) in [
                ("Name", "name"),
                ("Address", "address"),
                ("Status", "status"),
                ("Node Status", "node_status"),
                ("Healthy", "healthy"),
                ("Last Contact", "last_contact"),
                ("Last Term", "last_term"),
                ("Last Index", "last_index"),
                ("Version", "version"),
                ("Node Type", "node_type"),
            ] {
                let _ = writeln!(out, "      {:<17}{}", format!("{label}:"), text(&s[key]));
            }
        }
    }
    out
}
