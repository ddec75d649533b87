//! `root/generate/{internal,exported}` (a new key and self-signed CA; `exported` returns the
//! private key, once) and `root/sign-intermediate` (a CSR signed as a CA by an issuer).

use super::authority::{self, Authority};
use super::certgen::{self, Plan, Profile};
use super::{csr, input, keys};
use crate::engines::MountRequest;
use crate::error::ApiError;
use crate::fields::Fields;
use crate::request::Response;
use serde_json::{json, Value};

/// `root/generate/<kind>`.
pub async fn generate(m: &MountRequest<'_>, kind: &str) -> Result<Option<Response>, ApiError> {
    let exported = match kind {
        "internal" => false,
        "exported" => true,
        _ => return Err(super::unsupported_path()),
    };
    let data = &m.req.data;
    let f = Fields(data);
    let names = input::names(data, true)?;
    input::require_cn(&names)?;
    let (key_type, key_bits) = input::key_spec(data)?;
    let (not_after, warnings) = certgen::not_after(input::ttl(data)?, 0, 0, m.mount);
    let plan = Plan {
        names,
        not_after,
        profile: Profile::Ca {
            max_path_length: input::max_path_length(data)?,
        },
        crl_distribution_points: super::urls(m).await?.crl_distribution_points,
    };
    let pem = keys::generate(key_type, key_bits).await?;
    let signer = keys::Signer::from_pem(key_type, &pem)?;
    let issued = certgen::self_signed(&plan, &signer)?;
    let key_name = f.str_opt("key_name")?.unwrap_or_default();
    let issuer_name = f.str_opt("issuer_name")?.unwrap_or_default();
    let key_id = authority::add_key(m.storage, &key_name, key_type, key_bits, &pem).await?;
    let issuer = authority::issuer_entry(&issued.pem, &issuer_name, &key_id, Vec::new())?;
    authority::add_issuer(m.storage, &issuer).await?;
    authority::keep(m.storage, &issued, &issuer.id).await?;
    let mut out = json!({
        "certificate": issued.pem,
        "issuing_ca": issued.pem,
        "expiration": issued.not_after,
        "serial_number": issued.serial_number,
        "issuer_id": issuer.id,
        "issuer_name": issuer.name,
        "key_id": key_id,
        "key_name": key_name,
    });
    if exported {
        if let Value::Object(map) = &mut out {
            input::with_private_key(map, key_type, &pem);
        }
    }
    let mut resp = Response::data(out);
    resp.warnings = warnings;
    Ok(Some(resp))
}

/// `root/sign-intermediate`: the CSR's key certified as a CA (names from the request unless
/// `use_csr_values`).
pub async fn sign_intermediate(m: &MountRequest<'_>) -> Result<Option<Response>, ApiError> {
    let data = &m.req.data;
    let f = Fields(data);
    let request = csr::parse(&f.str_req("csr")?)?;
    let names = if f.bool_or("use_csr_values", false)? {
        request.names.clone()
    } else {
        input::names(data, true)?
    };
    input::require_cn(&names)?;
    let issuer_ref = f.str_opt("issuer_ref")?.unwrap_or_else(|| "default".into());
    let Authority { issuer, key } = authority::load(m.storage, &issuer_ref).await?;
    let (not_after, warnings) = certgen::not_after(input::ttl(data)?, 0, 0, m.mount);
    certgen::within_issuer(not_after, &issuer)?;
    let plan = Plan {
        names,
        not_after,
        profile: Profile::Ca {
            max_path_length: input::max_path_length(data)?,
        },
        crl_distribution_points: super::urls(m).await?.crl_distribution_points,
    };
    let issued = certgen::signed_by(&plan, &request.public_key, &issuer, &key)?;
    authority::keep(m.storage, &issued, &issuer.id).await?;
    let mut resp = Response::data(json!({
        "certificate": issued.pem,
        "issuing_ca": issuer.certificate,
        "ca_chain": issuer.ca_chain(),
        "serial_number": issued.serial_number,
        "expiration": issued.not_after,
    }));
    resp.warnings = warnings;
    Ok(Some(resp))
}
