//! `issue/<role>` (a new key and a certificate for it) and `sign/<role>` (a certificate for a
//! CSR's key), both bounded by the role: its names, IP SANs, TTLs and key rules.

use super::authority::{self, Authority};
use super::certgen::{self, Names, Plan, Profile};
use super::role::{self, Role};
use super::{csr, input, keys, roles_api};
use crate::engines::{MountRequest, SecretLease};
use crate::error::ApiError;
use crate::fields::Fields;
use crate::request::Response;
use serde_json::{json, Value};

async fn role_named(m: &MountRequest<'_>, name: &str) -> Result<Role, ApiError> {
    roles_api::load(m, name)
        .await?
        .ok_or_else(|| ApiError::bad(format!("unknown role: {name}")))
}

/// Vault's order of checks: the common name, then DNS and email SANs, then IP SANs.
fn check_names(role: &Role, names: &Names, ips_given: &[String]) -> Result<(), ApiError> {
    if role.require_cn {
        input::require_cn(names)?;
    }
    if !names.common_name.is_empty() {
        if let Some(bad) = role.first_bad_name(std::slice::from_ref(&names.common_name)) {
            return Err(ApiError::bad(format!(
                "common name {bad} not allowed by this role"
            )));
        }
    }
    if let Some(bad) = role.first_bad_name(&names.dns) {
        return Err(ApiError::bad(format!(
            "subject alternate name {bad} not allowed by this role"
        )));
    }
    if let Some(bad) = role.first_bad_name(&names.emails) {
        return Err(ApiError::bad(format!(
            "email address {bad} not allowed by this role"
        )));
    }
    if !names.ips.is_empty() && !role.allow_ip_sans {
        return Err(ApiError::bad(format!(
            "IP Subject Alternative Names are not allowed in this role, but was provided [{}]",
            ips_given.join(" ")
        )));
    }
    Ok(())
}

fn plan(m: &MountRequest<'_>, role: &Role, names: Names) -> Result<(Plan, Vec<String>), ApiError> {
    let (not_after, warnings) =
        certgen::not_after(input::ttl(&m.req.data)?, role.ttl, role.max_ttl, m.mount);
    let plan = Plan {
        names,
        not_after,
        profile: Profile::Leaf {
            server: role.server_flag,
            client: role.client_flag,
            key_usages: role::key_usages(&role.key_usage),
        },
        crl_distribution_points: Vec::new(),
    };
    Ok((plan, warnings))
}

fn issuer_ref(m: &MountRequest<'_>, role: &Role) -> Result<String, ApiError> {
    Ok(Fields(&m.req.data)
        .str_opt("issuer_ref")?
        .unwrap_or_else(|| role.issuer_ref.clone()))
}

/// `issue/<role>`.
pub async fn issue(m: &MountRequest<'_>, role_name: &str) -> Result<Option<Response>, ApiError> {
    let role = role_named(m, role_name).await?;
    if role.key_type == "any" {
        return Err(ApiError::bad(
            "role key type \"any\" not allowed for issuing certificates, only signing",
        ));
    }
    let names = input::names(&m.req.data, true)?;
    let ips_given = Fields(&m.req.data).list_opt("ip_sans")?.unwrap_or_default();
    check_names(&role, &names, &ips_given)?;
    let (mut plan, warnings) = plan(m, &role, names)?;
    let Authority { issuer, key } = authority::load(m.storage, &issuer_ref(m, &role)?).await?;
    certgen::within_issuer(plan.not_after, &issuer)?;
    plan.crl_distribution_points = super::urls(m).await?.crl_distribution_points;
    let kind = keys::KeyType::parse(&role.key_type)?;
    let pem = keys::generate(kind, role.key_bits).await?;
    let subject_key = keys::Signer::from_pem(kind, &pem)?;
    let issued = certgen::signed_by(&plan, &subject_key, &issuer, &key)?;
    if !role.no_store {
        authority::keep(m.storage, &issued, &issuer.id).await?;
    }
    let mut out = json!({
        "certificate": issued.pem,
        "issuing_ca": issuer.certificate,
        "ca_chain": issuer.ca_chain(),
        "serial_number": issued.serial_number,
        "expiration": issued.not_after,
    });
    if let Value::Object(map) = &mut out {
        input::with_private_key(map, kind, &pem);
    }
    let mut resp = Response::data(out);
    resp.warnings = warnings;
    if role.generate_lease {
        resp.secret = Some(cert_lease(&issued));
    }
    Ok(Some(resp))
}

/// The lease of a certificate issued under `generate_lease`: as long as the certificate lives,
/// not renewable (a certificate's validity cannot be extended), revoked by serial.
fn cert_lease(issued: &certgen::Issued) -> SecretLease {
    let left = issued
        .not_after
        .saturating_sub(crate::clock::unix_now())
        .max(1);
    let ttl = u64::try_from(left).unwrap_or(1);
    let mut internal = serde_json::Map::new();
    internal.insert("serial_number".into(), json!(issued.serial_number));
    SecretLease {
        ttl_secs: ttl,
        max_ttl_secs: ttl,
        renewable: false,
        internal,
    }
}

/// `sign/<role>`: names from the CSR (`use_csr_common_name`, `use_csr_sans`, Vault's
/// defaults) unless the request gives them.
pub async fn sign(m: &MountRequest<'_>, role_name: &str) -> Result<Option<Response>, ApiError> {
    let role = role_named(m, role_name).await?;
    let data = &m.req.data;
    let request = csr::parse(&Fields(data).str_req("csr")?)?;
    role::check_csr_key(&role, request.key_type, request.key_bits)?;
    let given = input::names(data, false)?;
    let mut names = Names {
        common_name: if role.use_csr_common_name && !request.names.common_name.is_empty() {
            request.names.common_name.clone()
        } else {
            given.common_name.clone()
        },
        ..Names::default()
    };
    let sans = if role.use_csr_sans {
        &request.names
    } else {
        &given
    };
    names.dns = sans.dns.clone();
    names.emails = sans.emails.clone();
    names.ips = sans.ips.clone();
    names.uris = sans.uris.clone();
    if !names.common_name.is_empty() && !Fields(data).bool_or("exclude_cn_from_sans", false)? {
        let cn = names.common_name.clone();
        let list = if cn.contains('@') {
            &mut names.emails
        } else {
            &mut names.dns
        };
        if !list.contains(&cn) {
            list.push(cn);
        }
    }
    let ips_given: Vec<String> = names.ips.iter().map(|ip| ip.to_string()).collect();
    check_names(&role, &names, &ips_given)?;
    let (mut plan, warnings) = plan(m, &role, names)?;
    let Authority { issuer, key } = authority::load(m.storage, &issuer_ref(m, &role)?).await?;
    certgen::within_issuer(plan.not_after, &issuer)?;
    plan.crl_distribution_points = super::urls(m).await?.crl_distribution_points;
    let issued = certgen::signed_by(&plan, &request.public_key, &issuer, &key)?;
    if !role.no_store {
        authority::keep(m.storage, &issued, &issuer.id).await?;
    }
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
