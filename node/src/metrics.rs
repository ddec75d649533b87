//! Request and node metrics for `sys/metrics`: Prometheus text (`?format=prometheus`) or Vault's
//! JSON shape (`Gauges`, `Counters`, `Samples`). Counters are plain atomics and small maps; the
//! request path records one observation per request.

use parking_lot::Mutex;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Latency bucket bounds, seconds.
const BUCKETS_SECS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// A latency histogram with fixed buckets.
#[derive(Debug, Clone, Default)]
struct Histogram {
    counts: [u64; BUCKETS_SECS.len()],
    count: u64,
    sum_secs: f64,
}

impl Histogram {
    fn observe(&mut self, d: Duration) {
        let secs = d.as_secs_f64();
        for (i, bound) in BUCKETS_SECS.iter().enumerate() {
            if secs <= *bound {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum_secs += secs;
    }
}

/// One node's metrics.
#[derive(Default)]
pub struct Metrics {
    /// (operation, mount, status class) → latency histogram.
    requests: Mutex<BTreeMap<(String, String, String), Histogram>>,
    forwarded: AtomicU64,
    /// Proposal → committed and applied locally, per storage write.
    raft_commit: Mutex<Histogram>,
    /// Applying one batch of committed entries to the state machine.
    raft_apply: Mutex<Histogram>,
    /// Times this node took over as the active node.
    takeovers: AtomicU64,
}

/// Values read from the node at scrape time.
pub struct NodeGauges {
    pub sealed: bool,
    pub active: bool,
    pub raft_term: u64,
    pub raft_last_log_index: u64,
    pub raft_committed_index: u64,
    pub raft_applied_index: u64,
    /// The last entry covered by this node's latest snapshot, and the last one purged from its
    /// log (log compaction).
    pub raft_snapshot_index: u64,
    pub raft_purged_index: u64,
    /// New leaders this node has seen (a counter kept by the Raft instance).
    pub raft_leader_changes: u64,
    /// Snapshots this node installed from a leader (it had fallen behind the leader's log).
    pub raft_snapshots_installed: u64,
}

impl Metrics {
    /// Record one finished request.
    pub fn observe_request(&self, operation: &str, mount: &str, status: u16, took: Duration) {
        let class = format!("{}xx", status / 100);
        self.requests
            .lock()
            .entry((operation.to_string(), mount.to_string(), class))
            .or_default()
            .observe(took);
    }

    /// Record one storage write's time through Raft (proposed, committed, applied).
    pub fn observe_commit(&self, took: Duration) {
        self.raft_commit.lock().observe(took);
    }

    /// Record how long applying one batch of committed entries took.
    pub fn observe_apply(&self, took: Duration) {
        self.raft_apply.lock().observe(took);
    }

    /// Count a takeover: this node became the active node in a new term.
    pub fn observe_takeover(&self) {
        self.takeovers.fetch_add(1, Ordering::Relaxed);
    }

    /// Count a request relayed to the active node.
    pub fn observe_forwarded(&self) {
        self.forwarded.fetch_add(1, Ordering::Relaxed);
    }

    fn gauges(g: &NodeGauges) -> Vec<(&'static str, f64)> {
        vec![
            ("coffer_core_sealed", f64::from(u8::from(g.sealed))),
            ("coffer_core_active", f64::from(u8::from(g.active))),
            ("coffer_raft_term", g.raft_term as f64),
            ("coffer_raft_last_log_index", g.raft_last_log_index as f64),
            ("coffer_raft_committed_index", g.raft_committed_index as f64),
            ("coffer_raft_applied_index", g.raft_applied_index as f64),
            ("coffer_raft_snapshot_index", g.raft_snapshot_index as f64),
            ("coffer_raft_purged_index", g.raft_purged_index as f64),
        ]
    }

    /// The counters, by name.
    fn counters(&self, g: &NodeGauges) -> [(&'static str, u64); 4] {
        [
            (
                "coffer_forwarded_requests_total",
                self.forwarded.load(Ordering::Relaxed),
            ),
            (
                "coffer_core_takeovers_total",
                self.takeovers.load(Ordering::Relaxed),
            ),
            ("coffer_raft_leader_changes_total", g.raft_leader_changes),
            (
                "coffer_raft_snapshots_installed_total",
                g.raft_snapshots_installed,
            ),
        ]
    }

    /// Prometheus text exposition format.
    pub fn prometheus(&self, g: &NodeGauges) -> String {
        let mut out = String::new();
        for (name, value) in Self::gauges(g) {
            let _ = writeln!(out, "# TYPE {name} gauge\n{name} {value}");
        }
        for (name, value) in self.counters(g) {
            let _ = writeln!(out, "# TYPE {name} counter\n{name} {value}");
        }
        for (name, h) in self.raft_histograms() {
            write_histogram(&mut out, name, "", &h);
        }
        let name = "coffer_http_request_duration_seconds";
        let _ = writeln!(out, "# TYPE {name} histogram");
        for ((op, mount, class), h) in self.requests.lock().iter() {
            let labels = format!(
                "operation=\"{op}\",mount=\"{}\",status=\"{class}\"",
                escape(mount)
            );
            for (bound, count) in BUCKETS_SECS.iter().zip(h.counts) {
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {count}");
            }
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "{name}_sum{{{labels}}} {}", h.sum_secs);
            let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.count);
        }
        out
    }

    /// Vault's JSON shape of `sys/metrics`.
    pub fn json(&self, g: &NodeGauges, timestamp: &str) -> Value {
        let gauges: Vec<Value> = Self::gauges(g)
            .into_iter()
            .map(|(name, value)| json!({ "Name": name, "Value": value, "Labels": {} }))
            .collect();
        let mut counters: Vec<Value> = self
            .counters(g)
            .into_iter()
            .map(|(name, count)| json!({ "Name": name, "Count": count, "Labels": {} }))
            .collect();
        let mut samples: Vec<Value> = self
            .raft_histograms()
            .into_iter()
            .map(|(name, h)| sample(name, &h, json!({})))
            .collect();
        for ((op, mount, class), h) in self.requests.lock().iter() {
            let labels = json!({ "operation": op, "mount": mount, "status": class });
            counters.push(
                json!({ "Name": "coffer_http_requests_total", "Count": h.count, "Labels": labels }),
            );
            samples.push(sample("coffer_http_request_duration_seconds", h, labels));
        }
        json!({ "Timestamp": timestamp, "Gauges": gauges, "Counters": counters, "Samples": samples, "Points": [] })
    }
}

impl Metrics {
    /// The unlabelled Raft histograms, copied out.
    fn raft_histograms(&self) -> [(&'static str, Histogram); 2] {
        [
            (
                "coffer_raft_commit_seconds",
                self.raft_commit.lock().clone(),
            ),
            ("coffer_raft_apply_seconds", self.raft_apply.lock().clone()),
        ]
    }
}

/// One histogram as a sample of Vault's JSON metrics.
fn sample(name: &str, h: &Histogram, labels: Value) -> Value {
    let mean = if h.count == 0 {
        0.0
    } else {
        h.sum_secs / h.count as f64
    };
    json!({ "Name": name, "Count": h.count, "Sum": h.sum_secs, "Mean": mean, "Labels": labels })
}

/// One unlabelled histogram in Prometheus text.
fn write_histogram(out: &mut String, name: &str, labels: &str, h: &Histogram) {
    let _ = writeln!(out, "# TYPE {name} histogram");
    let sep = if labels.is_empty() { "" } else { "," };
    for (bound, count) in BUCKETS_SECS.iter().zip(h.counts) {
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}");
    }
    let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "{name}_sum{{{labels}}} {}", h.sum_secs);
    let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.count);
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gauges() -> NodeGauges {
        NodeGauges {
            sealed: false,
            active: true,
            raft_term: 3,
            raft_last_log_index: 10,
            raft_committed_index: 10,
            raft_applied_index: 9,
            raft_snapshot_index: 0,
            raft_purged_index: 0,
            raft_leader_changes: 4,
            raft_snapshots_installed: 2,
        }
    }

    #[test]
    fn prometheus_text_has_histogram_and_gauges() {
        let m = Metrics::default();
        m.observe_request("read", "secret/", 200, Duration::from_millis(3));
        m.observe_request("read", "secret/", 200, Duration::from_millis(30));
        m.observe_forwarded();
        m.observe_commit(Duration::from_millis(2));
        m.observe_takeover();
        let text = m.prometheus(&gauges());
        assert!(text.contains("coffer_raft_applied_index 9"));
        assert!(text.contains("coffer_raft_commit_seconds_count{} 1"));
        assert!(text.contains("coffer_raft_commit_seconds_bucket{le=\"0.0025\"} 1"));
        assert!(text.contains("coffer_core_takeovers_total 1"));
        assert!(text.contains("coffer_raft_leader_changes_total 4"));
        assert!(text.contains("coffer_raft_snapshots_installed_total 2"));
        assert!(text.contains("coffer_raft_committed_index 10"));
        assert!(text.contains("coffer_raft_apply_seconds_count{} 0"));
        assert!(text.contains("coffer_forwarded_requests_total 1"));
        let labels = "operation=\"read\",mount=\"secret/\",status=\"2xx\"";
        assert!(text.contains(&format!(
            "coffer_http_request_duration_seconds_bucket{{{labels},le=\"0.005\"}} 1"
        )));
        assert!(text.contains(&format!(
            "coffer_http_request_duration_seconds_bucket{{{labels},le=\"0.05\"}} 2"
        )));
        assert!(text.contains(&format!(
            "coffer_http_request_duration_seconds_count{{{labels}}} 2"
        )));
    }

    #[test]
    fn json_shape_matches_vault() {
        let m = Metrics::default();
        m.observe_request("update", "sys/", 403, Duration::from_millis(1));
        m.observe_apply(Duration::from_millis(1));
        let v = m.json(&gauges(), "2024-01-01T00:00:00Z");
        assert_eq!(v["Gauges"][0]["Name"], "coffer_core_sealed");
        let named = |list: &str, name: &str| {
            v[list]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["Name"] == name)
                .cloned()
                .unwrap_or_else(|| panic!("no {name} in {list}"))
        };
        let requests = named("Counters", "coffer_http_requests_total");
        assert_eq!(requests["Labels"]["status"], "4xx");
        assert_eq!(
            named("Counters", "coffer_raft_leader_changes_total")["Count"],
            4
        );
        assert_eq!(
            named("Samples", "coffer_http_request_duration_seconds")["Count"],
            1
        );
        assert_eq!(named("Samples", "coffer_raft_apply_seconds")["Count"], 1);
    }
}
