//! The token part of the workload: a root-created token with `num_uses` [`NUM_USES`], used by
//! every client (a KV read it is allowed, [`USE_PATH`]) through random nodes, sometimes revoked — by the token
//! endpoint or as a lease (`sys/leases/revoke`) — and used a little more after that; once it has
//! had a few more attempts than uses, a fresh token takes its place.

use super::client::now_ms;
use super::side::{call, LiveToken, Side, USE_PATH, USE_POLICY};
use super::EventLog;
use crate::history::{TokenOp, TokenOpKind, TokenOutcome};
use crate::{ClientHost, SimNode};
use madsim::rand::Rng;
use serde_json::json;

/// Uses each token is created with.
pub const NUM_USES: u64 = 3;

/// Attempts (uses and revocations) a token gets before a fresh one replaces it.
const ATTEMPTS: u64 = NUM_USES + 3;

/// One token call from `client` through `via`.
pub async fn step(
    side: &Side,
    host: &ClientHost,
    via: &SimNode,
    client: u64,
    root: &str,
    log: &EventLog,
) {
    let live = side.state.borrow().live.clone();
    let Some(live) = live.filter(|t| t.attempts < ATTEMPTS) else {
        return create(side, host, via, client, root, log).await;
    };
    if let Some(t) = side.state.borrow_mut().live.as_mut() {
        t.attempts += 1;
    }
    let revoke = madsim::rand::thread_rng().gen_range(0..8) == 0;
    let invoked_at = now_ms();
    let mut how = "";
    let (kind, reply) = if revoke {
        let by_lease = madsim::rand::thread_rng().gen_bool(0.5);
        how = if by_lease {
            " (as a lease)"
        } else {
            " (by token)"
        };
        let reply = if by_lease {
            let lease = json!({"lease_id": format!("auth/token/create/{}", live.accessor)});
            call(host, via, "PUT", "sys/leases/revoke", root, Some(lease)).await
        } else {
            let body = json!({"token": live.id});
            call(host, via, "POST", "auth/token/revoke", root, Some(body)).await
        };
        (TokenOpKind::Revoke, reply)
    } else {
        let reply = call(host, via, "GET", USE_PATH, &live.id, None).await;
        (TokenOpKind::Use, reply)
    };
    let outcome = match reply.status {
        200..=299 => TokenOutcome::Ok,
        403 => TokenOutcome::Denied,
        _ => TokenOutcome::Unknown,
    };
    let completed_at = (outcome != TokenOutcome::Unknown).then(now_ms);
    log.record(format!(
        "client {client} -> {}: token {} {kind:?}{how} <- {} {outcome:?}",
        via.name, live.index, reply.status
    ));
    side.state.borrow_mut().tokens.ops.push(TokenOp {
        client,
        token: live.index,
        kind,
        invoked_at,
        completed_at,
        outcome,
    });
}

async fn create(
    side: &Side,
    host: &ClientHost,
    via: &SimNode,
    client: u64,
    root: &str,
    log: &EventLog,
) {
    let body = json!({"num_uses": NUM_USES, "policies": [USE_POLICY]});
    let reply = call(host, via, "POST", "auth/token/create", root, Some(body)).await;
    let auth = &reply.body["auth"];
    let (Some(id), Some(accessor)) = (auth["client_token"].as_str(), auth["accessor"].as_str())
    else {
        log.record(format!(
            "client {client} -> {}: token create <- {}",
            via.name, reply.status
        ));
        return;
    };
    let mut state = side.state.borrow_mut();
    let index = state.tokens.limits.len() as u64;
    state.tokens.limits.insert(index, NUM_USES);
    state.live = Some(LiveToken {
        index,
        id: id.to_string(),
        accessor: accessor.to_string(),
        attempts: 0,
    });
    log.record(format!(
        "client {client} -> {}: token {index} created",
        via.name
    ));
}
