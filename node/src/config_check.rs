//! What `coffer server -config=FILE -check` verifies beyond parsing, and what every start
//! verifies too: the config is consistent in itself (addresses parse, TLS files come in
//! pairs, a raft node has an id, the seal stanza has what its seal needs). It does not look at
//! the world: no file is opened, no port bound, no KMS or HSM contacted.

use crate::config::{ConfigError, ListenerConfig, RetryJoin, ServerConfig, StorageConfig};

fn invalid(message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(message.into())
}

impl ServerConfig {
    /// Every problem a config can show without touching the world, as one clear message.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_storage()?;
        for (i, listener) in self.listeners.iter().enumerate() {
            validate_listener(listener).map_err(|e| invalid(format!("listener {}: {e}", i + 1)))?;
        }
        if let Some(addr) = &self.api_addr {
            url(addr, false).map_err(|e| invalid(format!("api_addr {addr:?}: {e}")))?;
        }
        if let Some(addr) = &self.cluster_addr {
            url(addr, true).map_err(|e| invalid(format!("cluster_addr {addr:?}: {e}")))?;
        }
        if let Some(min) = self.rotation_min_operations {
            if !(1..=coffer_barrier::MAX_OPERATIONS_DEFAULT).contains(&min) {
                return Err(invalid(format!(
                    "{} must be a whole number from 1 to {}",
                    crate::config::ROTATION_MIN_OPERATIONS_ENV,
                    coffer_barrier::MAX_OPERATIONS_DEFAULT
                )));
            }
        }
        if self.default_lease_ttl_secs > self.max_lease_ttl_secs {
            return Err(invalid(
                "default_lease_ttl cannot be longer than max_lease_ttl",
            ));
        }
        if !matches!(
            self.log_level.as_str(),
            "trace" | "debug" | "info" | "warn" | "warning" | "err" | "error" | "off"
        ) {
            return Err(invalid(format!(
                "log_level {:?} is not one of trace, debug, info, warn, error",
                self.log_level
            )));
        }
        if !matches!(self.log_format.as_str(), "standard" | "json" | "") {
            return Err(invalid(format!(
                "log_format {:?} is not \"standard\" or \"json\"",
                self.log_format
            )));
        }
        for (kind, fields) in self.seal.iter().chain(&self.other_seal) {
            crate::auto_unseal::check_stanza(kind, fields).map_err(|e| invalid(e.to_string()))?;
        }
        if let (Some(first), Some(other)) = (&self.seal, &self.other_seal) {
            crate::auto_unseal::check_pair(first, other).map_err(|e| invalid(e.to_string()))?;
        }
        Ok(())
    }

    fn validate_storage(&self) -> Result<(), ConfigError> {
        let StorageConfig::Raft {
            path,
            node_id,
            retry_join,
            ..
        } = &self.storage
        else {
            return Ok(());
        };
        if path.as_os_str().is_empty() {
            return Err(invalid("storage \"raft\": path must not be empty"));
        }
        if node_id.trim().is_empty() {
            return Err(invalid(
                "storage \"raft\": node_id is required (in the file, or the VAULT_RAFT_NODE_ID environment variable)",
            ));
        }
        for join in retry_join {
            validate_retry_join(join)
                .map_err(|e| invalid(format!("storage \"raft\": retry_join: {e}")))?;
        }
        Ok(())
    }
}

fn validate_retry_join(join: &RetryJoin) -> Result<(), String> {
    let addr = &join.leader_api_addr;
    let tls = url(addr, false).map_err(|e| format!("leader_api_addr {addr:?}: {e}"))?;
    if tls && join.leader_ca_cert_file.is_none() {
        return Err(format!(
            "leader_api_addr {addr:?} is https: leader_ca_cert_file names the CA to trust"
        ));
    }
    if join.leader_client_cert_file.is_some() != join.leader_client_key_file.is_some() {
        return Err("leader_client_cert_file and leader_client_key_file go together".into());
    }
    Ok(())
}

fn validate_listener(l: &ListenerConfig) -> Result<(), String> {
    socket_addr(&l.address).map_err(|e| format!("address {:?}: {e}", l.address))?;
    if let Some(addr) = &l.cluster_address {
        socket_addr(addr).map_err(|e| format!("cluster_address {addr:?}: {e}"))?;
    }
    if !l.tls_disable && l.tls_require_and_verify_client_cert && l.tls_client_ca_file.is_none() {
        return Err("tls_require_and_verify_client_cert needs tls_client_ca_file".into());
    }
    Ok(())
}

/// `host:port`, where host may be a name, an IPv4 address or a bracketed IPv6 one.
fn socket_addr(addr: &str) -> Result<(), String> {
    let (host, port) = addr
        .rsplit_once(':')
        .ok_or_else(|| "expected host:port".to_string())?;
    port.parse::<u16>()
        .map_err(|_| format!("port {port:?} is not a number from 0 to 65535"))?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.is_empty() || bare.contains(char::is_whitespace) {
        return Err("expected host:port".into());
    }
    if host.starts_with('[') && bare.parse::<std::net::Ipv6Addr>().is_err() {
        return Err(format!("{host} is not an IPv6 address"));
    }
    Ok(())
}

/// `http(s)://host[:port]` (a bare `host:port` too when `bare_ok`); whether it is https.
fn url(addr: &str, bare_ok: bool) -> Result<bool, String> {
    let (tls, rest) = if let Some(rest) = addr.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = addr.strip_prefix("http://") {
        (false, rest)
    } else if bare_ok && !addr.contains("://") {
        (true, addr)
    } else {
        return Err("expected http://host:port or https://host:port".into());
    };
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains('/') {
        return Err("expected scheme://host:port with no path".into());
    }
    let uri: http::uri::Authority = authority
        .parse()
        .map_err(|e| format!("bad host or port: {e}"))?;
    if uri.host().is_empty() {
        return Err("no host".into());
    }
    // `Authority` takes any text after the colon; a port must be a number.
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.ends_with(']'))
        && (!authority.starts_with('[') || authority.contains("]:"));
    if has_port {
        socket_addr(authority)?;
    }
    Ok(tls)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raft(body: &str, rest: &str) -> Result<ServerConfig, ConfigError> {
        let cfg = ServerConfig::parse(&format!(
            "storage \"raft\" {{\n{body}\n}}\nlistener \"tcp\" {{\n address = \"[::]:8200\"\n tls_disable = true\n}}\n{rest}"
        ))?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn message(r: Result<ServerConfig, ConfigError>) -> String {
        r.expect_err("the config must be refused").to_string()
    }

    #[test]
    fn a_complete_config_passes() {
        let cfg = raft(
            r#"path = "/d"
               node_id = "coffer-0"
               retry_join { leader_api_addr = "http://coffer-0.coffer-internal:8200" }
               retry_join {
                 leader_api_addr = "https://coffer-1.coffer-internal:8200"
                 leader_ca_cert_file = "/tls/ca.crt"
               }"#,
            "api_addr = \"http://coffer-0.coffer-internal:8200\"\ncluster_addr = \"https://coffer-0.coffer-internal:8201\"\nservice_registration \"kubernetes\" {}",
        )
        .unwrap();
        assert_eq!(
            cfg.service_registration,
            Some(crate::config::KubernetesRegistration::default())
        );
    }

    #[test]
    fn each_mistake_is_named() {
        assert!(message(raft(r#"path = "/d""#, "")).contains("node_id is required"));
        assert!(message(raft(
            r#"path = "/d"
               node_id = "a"
               retry_join { leader_api_addr = "coffer-0:8200" }"#,
            ""
        ))
        .contains("leader_api_addr"));
        assert!(message(raft(
            r#"path = "/d"
               node_id = "a"
               retry_join { leader_api_addr = "https://coffer-0:8200" }"#,
            ""
        ))
        .contains("leader_ca_cert_file"));
        let ok = "path = \"/d\"\nnode_id = \"a\"";
        assert!(message(raft(ok, "api_addr = \"coffer-0:8200\"")).contains("api_addr"));
        assert!(message(raft(ok, "cluster_addr = \"http://h:port\"")).contains("cluster_addr"));
        assert!(message(raft(
            ok,
            "default_lease_ttl = \"2h\"\nmax_lease_ttl = \"1h\""
        ))
        .contains("max_lease_ttl"));
        assert!(message(raft(ok, "log_level = \"loud\"")).contains("log_level"));
        assert!(message(raft(ok, "service_registration \"consul\" {}")).contains("consul"));
        assert!(message(raft(
            ok,
            "service_registration \"kubernetes\" { bogus = 1 }"
        ))
        .contains("bogus"));
        assert!(message(raft(ok, "seal \"gcpckms\" {}")).contains("not supported"));
        let transit = "seal \"transit\" {\n address = \"http://u:8200\"\n token = \"t\"\n mount_path = \"transit\"\n}";
        if cfg!(not(madsim)) && std::env::var("VAULT_TRANSIT_SEAL_KEY_NAME").is_err() {
            assert!(message(raft(ok, transit)).contains("key_name is required"));
        }
        let two = "seal \"shamir\" {}\nseal \"shamir\" {}";
        assert!(message(raft(ok, two)).contains("exactly one must be disabled"));
        assert!(message(raft(ok, "seal \"shamir\" { disabled = \"maybe\" }")).contains("disabled"));
        let bad_port = ServerConfig::parse(
            "storage \"inmem\" {}\nlistener \"tcp\" {\n address = \"0.0.0.0:http\"\n tls_disable = 1\n}",
        )
        .unwrap();
        assert!(bad_port
            .validate()
            .unwrap_err()
            .to_string()
            .contains("port"));
    }

    #[test]
    fn environment_overrides_win_over_the_file() {
        let mut cfg = raft(
            "path = \"/d\"\nnode_id = \"from-file\"",
            "api_addr = \"http://file:8200\"",
        )
        .unwrap();
        cfg.apply_env(|name| match name {
            "VAULT_RAFT_NODE_ID" => Some("coffer-2".into()),
            "VAULT_API_ADDR" => Some("http://coffer-2.coffer-internal:8200".into()),
            "COFFER_CLUSTER_ADDR" => Some("https://coffer-2.coffer-internal:8201".into()),
            "VAULT_CLUSTER_ADDR" => Some("  ".into()),
            _ => None,
        });
        let StorageConfig::Raft { node_id, .. } = &cfg.storage else {
            unreachable!("parsed as raft")
        };
        assert_eq!(node_id, "coffer-2");
        assert_eq!(
            cfg.api_addr.as_deref(),
            Some("http://coffer-2.coffer-internal:8200")
        );
        assert_eq!(
            cfg.cluster_addr.as_deref(),
            Some("https://coffer-2.coffer-internal:8201"),
            "an empty VAULT_CLUSTER_ADDR does not hide COFFER_CLUSTER_ADDR"
        );
    }

    #[test]
    fn the_rotation_floor_comes_only_from_the_environment_and_is_bounded() {
        let ok = "path = \"/d\"\nnode_id = \"a\"";
        let with = |value: &str| {
            let mut cfg = raft(ok, "").unwrap();
            let value = value.to_string();
            cfg.apply_env(|name| (name == "COFFER_ROTATION_MIN_OPERATIONS").then(|| value.clone()));
            cfg
        };
        assert_eq!(raft(ok, "").unwrap().rotation_min_operations, None);
        let cfg = with(" 20 ");
        assert_eq!(cfg.rotation_min_operations, Some(20));
        cfg.validate().unwrap();
        assert_eq!(with("").rotation_min_operations, None);
        for bad in ["0", "many", "-5", "3865470567"] {
            let err = with(bad).validate().unwrap_err().to_string();
            assert!(
                err.contains("COFFER_ROTATION_MIN_OPERATIONS"),
                "{bad}: {err}"
            );
        }
        assert!(
            message(raft(ok, "rotation_min_operations = 5")).contains("rotation_min_operations")
        );
    }
}
