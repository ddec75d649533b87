//! Request fields several PKI endpoints share: the names a certificate is for, the key to
//! generate, the TTL, and the answer's private-key fields.

use super::certgen::Names;
use super::keys::{checked_bits, KeyType};
use crate::error::ApiError;
use crate::fields::Fields;
use serde_json::{Map, Value};
use std::net::IpAddr;

/// `common_name`, `alt_names` (DNS names, or emails when they hold an `@`), `ip_sans`,
/// `uri_sans`. With `cn_in_sans` the common name is also a SAN (Vault's default,
/// `exclude_cn_from_sans=false`).
pub fn names(data: &Map<String, Value>, cn_in_sans: bool) -> Result<Names, ApiError> {
    let f = Fields(data);
    let common_name = f.str_opt("common_name")?.unwrap_or_default();
    let mut names = Names {
        common_name: common_name.clone(),
        ..Names::default()
    };
    let exclude = f.bool_or("exclude_cn_from_sans", false)?;
    if cn_in_sans && !exclude && !common_name.is_empty() {
        add_alt(&mut names, &common_name);
    }
    for alt in f.list_opt("alt_names")?.unwrap_or_default() {
        add_alt(&mut names, &alt);
    }
    for ip in f.list_opt("ip_sans")?.unwrap_or_default() {
        let parsed: IpAddr = ip
            .parse()
            .map_err(|_| ApiError::bad(format!("the value {ip:?} is not a valid IP address")))?;
        names.ips.push(parsed);
    }
    names.uris = f.list_opt("uri_sans")?.unwrap_or_default();
    Ok(names)
}

fn add_alt(names: &mut Names, alt: &str) {
    let list = if alt.contains('@') {
        &mut names.emails
    } else {
        &mut names.dns
    };
    if !list.iter().any(|n| n == alt) {
        list.push(alt.to_string());
    }
}

/// `key_type` (default rsa) and `key_bits` (0: the type's default), checked.
pub fn key_spec(data: &Map<String, Value>) -> Result<(KeyType, u32), ApiError> {
    let f = Fields(data);
    let kind = KeyType::parse(&f.str_opt("key_type")?.unwrap_or_else(|| "rsa".into()))?;
    let bits = match data.get("key_bits") {
        None | Some(Value::Null) => 0,
        Some(v) => u32::try_from(crate::fields::unsigned(v, "key_bits")?)
            .map_err(|_| ApiError::bad("key_bits: out of range"))?,
    };
    Ok((kind, checked_bits(kind, bits)?))
}

/// `ttl`, in seconds, if given.
pub fn ttl(data: &Map<String, Value>) -> Result<Option<u64>, ApiError> {
    Fields(data).secs_opt("ttl")
}

/// `max_path_length` (-1, the default, leaves it unconstrained).
pub fn max_path_length(data: &Map<String, Value>) -> Result<Option<u8>, ApiError> {
    match data.get("max_path_length") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let n = match v {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.parse().ok(),
                _ => None,
            }
            .ok_or_else(|| ApiError::bad("max_path_length: expected an integer"))?;
            if n < 0 {
                Ok(None)
            } else {
                u8::try_from(n)
                    .map(Some)
                    .map_err(|_| ApiError::bad("max_path_length: out of range"))
            }
        }
    }
}

/// The common name is required (Vault's message) unless the role says otherwise.
pub fn require_cn(names: &Names) -> Result<(), ApiError> {
    if names.common_name.is_empty() {
        return Err(ApiError::bad(
            r#"the common_name field is required, or must be provided in a CSR with "use_csr_common_name" set to true, unless "require_cn" is set to false"#,
        ));
    }
    Ok(())
}

/// Add Vault's `private_key` and `private_key_type` to an answer.
pub fn with_private_key(data: &mut Map<String, Value>, kind: KeyType, pem: &str) {
    data.insert("private_key".into(), Value::String(pem.to_string()));
    data.insert("private_key_type".into(), Value::String(kind.name().into()));
}
