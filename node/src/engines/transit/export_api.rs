//! `export/<type>/<name>[/<version>]`: key material of an `exportable` key (public keys of any
//! asymmetric key), every live version or one (`latest` or a number).

use super::material::{export as export_version, ExportType};
use super::{key_name, store, unsupported_path};
use crate::engines::MountRequest;
use crate::error::ApiError;
use crate::request::Response;
use serde_json::{json, Map, Value};

/// `GET export/<type>/<name>[/<version>]`
pub async fn export(m: &MountRequest<'_>, rest: &str) -> Result<Option<Response>, ApiError> {
    let mut parts = rest.splitn(3, '/');
    let (kind, name, version) = (
        parts.next().unwrap_or_default(),
        parts.next().ok_or_else(unsupported_path)?,
        parts.next(),
    );
    let what = ExportType::parse(kind).ok_or_else(|| ApiError::bad("invalid export type"))?;
    let name = key_name(name)?;
    let Some(key) = store::load(m.storage, name).await? else {
        return Err(ApiError::NotFound(String::new()));
    };
    match what {
        ExportType::Public if key.kind.is_symmetric() => {
            return Err(ApiError::bad(
                "public-key export is not supported for symmetric keys",
            ))
        }
        ExportType::Public => {}
        _ if !key.exportable => {
            return Err(ApiError::bad("private key material is not exportable"))
        }
        _ => {}
    }
    let versions: Vec<u32> = match version {
        None | Some("") => key
            .versions
            .keys()
            .copied()
            .filter(|v| *v >= key.min_decryption_version)
            .collect(),
        Some(v) => {
            let v: u32 = if v == "latest" {
                key.latest_version
            } else {
                v.parse()
                    .map_err(|_| ApiError::bad("invalid key version"))?
            };
            if v < key.min_decryption_version {
                return Err(ApiError::bad(
                    "version for export is below minimum decryption version",
                ));
            }
            if !key.versions.contains_key(&v) {
                return Err(ApiError::bad("version does not exist or cannot be found"));
            }
            vec![v]
        }
    };
    let mut keys = Map::new();
    for v in versions {
        let material = key.version(v)?;
        let exported = export_version(key.kind, material, what)?;
        keys.insert(v.to_string(), Value::String(exported.to_string()));
    }
    Ok(Some(Response::data(json!({
        "name": key.name,
        "type": key.kind.as_str(),
        "keys": keys,
    }))))
}
