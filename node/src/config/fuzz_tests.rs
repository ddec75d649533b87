//! Property-based fuzzing of the server config parser (`cargo test fuzz_`): a generated config
//! written as HCL and as JSON parses to the same `ServerConfig`, holding what was written;
//! arbitrary and near-valid text gets an answer, never a panic.

use super::{ListenerConfig, ServerConfig, StorageConfig};
use proptest::prelude::*;
use serde_json::{json, Value};

/// What a generated config sets.
#[derive(Debug, Clone)]
struct Gen {
    api_addr: Option<String>,
    cluster_name: Option<String>,
    ui: bool,
    disable_mlock: bool,
    lease_ttl_secs: u32,
    log_level: String,
    address: String,
    /// Certificate and key files; `None` is `tls_disable = true`.
    tls: Option<(String, String)>,
    raft: Option<(String, String)>,
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ._:/€é-]{0,16}"
}

fn gen() -> impl Strategy<Value = Gen> {
    (
        (
            prop::option::of(text()),
            prop::option::of(text()),
            any::<bool>(),
            any::<bool>(),
        ),
        (
            any::<u32>(),
            "[a-zA-Z]{1,6}",
            text(),
            prop::option::of((text(), text())),
        ),
        prop::option::of((text(), text())),
    )
        .prop_map(
            |((api_addr, cluster_name, ui, disable_mlock), (ttl, level, address, tls), raft)| Gen {
                api_addr,
                cluster_name,
                ui,
                disable_mlock,
                lease_ttl_secs: ttl,
                log_level: level,
                address,
                tls,
                raft,
            },
        )
}

fn q(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

fn to_hcl(g: &Gen) -> String {
    let mut out = String::new();
    match &g.raft {
        Some((path, id)) => {
            out += &format!(
                "storage \"raft\" {{\n  path = {}\n  node_id = {}\n}}\n",
                q(path),
                q(id)
            )
        }
        None => out += "storage \"inmem\" {}\n",
    }
    let tls = match &g.tls {
        Some((cert, key)) => format!("tls_cert_file = {}\n  tls_key_file = {}", q(cert), q(key)),
        None => "tls_disable = true".to_owned(),
    };
    out += &format!(
        "listener \"tcp\" {{\n  address = {}\n  {tls}\n}}\n",
        q(&g.address)
    );
    if let Some(a) = &g.api_addr {
        out += &format!("api_addr = {}\n", q(a));
    }
    if let Some(c) = &g.cluster_name {
        out += &format!("cluster_name = {}\n", q(c));
    }
    out += &format!(
        "ui = {}\ndisable_mlock = {}\ndefault_lease_ttl = \"{}s\"\nlog_level = {}\n",
        g.ui,
        g.disable_mlock,
        g.lease_ttl_secs,
        q(&g.log_level)
    );
    out
}

fn to_json(g: &Gen) -> String {
    let storage = match &g.raft {
        Some((path, id)) => json!({"raft": {"path": path, "node_id": id}}),
        None => json!({"inmem": {}}),
    };
    let listener = match &g.tls {
        Some((cert, key)) => {
            json!({"address": g.address, "tls_cert_file": cert, "tls_key_file": key})
        }
        None => json!({"address": g.address, "tls_disable": true}),
    };
    let mut top = json!({
        "storage": storage,
        "listener": {"tcp": listener},
        "ui": g.ui,
        "disable_mlock": g.disable_mlock,
        "default_lease_ttl": format!("{}s", g.lease_ttl_secs),
        "log_level": g.log_level,
    });
    if let Some(a) = &g.api_addr {
        top["api_addr"] = json!(a);
    }
    if let Some(c) = &g.cluster_name {
        top["cluster_name"] = json!(c);
    }
    top.to_string()
}

/// Near-valid HCL: config fragments spliced together.
fn fragments() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "storage ",
        "\"raft\" ",
        "\"inmem\" ",
        "{",
        "}",
        "[",
        "]",
        "listener ",
        "\"tcp\" ",
        "address = ",
        "\"127.0.0.1:8200\"",
        "retry_join ",
        "leader_api_addr = ",
        "seal ",
        "\"awskms\" ",
        "default_lease_ttl = ",
        "\"99999999999999999d\"",
        "max_lease_ttl = ",
        "-5",
        "ui = ",
        "true",
        "service_registration ",
        "\"kubernetes\" ",
        "\n",
        "\"€\"",
        "${x}",
        "=",
    ]);
    prop::collection::vec(piece, 0..20).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

    #[test]
    fn fuzz_config_parse(g in gen(), junk in any::<String>(), near in fragments()) {
        let hcl = ServerConfig::parse(&to_hcl(&g));
        let json = ServerConfig::parse(&to_json(&g));
        let (Ok(hcl), Ok(json)) = (hcl, json) else {
            return Err(TestCaseError::fail(format!("both forms must parse: {g:?}")));
        };
        prop_assert_eq!(&hcl, &json);
        prop_assert_eq!(&hcl.api_addr, &g.api_addr);
        prop_assert_eq!(&hcl.cluster_name, &g.cluster_name);
        prop_assert_eq!(hcl.ui, g.ui);
        prop_assert_eq!(hcl.disable_mlock, g.disable_mlock);
        prop_assert_eq!(hcl.default_lease_ttl_secs, u64::from(g.lease_ttl_secs));
        prop_assert_eq!(&hcl.log_level, &g.log_level.to_lowercase());
        let listener = ListenerConfig {
            address: g.address.clone(),
            tls_disable: g.tls.is_none(),
            tls_cert_file: g.tls.as_ref().map(|t| t.0.clone()),
            tls_key_file: g.tls.as_ref().map(|t| t.1.clone()),
            ..ListenerConfig::default()
        };
        prop_assert_eq!(&hcl.listeners, &vec![listener]);
        match (&hcl.storage, &g.raft) {
            (StorageConfig::Raft { path, node_id, .. }, Some((p, id))) => {
                prop_assert_eq!(path.to_str(), Some(p.as_str()));
                prop_assert_eq!(node_id, id);
            }
            (StorageConfig::Inmem, None) => {}
            (got, _) => prop_assert!(false, "storage {:?} for {:?}", got, g.raft),
        }
        for text in [&junk, &near, &format!("{{{junk}"), &format!("{near}{junk}")] {
            let _ = ServerConfig::parse(text);
        }
    }
}
