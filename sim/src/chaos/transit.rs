//! The transit part of the workload: clients encrypt unique plaintexts with one key through
//! random nodes and sometimes rotate it; after healing, every ciphertext whose encryption was
//! acknowledged is decrypted through the active node and must give its plaintext back.

use super::side::{call, Side, TRANSIT_KEY, TRANSIT_MOUNT};
use super::{Cluster, EventLog};
use crate::check::Decrypted;
use crate::{ClientHost, SimNode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;
use std::time::Duration;

/// Encrypt `plaintext` (unique in the run) from `client` through `via`.
pub async fn encrypt(
    side: &Side,
    host: &ClientHost,
    via: &SimNode,
    client: u64,
    root: &str,
    plaintext: String,
    log: &EventLog,
) {
    let path = format!("{TRANSIT_MOUNT}/encrypt/{TRANSIT_KEY}");
    let body = json!({"plaintext": STANDARD.encode(&plaintext)});
    let reply = call(host, via, "POST", &path, root, Some(body)).await;
    let ciphertext = reply.body["data"]["ciphertext"].as_str();
    log.record(format!(
        "client {client} -> {}: encrypt {plaintext:?} <- {} {}",
        via.name,
        reply.status,
        ciphertext.unwrap_or("")
    ));
    if let (2, Some(c)) = (reply.status / 100, ciphertext) {
        side.state
            .borrow_mut()
            .encrypted
            .push((plaintext, c.to_string()));
    }
}

/// Rotate the key from `client` through `via`.
pub async fn rotate(host: &ClientHost, via: &SimNode, client: u64, root: &str, log: &EventLog) {
    let path = format!("{TRANSIT_MOUNT}/keys/{TRANSIT_KEY}/rotate");
    let reply = call(host, via, "POST", &path, root, None).await;
    log.record(format!(
        "client {client} -> {}: rotate <- {}",
        via.name, reply.status
    ));
}

/// How many ciphertexts one decrypt request carries.
const BATCH: usize = 50;

/// After healing: decrypt every acknowledged ciphertext through the active node.
pub async fn decrypt_all(side: &Side, cluster: &Cluster) -> Result<Vec<Decrypted>, String> {
    let encrypted = side.state.borrow().encrypted.clone();
    let path = format!("{TRANSIT_MOUNT}/decrypt/{TRANSIT_KEY}");
    let mut out = Vec::new();
    for chunk in encrypted.chunks(BATCH) {
        let items: Vec<_> = chunk
            .iter()
            .map(|(_, c)| json!({"ciphertext": c}))
            .collect();
        let body = json!({"batch_input": items});
        let mut answer = None;
        for _ in 0..60 {
            if let Some(active) = cluster.active() {
                let r = active
                    .call("POST", &path, Some(&cluster.root), Some(body.clone()))
                    .await;
                if r.status / 100 == 2 || r.status / 100 == 4 {
                    answer = Some(r);
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let r = answer.ok_or("the healed cluster never answered a transit decrypt")?;
        let results = r.body["data"]["batch_results"].as_array().cloned();
        for (i, (plaintext, ciphertext)) in chunk.iter().enumerate() {
            let item = results.as_ref().and_then(|all| all.get(i));
            let decoded = item
                .and_then(|it| it["plaintext"].as_str())
                .and_then(|p| STANDARD.decode(p).ok())
                .and_then(|p| String::from_utf8(p).ok());
            let answer = decoded.ok_or_else(|| {
                let why = item.map_or(&r.body, |it| &it["error"]);
                format!("{}: {why}", r.status)
            });
            out.push(Decrypted {
                plaintext: plaintext.clone(),
                ciphertext: ciphertext.clone(),
                answer,
            });
        }
    }
    Ok(out)
}
