//! `audit enable TYPE [-path=P] [-description=D] [key=value options...]`, `audit list`,
//! `audit disable PATH`: Vault's audit device commands over `sys/audit`.

use super::client::{Client, ClientError};
use super::output::{self, cell, Format};
use clap::Subcommand;
use serde_json::{json, Map, Value};

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Enable an audit device; trailing key=value pairs are its options (file_path=...).
    Enable {
        kind: String,
        options: Vec<String>,
        #[arg(long)]
        path: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        local: bool,
    },
    /// Disable the audit device at PATH.
    Disable { path: String },
    /// List the enabled audit devices.
    List {
        #[arg(long)]
        detailed: bool,
    },
}

pub fn run(client: &Client, cmd: AuditCmd, format: Format) -> Result<i32, ClientError> {
    match cmd {
        AuditCmd::Enable {
            kind,
            options,
            path,
            description,
            local,
        } => {
            let mut opts = Map::new();
            for pair in options {
                let Some((k, v)) = pair.split_once('=') else {
                    eprintln!("Invalid option {pair:?}: options are key=value");
                    return Ok(1);
                };
                opts.insert(k.to_string(), Value::String(v.to_string()));
            }
            let path = path.unwrap_or_else(|| kind.clone());
            let path = path.trim_matches('/');
            let body = json!({
                "type": kind,
                "description": description.unwrap_or_default(),
                "options": opts,
                "local": local,
            });
            client.write(&format!("sys/audit/{path}"), &body)?;
            println!("Success! Enabled the {kind} audit device at: {path}/");
        }
        AuditCmd::Disable { path } => {
            let path = path.trim_matches('/');
            client.delete(&format!("sys/audit/{path}"))?;
            println!("Success! Disabled audit device (if it was enabled) at: {path}/");
        }
        AuditCmd::List { detailed } => {
            let body = client.read("sys/audit")?.body;
            if format == Format::Json {
                output::json(&body["data"]);
                return Ok(0);
            }
            let devices = body["data"].as_object().cloned().unwrap_or_default();
            if devices.is_empty() {
                println!("No audit devices are enabled.");
                return Ok(2);
            }
            let rows: Vec<(String, String)> = devices
                .iter()
                .map(|(path, d)| {
                    let mut row = format!("{:<8}{}", cell(&d["type"]), cell(&d["description"]));
                    if detailed {
                        row.push_str(&format!("    {}", cell(&d["options"])));
                    }
                    (path.clone(), row)
                })
                .collect();
            output::table(&rows, ("Path", "Type    Description"));
        }
    }
    Ok(0)
}
