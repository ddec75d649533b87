//! `config/urls` (AIA/CRL URLs; the CRL distribution points go into issued certificates) and
//! `config/issuers`, `config/keys` (the default issuer and key).

use super::store::{self, Defaults, Urls};
use crate::engines::MountRequest;
use crate::error::ApiError;
use crate::fields::Fields;
use crate::request::{Operation, Response};
use serde_json::json;

/// The mount's URLs (empty when never written).
pub async fn urls(m: &MountRequest<'_>) -> Result<Urls, ApiError> {
    Ok(store::get(m.storage, store::URLS)
        .await?
        .unwrap_or_default())
}

/// `config/urls`.
pub async fn route_urls(m: &MountRequest<'_>) -> Result<Option<Response>, ApiError> {
    match m.req.operation {
        Operation::Read => {
            let u = urls(m).await?;
            Ok(Some(Response::data(json!({
                "issuing_certificates": u.issuing_certificates,
                "crl_distribution_points": u.crl_distribution_points,
                "ocsp_servers": u.ocsp_servers,
                "enable_templating": u.enable_templating,
            }))))
        }
        Operation::Create | Operation::Update => {
            let f = Fields(&m.req.data);
            let mut u = urls(m).await?;
            if let Some(v) = f.list_opt("issuing_certificates")? {
                u.issuing_certificates = v;
            }
            if let Some(v) = f.list_opt("crl_distribution_points")? {
                u.crl_distribution_points = v;
            }
            if let Some(v) = f.list_opt("ocsp_servers")? {
                u.ocsp_servers = v;
            }
            u.enable_templating = f.bool_or("enable_templating", u.enable_templating)?;
            store::put(m.storage, store::URLS, &u).await?;
            Ok(None)
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}

/// `config/issuers` (`default`) and `config/keys` (`default`).
pub async fn route_defaults(
    m: &MountRequest<'_>,
    issuers: bool,
) -> Result<Option<Response>, ApiError> {
    let path = if issuers {
        store::ISSUERS_DEFAULT
    } else {
        store::KEYS_DEFAULT
    };
    match m.req.operation {
        Operation::Read => {
            let d = store::get::<Defaults>(m.storage, path)
                .await?
                .unwrap_or_default();
            let mut data = json!({ "default": d.default });
            if issuers {
                data["default_follows_latest_issuer"] = json!(false);
            }
            Ok(Some(Response::data(data)))
        }
        Operation::Create | Operation::Update => {
            let reference = Fields(&m.req.data).str_req("default")?;
            let id = if issuers {
                store::issuer_by_ref(m.storage, &reference)
                    .await?
                    .map(|i| i.id.clone())
            } else {
                store::key_by_ref(m.storage, &reference)
                    .await?
                    .map(|k| k.id.clone())
            }
            .ok_or_else(|| ApiError::bad(format!("unable to resolve reference: {reference}")))?;
            store::put(
                m.storage,
                path,
                &Defaults {
                    default: id.clone(),
                },
            )
            .await?;
            Ok(Some(Response::data(json!({ "default": id }))))
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}
