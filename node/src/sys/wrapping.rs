//! `sys/wrapping/*` for an authenticated caller: `wrap` (wraps the request's own data) and
//! `unwrap` / `lookup` / `rewrap` of a wrapping token given in the body. The same endpoints
//! with the wrapping token as the request's token are answered by `wrap::serve` before the
//! pipeline. The wrapping tokens themselves are `token::wrapping`.

use crate::core::{ActiveState, Core};
use crate::error::ApiError;
use crate::request::{Operation, Request, Response};
use crate::token::wrapping;
use serde_json::Value;

pub async fn handle(
    core: &Core,
    active: &ActiveState,
    req: &Request,
    rel: &str,
) -> Result<Option<Response>, ApiError> {
    if !matches!(req.operation, Operation::Create | Operation::Update) {
        return Err(ApiError::UnsupportedOperation);
    }
    let token = || {
        req.data
            .get("token")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::bad("wrapping token is not valid or does not exist"))
    };
    let resp = match rel {
        "wrapping/wrap" => {
            if req.wrap_ttl()?.is_none() {
                return Err(ApiError::bad(
                    "endpoint requires response wrapping to be used",
                ));
            }
            Response::data(Value::Object(req.data.clone()))
        }
        "wrapping/unwrap" => wrapping::unwrap(&active.tokens, token()?).await?,
        "wrapping/lookup" => wrapping::lookup(&active.tokens, token()?).await?,
        "wrapping/rewrap" => {
            let max_ttl = core.config.max_lease_ttl_secs;
            wrapping::rewrap(&active.tokens, max_ttl, token()?).await?
        }
        _ => return Err(crate::error::ApiError::no_route(&req.path)),
    };
    Ok(Some(resp))
}
