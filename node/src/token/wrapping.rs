//! Wrapping tokens and what their cubbyholes hold. A wrapping token is an orphan service token
//! with policy `response-wrapping`, one use, and the wrapping TTL as both TTL and explicit max.
//! Its cubbyhole holds `response` (`{"response": "<the JSON body>"}`) and `wrapinfo`
//! (`creation_ttl`, `creation_time`, `creation_path`), as Vault keeps them. Revoking the token
//! (unwrap, rewrap, expiry) deletes both with the cubbyhole.

use super::{TokenEntry, TokenStore};
use crate::clock;
use crate::error::ApiError;
use crate::policy::WRAPPING_POLICY_NAME;
use crate::request::Response;
use crate::storage::StorageView;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// What `lookup` shows, kept in the cubbyhole at `wrapinfo`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct WrapInfo {
    creation_ttl: u64,
    creation_time: String,
    creation_path: String,
}

/// The wrapped answer, kept at `response`: the JSON body as a string, as Vault stores it.
#[derive(Serialize, Deserialize)]
struct Stored {
    response: String,
}

/// Vault's error for anything that is not a live wrapping token.
pub fn invalid() -> ApiError {
    ApiError::bad("wrapping token is not valid or does not exist")
}

fn cubbyhole_of(tokens: &TokenStore, token: &str) -> Result<StorageView, ApiError> {
    let storage = tokens
        .cubbyhole()
        .ok_or_else(|| ApiError::Internal("the cubbyhole mount is missing".into()))?;
    Ok(super::cubbyhole::token_view(storage, token))
}

/// Make a wrapping token for `envelope` (the JSON body the request would have answered) and
/// return its `wrap_info`.
pub async fn wrap(
    tokens: &TokenStore,
    creation_path: &str,
    ttl: u64,
    envelope: &Value,
    wrapped_accessor: Option<String>,
) -> Result<Value, ApiError> {
    let body = serde_json::to_string(envelope).map_err(ApiError::internal)?;
    store_wrapped(tokens, creation_path, ttl, body, wrapped_accessor).await
}

async fn store_wrapped(
    tokens: &TokenStore,
    creation_path: &str,
    ttl: u64,
    body: String,
    wrapped_accessor: Option<String>,
) -> Result<Value, ApiError> {
    let now_ms = clock::unix_now_ms();
    let ttl_i64 = i64::try_from(ttl).map_err(ApiError::internal)?;
    let entry = TokenEntry {
        id: TokenStore::generate_id(),
        accessor: crate::ids::base62(24),
        policies: vec![WRAPPING_POLICY_NAME.into()],
        num_uses: 1,
        creation_ms: now_ms,
        creation_ttl: ttl,
        expire_at_ms: now_ms + 1000 * ttl_i64,
        explicit_max_ttl: ttl,
        path: creation_path.to_string(),
        orphan: true,
        ..Default::default()
    };
    let created =
        clock::rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_millis(now_ms as u64));
    let info = WrapInfo {
        creation_ttl: ttl,
        creation_time: created.clone(),
        creation_path: creation_path.to_string(),
    };
    // The cubbyhole first: a token never exists without the answer it stands for.
    let cubby = cubbyhole_of(tokens, &entry.id)?;
    cubby
        .put_json("response", &Stored { response: body })
        .await?;
    cubby.put_json("wrapinfo", &info).await?;
    tokens.store(&entry).await?;
    let mut out = json!({
        "token": entry.id,
        "accessor": entry.accessor,
        "ttl": ttl,
        "creation_time": created,
        "creation_path": creation_path,
    });
    if let Some(accessor) = wrapped_accessor.filter(|a| !a.is_empty()) {
        out["wrapped_accessor"] = json!(accessor);
    }
    Ok(out)
}

/// A response that is only `wrap_info`.
pub fn wrapped_response(info: Value) -> Response {
    Response {
        wrap_info: Some(info),
        ..Default::default()
    }
}

/// The live wrapping token `token`, or Vault's 400.
async fn wrapping_token(tokens: &TokenStore, token: &str) -> Result<TokenEntry, ApiError> {
    let entry = tokens.lookup(token).await?.ok_or_else(invalid)?;
    if entry.policies != [WRAPPING_POLICY_NAME] {
        return Err(invalid());
    }
    Ok(entry)
}

/// Serialises the read-then-revoke of wrapping tokens, so two concurrent unwraps of one token
/// cannot both read the answer before either revokes it.
fn consume_lock() -> &'static tokio::sync::Mutex<()> {
    static LOCK: std::sync::OnceLock<tokio::sync::Mutex<()>> = std::sync::OnceLock::new();
    LOCK.get_or_init(|| tokio::sync::Mutex::new(()))
}

/// A live wrapping token's answer and wrap info.
async fn read(tokens: &TokenStore, token: &str) -> Result<(String, WrapInfo), ApiError> {
    wrapping_token(tokens, token).await?;
    let cubby = cubbyhole_of(tokens, token)?;
    let stored: Stored = cubby.get_json("response").await?.ok_or_else(invalid)?;
    let info: WrapInfo = cubby.get_json("wrapinfo").await?.ok_or_else(invalid)?;
    Ok((stored.response, info))
}

/// `sys/wrapping/unwrap`: the wrapped answer, exactly as it would have been sent; once (the
/// token is revoked, and its cubbyhole with it, before the answer leaves).
pub async fn unwrap(tokens: &TokenStore, token: &str) -> Result<Response, ApiError> {
    let _guard = consume_lock().lock().await;
    let (body, _) = read(tokens, token).await?;
    let value: Value = serde_json::from_str(&body).map_err(ApiError::internal)?;
    tokens.revoke(token).await?;
    Ok(Response::raw(value))
}

/// `sys/wrapping/lookup`: when, where and for how long the token was made. Does not use it up.
pub async fn lookup(tokens: &TokenStore, token: &str) -> Result<Response, ApiError> {
    wrapping_token(tokens, token).await?;
    let info: WrapInfo = cubbyhole_of(tokens, token)?
        .get_json("wrapinfo")
        .await?
        .ok_or_else(invalid)?;
    Ok(Response::data(json!({
        "creation_ttl": info.creation_ttl,
        "creation_time": info.creation_time,
        "creation_path": info.creation_path,
    })))
}

/// `sys/wrapping/rewrap`: the same answer under a new token with the same TTL and path; the
/// old token is revoked once the new one holds the answer.
pub async fn rewrap(tokens: &TokenStore, max_ttl: u64, token: &str) -> Result<Response, ApiError> {
    let _guard = consume_lock().lock().await;
    let (body, info) = read(tokens, token).await?;
    let ttl = info.creation_ttl.min(max_ttl.max(1));
    let wrap_info = store_wrapped(tokens, &info.creation_path, ttl, body, None).await?;
    tokens.revoke(token).await?;
    Ok(wrapped_response(wrap_info))
}
