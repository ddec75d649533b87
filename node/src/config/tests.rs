//! Parsing tests of the server configuration.

use super::*;

#[test]
fn parses_vault_style_hcl() {
    let cfg = ServerConfig::parse(
        r#"
        storage "raft" {
          path    = "/var/lib/coffer"
          node_id = "node-1"
          retry_join { leader_api_addr = "http://coffer-0.coffer-internal:8200" }
          retry_join { leader_api_addr = "http://coffer-1.coffer-internal:8200" }
        }
        listener "tcp" {
          address     = "0.0.0.0:8200"
          tls_disable = "true"
        }
        api_addr = "http://127.0.0.1:8200"
        ui = true
        default_lease_ttl = "1h"
        "#,
    )
    .unwrap();
    match &cfg.storage {
        StorageConfig::Raft {
            path,
            node_id,
            retry_join,
            ..
        } => {
            assert_eq!(path, &PathBuf::from("/var/lib/coffer"));
            assert_eq!(node_id, "node-1");
            assert_eq!(retry_join.len(), 2);
        }
        other => panic!("unexpected storage {other:?}"),
    }
    assert_eq!(cfg.listeners.len(), 1);
    assert!(cfg.listeners[0].tls_disable);
    assert_eq!(cfg.default_lease_ttl_secs, 3600);
    assert!(cfg.ui);
}

#[test]
fn parses_request_and_entry_limits() {
    let cfg = ServerConfig::parse(
        r#"
        storage "raft" {
          path           = "/d"
          max_entry_size = "2097152"
        }
        listener "tcp" {
          tls_disable              = true
          max_request_size         = 1048576
          http_read_header_timeout = "1s"
        }
        listener "tcp" {
          tls_disable      = true
          max_request_size = -1
        }
        "#,
    )
    .unwrap();
    let StorageConfig::Raft { max_entry_size, .. } = &cfg.storage else {
        panic!("raft storage expected");
    };
    assert_eq!(*max_entry_size, Some(2 << 20));
    let (a, b) = (&cfg.listeners[0].limits, &cfg.listeners[1].limits);
    assert_eq!(a.max_request_size, Some(1 << 20));
    assert_eq!(a.read_header_timeout, std::time::Duration::from_secs(1));
    assert_eq!(b.max_request_size, None);
    assert_eq!(
        b.read_header_timeout,
        ListenerLimits::default().read_header_timeout
    );
}

#[test]
fn parses_json_and_legacy_backend_key() {
    let cfg = ServerConfig::parse(
        r#"{"backend": {"inmem": {}}, "listener": [{"tcp": {"address": "127.0.0.1:1", "tls_disable": 1}}]}"#,
    )
    .unwrap();
    assert_eq!(cfg.storage, StorageConfig::Inmem);
    assert_eq!(cfg.listeners[0].address, "127.0.0.1:1");
}

#[test]
fn rejects_missing_storage_unknown_keys_and_tls_without_files() {
    assert!(ServerConfig::parse(r#"listener "tcp" { tls_disable = true }"#).is_err());
    assert!(ServerConfig::parse(
        r#"storage "inmem" {}
           listener "tcp" { tls_disable = true }
           bogus = 1"#
    )
    .is_err());
    assert!(ServerConfig::parse(
        r#"storage "inmem" {}
           listener "tcp" { address = "127.0.0.1:1" }"#
    )
    .is_err());
    assert!(
        ServerConfig::parse(r#"storage "consul" {} listener "tcp" {tls_disable = 1}"#).is_err()
    );
}
