//! Response wrapping, as Vault does it. A request carrying `X-Vault-Wrap-TTL` is served as usual,
//! then its answer is put away in the cubbyhole of a new single-use token (policy
//! `response-wrapping`, TTL the requested one) and the client gets only `wrap_info` with that
//! token. `sys/wrapping/unwrap` hands the answer out once, `lookup` shows where and when it was
//! made, `rewrap` moves it to a fresh token.
//!
//! `http/` calls `serve`, which runs the pipeline (`pipeline::handle`) inside: http → wrap →
//! pipeline, one way. A wrapping token
//! presented as the request's own token to `sys/wrapping/unwrap` or `rewrap` (and any
//! `sys/wrapping/lookup`, which needs no token) is answered here before the pipeline: the
//! pipeline would spend the token's single use, and with it the cubbyhole, before the answer
//! could be read.
//!
//! The header is `Request::wrap_ttl`; the wrapping token and its cubbyhole are
//! `token::wrapping` (plain I/O over the token store and the cubbyhole mount).

use crate::core::Core;
use crate::error::ApiError;
use crate::pipeline::Answer;
use crate::request::{Body, Request, Response};
use crate::token::wrapping as store;
use crate::token::TokenEntry;
use std::sync::Arc;

/// The wrapping endpoints a wrapping token may call with itself as the client token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SelfServed {
    Unwrap,
    Lookup,
    Rewrap,
}

/// Which requests `serve` answers itself, with the wrapping token they name.
fn self_served(req: &Request) -> Option<(SelfServed, Option<String>)> {
    let body_token = req
        .data
        .get("token")
        .and_then(|t| t.as_str())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let which = match req.path.as_str() {
        // Needs no token at all (`sys_paths`' `unauthenticated`): the pipeline never sees it.
        "sys/wrapping/lookup" if crate::sys_paths::is(&req.path, |p| p.unauthenticated) => {
            SelfServed::Lookup
        }
        "sys/wrapping/unwrap" if body_token.is_none() => SelfServed::Unwrap,
        "sys/wrapping/rewrap" if body_token.is_none() => SelfServed::Rewrap,
        _ => return None,
    };
    let token = body_token.or_else(|| req.token.clone());
    Some((which, token))
}

/// Serve one request through the pipeline, wrapping its answer when asked to.
pub async fn serve(core: &Arc<Core>, req: Request) -> Answer {
    let mount = crate::routed::unrouted_label(&req.path);
    let ttl = match req.wrap_ttl() {
        Ok(ttl) => ttl,
        Err(e) => {
            return Answer {
                mount,
                result: Err(e),
            }
        }
    };
    if let Some((which, token)) = self_served(&req) {
        let result = serve_self(core, &req, which, token).await;
        return Answer { mount, result };
    }
    let (request_id, path) = (req.id.clone(), req.path.clone());
    let Answer { mount, result } = crate::pipeline::handle(core, req).await;
    let result = match result {
        Ok(resp) => wrap_answer(core, ttl, &request_id, &path, resp).await,
        Err(e) => Err(e),
    };
    Answer { mount, result }
}

/// Put `resp` away behind a wrapping token when the request asked for it and it can be.
async fn wrap_answer(
    core: &Arc<Core>,
    ttl: Option<u64>,
    request_id: &str,
    path: &str,
    resp: Option<Response>,
) -> Result<Option<Response>, ApiError> {
    match (ttl, resp) {
        (Some(ttl), Some(resp)) if wrappable(&resp) => {
            let ttl = ttl.min(core.config.max_lease_ttl_secs.max(1));
            let active = core.current_active().await?;
            let envelope = resp.envelope(request_id);
            let wrapped_accessor = resp.auth.as_ref().map(|a| a.accessor.clone());
            let info = crate::physical::fenced(
                active.term,
                store::wrap(&active.tokens, path, ttl, &envelope, wrapped_accessor),
            )
            .await?;
            Ok(Some(store::wrapped_response(info)))
        }
        (_, resp) => Ok(resp),
    }
}

/// Only enveloped answers can be wrapped (not raw status bodies, metrics text, or an answer
/// that already is `wrap_info`).
fn wrappable(resp: &Response) -> bool {
    let enveloped = matches!(resp.body, Body::Envelope | Body::EnvelopeMerged);
    enveloped && resp.wrap_info.is_none()
}

/// Answer a self-served wrapping call, audited like any request: the request is logged before
/// it runs (if no device can log it, the token is not spent) and its answer after, with the
/// wrapping token as the caller (HMAC'd in the line, like every value).
async fn serve_self(
    core: &Arc<Core>,
    req: &Request,
    which: SelfServed,
    token: Option<String>,
) -> Result<Option<Response>, ApiError> {
    if !core.is_initialized().await? {
        return Err(ApiError::Unavailable("Vault is not initialized".into()));
    }
    let active = core.current_active().await?;
    let term = active.term;
    crate::physical::fenced(term, async move {
        core.confirm_leadership().await?;
        let caller = TokenEntry {
            id: token.clone().unwrap_or_default(),
            ..TokenEntry::default()
        };
        active.audit.log_request(&caller, req, None)?;
        let result = async {
            let token = token.ok_or_else(store::invalid)?;
            let resp = match which {
                SelfServed::Lookup => store::lookup(&active.tokens, &token).await?,
                SelfServed::Unwrap => store::unwrap(&active.tokens, &token).await?,
                SelfServed::Rewrap => {
                    let max_ttl = core.config.max_lease_ttl_secs;
                    store::rewrap(&active.tokens, max_ttl, &token).await?
                }
            };
            Ok(Some(resp))
        }
        .await;
        active.audit.log_response(&caller, req, &result, None)?;
        result
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Operation;
    use serde_json::json;

    #[test]
    fn only_wrapping_endpoints_with_the_wrapping_token_are_self_served() {
        let plain = Request::new(Operation::Update, "sys/wrapping/unwrap").with_token("hvs.w");
        assert_eq!(
            self_served(&plain),
            Some((SelfServed::Unwrap, Some("hvs.w".into())))
        );
        let with_body = Request::new(Operation::Update, "sys/wrapping/unwrap")
            .with_token("hvs.caller")
            .with_data(json!({"token": "hvs.w"}));
        assert_eq!(
            self_served(&with_body),
            None,
            "the pipeline checks the caller"
        );
        let lookup = Request::new(Operation::Update, "sys/wrapping/lookup")
            .with_data(json!({"token": "hvs.w"}));
        assert_eq!(
            self_served(&lookup),
            Some((SelfServed::Lookup, Some("hvs.w".into())))
        );
        let other = Request::new(Operation::Read, "secret/data/x").with_token("hvs.w");
        assert_eq!(self_served(&other), None);
    }

    #[test]
    fn raw_and_already_wrapped_answers_are_not_wrapped() {
        assert!(wrappable(&Response::data(json!({"a": 1}))));
        assert!(!wrappable(&Response::raw(json!({}))));
        let wrapped = Response {
            wrap_info: Some(json!({"token": "x"})),
            ..Default::default()
        };
        assert!(!wrappable(&wrapped));
    }
}
