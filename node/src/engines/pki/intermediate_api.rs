//! `intermediate/generate/{internal,exported}` (a new key and a CSR for it; the key waits in
//! `config/key/` for its certificate) and `intermediate/set-signed` (import the signed
//! certificate, and any chain sent with it, as issuers, matched to the keys the mount holds).

use super::{authority, csr, input, keys, store, PkiError};
use crate::engines::MountRequest;
use crate::error::ApiError;
use crate::fields::Fields;
use crate::request::Response;
use rcgen::{CertificateParams, DnType, SanType};
use serde_json::{json, Map, Value};

/// `intermediate/generate/<kind>`.
pub async fn generate(m: &MountRequest<'_>, kind: &str) -> Result<Option<Response>, ApiError> {
    let exported = match kind {
        "internal" => false,
        "exported" => true,
        _ => return Err(super::unsupported_path()),
    };
    let data = &m.req.data;
    let names = input::names(data, true)?;
    input::require_cn(&names)?;
    let (key_type, key_bits) = input::key_spec(data)?;
    let pem = keys::generate(key_type, key_bits).await?;
    let signer = keys::Signer::from_pem(key_type, &pem)?;
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, names.common_name.clone());
    for d in &names.dns {
        let name = d
            .clone()
            .try_into()
            .map_err(|_| ApiError::bad(format!("the value {d:?} is not a valid name")))?;
        params.subject_alt_names.push(SanType::DnsName(name));
    }
    for ip in &names.ips {
        params.subject_alt_names.push(SanType::IpAddress(*ip));
    }
    let request = params
        .serialize_request(&signer)
        .and_then(|r| r.pem())
        .map_err(PkiError::from)?;
    let key_name = Fields(data).str_opt("key_name")?.unwrap_or_default();
    let key_id = authority::add_key(m.storage, &key_name, key_type, key_bits, &pem).await?;
    let mut out = Map::new();
    out.insert("csr".into(), Value::String(request));
    out.insert("key_id".into(), Value::String(key_id));
    if exported {
        input::with_private_key(&mut out, key_type, &pem);
    }
    Ok(Some(Response::data(Value::Object(out))))
}

/// `intermediate/set-signed`: every certificate in `certificate` becomes an issuer unless the
/// mount already has it; each is linked to the key whose public half it carries, and its
/// `ca_chain` follows issuer names through the mount's issuers.
pub async fn set_signed(m: &MountRequest<'_>) -> Result<Option<Response>, ApiError> {
    let bundle = Fields(&m.req.data).str_req("certificate")?;
    let pems = csr::split_pem_certs(&bundle);
    if pems.is_empty() {
        return Err(ApiError::bad("no data found in PEM block"));
    }
    let existing = store::issuers(m.storage).await?;
    let mut imported = Vec::new();
    let mut existing_ids = Vec::new();
    let mut mapping = Map::new();
    let mut imported_keys: Vec<String> = Vec::new();
    for pem in &pems {
        let info = csr::cert_info(pem)?;
        if let Some(found) = existing.iter().find(|i| i.certificate.trim() == pem.trim()) {
            existing_ids.push(found.id.clone());
            continue;
        }
        let key_id = authority::key_for_spki(m.storage, &info.spki)
            .await?
            .unwrap_or_default();
        let issuer = authority::issuer_entry(pem, "", &key_id, Vec::new())?;
        mapping.insert(issuer.id.clone(), Value::String(key_id.clone()));
        if !key_id.is_empty() && !imported_keys.contains(&key_id) {
            imported_keys.push(key_id);
        }
        imported.push(issuer);
    }
    // Chains: follow each certificate's issuer name to another issuer's subject.
    let all: Vec<(String, csr::CertInfo, String)> = existing
        .iter()
        .chain(imported.iter())
        .map(|i| {
            Ok((
                i.id.clone(),
                csr::cert_info(&i.certificate)?,
                i.certificate.clone(),
            ))
        })
        .collect::<Result<_, PkiError>>()?;
    for issuer in &mut imported {
        issuer.chain = chain_above(&issuer.id, &all);
        authority::add_issuer(m.storage, issuer).await?;
    }
    let ids: Vec<String> = imported.iter().map(|i| i.id.clone()).collect();
    Ok(Some(Response::data(json!({
        "imported_issuers": if ids.is_empty() { Value::Null } else { json!(ids) },
        "imported_keys": Value::Null,
        "existing_issuers": if existing_ids.is_empty() { Value::Null } else { json!(existing_ids) },
        "existing_keys": Value::Null,
        "mapping": mapping,
    }))))
}

/// The PEMs above issuer `id`: its issuer's certificate, then that one's, while the names link
/// and the certificate is not self-signed.
fn chain_above(id: &str, all: &[(String, csr::CertInfo, String)]) -> Vec<String> {
    let mut out = Vec::new();
    let Some(mut current) = all.iter().find(|(i, _, _)| i == id) else {
        return out;
    };
    while current.1.subject != current.1.issuer && out.len() < 10 {
        let Some(parent) = all
            .iter()
            .find(|(i, info, _)| *i != current.0 && info.subject == current.1.issuer)
        else {
            break;
        };
        out.push(parent.2.clone());
        current = parent;
    }
    out
}
