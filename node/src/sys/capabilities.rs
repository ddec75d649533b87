//! `sys/capabilities`, `sys/capabilities-self`, `sys/capabilities-accessor`: what a token may do
//! on each path, computed by the same ACL the pipeline enforces.

use super::{legacy, Fields};
use crate::core::ActiveState;
use crate::error::ApiError;
use crate::request::{Operation, Request, Response};
use crate::token::TokenEntry;
use serde_json::{Map, Value};

pub async fn handle(
    active: &ActiveState,
    caller: &TokenEntry,
    req: &Request,
    rel: &str,
) -> Result<Option<Response>, ApiError> {
    if !matches!(req.operation, Operation::Create | Operation::Update) {
        return Err(ApiError::UnsupportedOperation);
    }
    let f = Fields(&req.data);
    let entry = match rel {
        "capabilities-self" => caller.clone(),
        "capabilities" => {
            let token = f.str_req("token")?;
            active
                .tokens
                .lookup(&token)
                .await?
                .ok_or_else(|| ApiError::bad("invalid token"))?
        }
        "capabilities-accessor" => {
            let accessor = f.str_req("accessor")?;
            active
                .tokens
                .lookup_accessor(&accessor)
                .await?
                .ok_or_else(|| ApiError::bad("invalid accessor"))?
        }
        _ => return Err(crate::error::ApiError::no_route(&req.path)),
    };
    let mut paths = f.list_opt("paths")?.unwrap_or_default();
    if let Some(p) = f.str_opt("path")? {
        paths.push(p);
    }
    if paths.is_empty() {
        return Err(ApiError::bad("paths must be supplied"));
    }
    let acl = crate::identity::acl_for(&active.policies, &active.identity, &entry).await?;
    let mut data = Map::new();
    for path in &paths {
        let caps = acl.capabilities(path.trim_start_matches('/'));
        data.insert(path.clone(), Value::from(caps));
    }
    if paths.len() == 1 {
        let single = data[&paths[0]].clone();
        data.insert("capabilities".into(), single);
    }
    Ok(Some(legacy(Value::Object(data))))
}
