//! `status`: the seal status and, from `sys/leader`, the HA rows Vault's `status` prints (HA
//! Cluster, HA Mode, Active Since, Active Node Address, Raft Committed/Applied Index).

use super::client::{Client, ClientError};
use super::output::{self, cell, Format};
use serde_json::Value;

/// The `sys/leader` fields `status -format=json` adds to the seal status, as Vault names them.
const LEADER_FIELDS: [&str; 9] = [
    "ha_enabled",
    "is_self",
    "active_time",
    "leader_address",
    "leader_cluster_address",
    "performance_standby",
    "performance_standby_last_remote_wal",
    "raft_committed_index",
    "raft_applied_index",
];

pub fn run(client: &Client, format: Format) -> Result<i32, ClientError> {
    let reply = client.call("GET", "sys/seal-status", None, &[])?;
    let mut b = reply.body;
    // Sealed, a node cannot name the leader; Vault then shows HA as enabled without detail.
    let leader = match client.call("GET", "sys/leader", None, &[503]) {
        Ok(l) if l.status == 200 => l.body,
        _ => serde_json::json!({ "ha_enabled": b["storage_type"] == "raft" }),
    };
    if let Some(obj) = b.as_object_mut() {
        for k in LEADER_FIELDS {
            if let Some(v) = leader.get(k).filter(|v| !v.is_null()) {
                obj.insert(k.to_string(), v.clone());
            }
        }
    }
    if format == Format::Json {
        output::json(&b);
    } else {
        output::table(&rows(&b), ("Key", "Value"));
    }
    // Vault: exit 2 when sealed, 0 when unsealed.
    Ok(if b["sealed"] == true { 2 } else { 0 })
}

/// The table rows, in Vault's order.
fn rows(b: &Value) -> Vec<(String, String)> {
    let recovery = b["recovery_seal"] == true;
    let prefix = if recovery { "Recovery " } else { "" };
    let mut rows = vec![
        (format!("{prefix}Seal Type"), cell(&b["type"])),
        ("Initialized".into(), cell(&b["initialized"])),
        ("Sealed".into(), cell(&b["sealed"])),
        (format!("Total {prefix}Shares"), cell(&b["n"])),
        ("Threshold".into(), cell(&b["t"])),
    ];
    let sealed = b["sealed"] == true;
    if sealed {
        rows.push((
            "Unseal Progress".into(),
            format!("{}/{}", b["progress"], b["t"]),
        ));
        rows.push(("Unseal Nonce".into(), cell(&b["nonce"])));
    }
    if b["migration"] == true {
        rows.push(("Seal Migration in Progress".into(), "true".into()));
    }
    rows.push(("Version".into(), cell(&b["version"])));
    rows.push(("Build Date".into(), cell(&b["build_date"])));
    rows.push(("Storage Type".into(), cell(&b["storage_type"])));
    let text = |k: &str| b[k].as_str().unwrap_or_default().to_string();
    if !text("cluster_name").is_empty() && !text("cluster_id").is_empty() {
        rows.push(("Cluster Name".into(), text("cluster_name")));
        rows.push(("Cluster ID".into(), text("cluster_id")));
    }
    let ha = b["ha_enabled"] == true;
    rows.push(("HA Enabled".into(), ha.to_string()));
    if ha && !sealed {
        rows.push(("HA Cluster".into(), cell(&b["leader_cluster_address"])));
        let active = b["is_self"] == true;
        rows.push((
            "HA Mode".into(),
            if active { "active" } else { "standby" }.into(),
        ));
        if active && !text("active_time").is_empty() {
            rows.push(("Active Since".into(), text("active_time")));
        }
        if !active {
            let addr = Some(text("leader_address"))
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| "<none>".into());
            rows.push(("Active Node Address".into(), addr));
        }
    }
    for (label, key) in [
        ("Raft Committed Index", "raft_committed_index"),
        ("Raft Applied Index", "raft_applied_index"),
    ] {
        if b[key].as_u64().unwrap_or(0) > 0 {
            rows.push((label.into(), cell(&b[key])));
        }
    }
    rows
}
