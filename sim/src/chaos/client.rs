//! One workload client on its own simulated host: picks a key, an operation and a node (any
//! node: standbys forward), sends it over the simulated network to the node's HTTP listener with
//! a deadline, and records invocation and answer in the history. About one call in four goes to
//! the rest of the workload instead ([`super::side`]: tokens, the policy, transit, leases).

use super::cluster::MOUNT;
use super::keys::KeyPool;
use super::side::Side;
use super::{leases, policy, tokens, transit};
use super::{Cluster, EventLog};
use crate::history::{History, OpKind, Outcome};
use crate::ClientHost;
use madsim::rand::Rng;
use serde_json::json;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

/// How long a client waits for one answer before it counts the call as unknown.
const CALL_DEADLINE: Duration = Duration::from_secs(5);

/// Simulated milliseconds since the simulation started.
pub fn now_ms() -> u64 {
    madsim::time::Instant::now()
        .duration_since(start())
        .as_millis() as u64
}

fn start() -> madsim::time::Instant {
    thread_local! {
        static START: madsim::time::Instant = madsim::time::Instant::now();
    }
    START.with(|s| *s)
}

/// The start of every value the workload writes in seed `seed`.
pub fn value_marker(seed: u64) -> String {
    format!("plain-s{seed}-")
}

/// One client; at most one call in flight.
pub struct Client<'a> {
    id: u64,
    host: ClientHost,
    seed: u64,
    cluster: &'a Cluster,
    keys: KeyPool,
    history: Rc<RefCell<History>>,
    log: EventLog,
    stop: Rc<Cell<bool>>,
    /// The last KV version this client saw, to aim its CAS writes.
    last_version: u64,
    /// Tokens, policy and transit.
    side: Side,
}

impl<'a> Client<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: u64,
        seed: u64,
        cluster: &'a Cluster,
        keys: &KeyPool,
        history: &Rc<RefCell<History>>,
        log: &EventLog,
        stop: &Rc<Cell<bool>>,
        side: &Side,
    ) -> Self {
        let host = ClientHost::start(&format!("client-{id}"), [10, 0, 2, id as u8 + 1].into());
        Client {
            id,
            host,
            seed,
            cluster,
            keys: keys.clone(),
            history: history.clone(),
            log: log.clone(),
            stop: stop.clone(),
            last_version: 0,
            side: side.clone(),
        }
    }

    /// Send calls until told to stop.
    pub async fn run(mut self) {
        let _ = start();
        let mut n = 0u64;
        while !self.stop.get() {
            let answered = self.one(n).await;
            n += 1;
            // After no answer (a node down, no active node) back off a little, as a real
            // client would, rather than pile up calls nobody can decide.
            let max = if answered { 40 } else { 300 };
            let pause = madsim::rand::thread_rng().gen_range(0..max);
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    }

    /// One call; false when its outcome is unknown.
    async fn one(&mut self, n: u64) -> bool {
        let (slot, roll, node, cas_delta, aside) = {
            let mut rng = madsim::rand::thread_rng();
            (
                rng.gen_range(0..usize::MAX),
                rng.gen_range(0..100u32),
                rng.gen_range(0..usize::MAX),
                rng.gen_range(0..2u64),
                rng.gen_range(0..100u32),
            )
        };
        let (side, host, log, root) = (&self.side, &self.host, &self.log, &self.cluster.root);
        let members = self.cluster.members();
        let via = &members[node % members.len()];
        match aside {
            0..=7 => tokens::step(side, host, via, self.id, root, log).await,
            8..=13 => policy::read(side, host, via, self.id, log).await,
            14..=18 => {
                let plaintext = format!("transit-s{}-c{}-n{n}", self.seed, self.id);
                transit::encrypt(side, host, via, self.id, root, plaintext, log).await;
            }
            19 => transit::rotate(host, via, self.id, root, log).await,
            20..=26 => leases::step(side, host, via, self.id, root, n, log).await,
            _ => {}
        }
        if aside < 27 {
            return true;
        }
        let key = self.keys.take(slot);
        let value = format!("{}c{}-n{n}", value_marker(self.seed), self.id);
        let kind = match roll {
            0..=39 => OpKind::Write(value),
            40..=74 => OpKind::Read,
            75..=84 => OpKind::Delete,
            _ => OpKind::Cas {
                expected_version: self.last_version + cas_delta,
                value,
            },
        };
        let id = self
            .history
            .borrow_mut()
            .invoke(self.id, key.clone(), kind.clone(), now_ms());
        self.log
            .record(format!("client {} -> {}: {kind} {key}", self.id, via.name));
        let path = format!("{MOUNT}/data/{key}");
        let root = Some(self.cluster.root.as_str());
        let host = &self.host;
        let call = async {
            match &kind {
                OpKind::Write(v) => {
                    let body = json!({"data": {"v": v}});
                    host.call(via, "POST", &path, root, Some(body)).await
                }
                OpKind::Cas {
                    expected_version,
                    value,
                } => {
                    let body = json!({"options": {"cas": expected_version}, "data": {"v": value}});
                    host.call(via, "POST", &path, root, Some(body)).await
                }
                OpKind::Delete => host.call(via, "DELETE", &path, root, None).await,
                OpKind::Read => host.call(via, "GET", &path, root, None).await,
            }
        };
        let reply = tokio::time::timeout(CALL_DEADLINE, call).await.ok();
        let outcome = match &reply {
            None => Outcome::Unknown,
            Some(r) => outcome(&kind, r.status, &r.body),
        };
        let mut version = None;
        if let Some(r) = &reply {
            version = r.body["data"]["version"]
                .as_u64()
                .or_else(|| r.body["data"]["metadata"]["version"].as_u64());
            if let Some(v) = version {
                self.last_version = v;
            }
        }
        let status = reply.as_ref().map_or(0, |r| r.status);
        let version = version
            .map(|v| format!(" (version {v})"))
            .unwrap_or_default();
        self.log.record(format!(
            "client {} <- {status}: {outcome}{version} {key}",
            self.id
        ));
        let answered = outcome != Outcome::Unknown;
        self.history.borrow_mut().complete(id, outcome, now_ms());
        answered
    }
}

/// Whether a 400 is KV v2's refusal of a CAS whose version did not match.
fn cas_mismatch(body: &serde_json::Value) -> bool {
    body["errors"].as_array().is_some_and(|errors| {
        errors.iter().any(|e| {
            e.as_str()
                .is_some_and(|e| e.contains("check-and-set parameter did not match"))
        })
    })
}

/// What an answer says about the operation. Only a 2xx is an acknowledgement, and only a 4xx
/// (the active node refused it) proves it was not applied (a CAS mismatch also says the version
/// differed); anything else — a 5xx, a dropped
/// connection, a forwarding failure — may have been applied.
fn outcome(kind: &OpKind, status: u16, body: &serde_json::Value) -> Outcome {
    match (kind, status) {
        (OpKind::Read, 200) => {
            Outcome::ReadValue(body["data"]["data"]["v"].as_str().map(str::to_string))
        }
        (OpKind::Read, 404) => Outcome::ReadValue(None),
        (OpKind::Read, _) => Outcome::Unknown,
        (OpKind::Delete, 200..=299) => Outcome::Ok(None),
        (_, 200..=299) => Outcome::Ok(body["data"]["version"].as_u64()),
        (OpKind::Cas { .. }, 400) if cas_mismatch(body) => Outcome::CasMismatch,
        (_, 400..=499) => Outcome::Failed,
        _ => Outcome::Unknown,
    }
}
