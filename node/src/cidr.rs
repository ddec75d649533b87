//! CIDR blocks as auth methods take them (`token_bound_cidrs`, `secret_id_bound_cidrs`, a secret
//! ID's `cidr_list`): a bare address counts as a single-host block, as Vault's `ParseAddrs` does.
//! Plain functions over strings; the request's address comes from the listener.

use crate::error::ApiError;
use ipnet::IpNet;
use std::net::IpAddr;

/// Parse one block (`10.0.0.0/8`) or address (`10.1.2.3`, taken as `/32` or `/128`).
pub fn parse_block(s: &str) -> Option<IpNet> {
    let s = s.trim();
    s.parse::<IpNet>().ok().or_else(|| {
        let ip = s.parse::<IpAddr>().ok()?;
        IpNet::new(ip, if ip.is_ipv4() { 32 } else { 128 }).ok()
    })
}

/// Check a list of blocks, normalised (trimmed, empty entries dropped); 400 on the first bad one.
pub fn parse_list(field: &str, blocks: Vec<String>) -> Result<Vec<String>, ApiError> {
    let blocks: Vec<String> = blocks
        .into_iter()
        .map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty())
        .collect();
    for b in &blocks {
        if parse_block(b).is_none() {
            return Err(ApiError::bad(format!(
                "invalid {field}: {b:?} is not a CIDR block or IP address"
            )));
        }
    }
    Ok(blocks)
}

/// The IP of a `host:port` (or bare IP) remote address.
fn remote_ip(remote: &str) -> Option<IpAddr> {
    remote
        .parse::<std::net::SocketAddr>()
        .map(|s| s.ip())
        .ok()
        .or_else(|| remote.parse::<IpAddr>().ok())
}

/// Whether `remote` falls in one of `blocks` (an empty list allows everyone; an unknown
/// address is allowed by no non-empty list).
pub fn allows(blocks: &[String], remote: Option<&str>) -> bool {
    if blocks.is_empty() {
        return true;
    }
    let Some(ip) = remote.and_then(remote_ip) else {
        return false;
    };
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    blocks
        .iter()
        .filter_map(|b| parse_block(b))
        .any(|net| net.contains(&ip))
}

/// Whether every block of `inner` lies inside some block of `outer` (an empty `outer` contains
/// everything). A secret ID's `cidr_list` must be a subset of its role's `secret_id_bound_cidrs`.
pub fn is_subset(inner: &[String], outer: &[String]) -> bool {
    if outer.is_empty() {
        return true;
    }
    let outer: Vec<IpNet> = outer.iter().filter_map(|b| parse_block(b)).collect();
    inner
        .iter()
        .all(|b| parse_block(b).is_some_and(|net| outer.iter().any(|o| o.contains(&net))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn bare_addresses_are_single_host_blocks() {
        assert_eq!(parse_block("10.1.2.3").unwrap().to_string(), "10.1.2.3/32");
        assert!(parse_block("10.0.0.0/8").is_some());
        assert!(parse_block("not-an-ip").is_none());
        assert!(parse_list("cidr_list", v(&["10.0.0.0/8", "nope"])).is_err());
        assert_eq!(
            parse_list("cidr_list", v(&[" 127.0.0.1/32 ", ""])).unwrap(),
            v(&["127.0.0.1/32"])
        );
    }

    #[test]
    fn membership_needs_a_known_address_inside_a_block() {
        let blocks = v(&["127.0.0.0/8"]);
        assert!(allows(&blocks, Some("127.0.0.1:5555")));
        assert!(allows(&blocks, Some("[::ffff:127.0.0.1]:5555")));
        assert!(!allows(&blocks, Some("10.0.0.1:5555")));
        assert!(!allows(&blocks, None));
        assert!(allows(&[], None));
    }

    #[test]
    fn subset_is_containment_of_every_block() {
        let role = v(&["10.0.0.0/8"]);
        assert!(is_subset(&v(&["10.1.0.0/16", "10.2.3.4"]), &role));
        assert!(!is_subset(&v(&["192.168.0.0/16"]), &role));
        assert!(!is_subset(&v(&["0.0.0.0/0"]), &role));
        assert!(is_subset(&v(&["192.168.0.0/16"]), &[]));
    }
}
