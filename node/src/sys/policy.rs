//! `sys/policy/*` (legacy shapes) and `sys/policies/acl/*`.

use super::{legacy, Fields};
use crate::core::ActiveState;
use crate::error::ApiError;
use crate::request::{Operation, Request, Response};
use serde_json::json;

pub async fn handle(
    active: &ActiveState,
    req: &Request,
    rel: &str,
) -> Result<Option<Response>, ApiError> {
    let (modern, name) = if let Some(rest) = rel.strip_prefix("policies/acl") {
        (true, rest.trim_start_matches('/'))
    } else if let Some(rest) = rel.strip_prefix("policy") {
        (false, rest.trim_start_matches('/'))
    } else {
        return Err(crate::error::ApiError::no_route(&req.path));
    };
    let store = &active.policies;
    if name.is_empty() {
        return match req.operation {
            Operation::Read | Operation::List => {
                let names = store.list().await?;
                if modern {
                    return Ok(Some(Response::data(json!({ "keys": names }))));
                }
                Ok(Some(legacy(json!({ "keys": names, "policies": names }))))
            }
            _ => Err(ApiError::UnsupportedOperation),
        };
    }
    match req.operation {
        Operation::Read => {
            let text = store
                .read(name)
                .await?
                .ok_or_else(|| ApiError::NotFound(String::new()))?;
            let name = name.to_lowercase();
            if modern {
                Ok(Some(Response::data(
                    json!({ "name": name, "policy": text }),
                )))
            } else {
                Ok(Some(legacy(json!({ "name": name, "rules": text }))))
            }
        }
        Operation::Create | Operation::Update => {
            let f = Fields(&req.data);
            let text = match f.str_opt("policy")? {
                Some(t) => t,
                None => f.str_req("rules")?,
            };
            store.write(name, &text).await?;
            Ok(None)
        }
        Operation::Delete => {
            store.delete(name).await?;
            Ok(None)
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}
