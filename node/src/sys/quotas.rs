//! `sys/quotas/rate-limit[/<name>]` and `sys/quotas/config`: Vault's rate limit quotas. The
//! rules and their enforcement are `crate::quota`; this file reads and checks the fields.

use super::Fields;
use crate::core::{ActiveState, Core};
use crate::error::ApiError;
use crate::quota::{QuotaConfig, RateLimit};
use crate::request::{Operation, Request, Response};
use crate::routed::Target;
use serde_json::{json, Value};

/// `rel` is the path after `sys/`.
pub async fn handle(
    core: &Core,
    active: &ActiveState,
    req: &Request,
    rel: &str,
) -> Result<Option<Response>, ApiError> {
    let rest = rel.strip_prefix("quotas/").unwrap_or_default();
    if rest == "config" {
        return config(core, active, req).await;
    }
    let name = match rest.strip_prefix("rate-limit") {
        Some(name) if name.is_empty() || name.starts_with('/') => name.trim_matches('/'),
        _ => return Err(ApiError::no_route(&req.path)),
    };
    if name.is_empty() {
        return match req.operation {
            Operation::List | Operation::Read => {
                let names = active.quotas.names();
                if names.is_empty() {
                    return Err(ApiError::NotFound(String::new()));
                }
                Ok(Some(Response::data(json!({ "keys": names }))))
            }
            _ => Err(ApiError::UnsupportedOperation),
        };
    }
    match req.operation {
        Operation::Read => {
            let quota = active
                .quotas
                .get(name)
                .ok_or_else(|| ApiError::NotFound(String::new()))?;
            Ok(Some(Response::data(shown(&quota))))
        }
        Operation::Create | Operation::Update => {
            let quota = parse(active, req, name)?;
            active.quotas.put(&core.view(""), quota).await?;
            Ok(None)
        }
        Operation::Delete => {
            active.quotas.delete(&core.view(""), name).await?;
            Ok(None)
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}

fn shown(q: &RateLimit) -> Value {
    json!({
        "type": "rate-limit",
        "name": q.name,
        "path": q.path,
        "role": q.role,
        "rate": q.rate,
        "interval": q.interval_secs,
        "block_interval": q.block_interval_secs,
        "inheritable": q.inheritable,
    })
}

fn float(v: Option<&Value>) -> Result<f64, ApiError> {
    let bad = || ApiError::bad("error converting input rate: expected a number");
    match v {
        None | Some(Value::Null) => Ok(0.0),
        Some(Value::Number(n)) => n.as_f64().ok_or_else(bad),
        Some(Value::String(s)) => s.trim().parse().map_err(|_| bad()),
        Some(_) => Err(bad()),
    }
}

/// The quota a write describes, with Vault's checks: a positive rate, a path inside an existing
/// mount (stored as the mount's path plus any suffix), no other quota on the same path and role.
fn parse(active: &ActiveState, req: &Request, name: &str) -> Result<RateLimit, ApiError> {
    let f = Fields(&req.data);
    if let Some(kind) = f
        .str_opt("type")?
        .filter(|t| !t.is_empty() && t != "rate-limit")
    {
        return Err(ApiError::bad(format!("unsupported quota type {kind:?}")));
    }
    let rate = float(req.data.get("rate"))?;
    if !rate.is_finite() || rate <= 0.0 {
        return Err(ApiError::bad("'rate' is invalid"));
    }
    let interval_secs = f.secs_opt("interval")?.unwrap_or(0).max(1);
    let block_interval_secs = f.secs_opt("block_interval")?.unwrap_or(0);
    let requested = f.str_opt("path")?.unwrap_or_default();
    let path = mount_path(active, requested.trim_start_matches('/'))?;
    let role = f.str_opt("role")?.unwrap_or_default();
    if let Some(other) = active
        .quotas
        .all()
        .into_iter()
        .find(|q| q.name != name && q.path == path && q.role == role)
    {
        return Err(ApiError::bad(format!(
            "quota rule with similar properties exists under the name {:?}",
            other.name
        )));
    }
    Ok(RateLimit {
        name: name.to_string(),
        path,
        rate,
        interval_secs,
        block_interval_secs,
        role,
        inheritable: f.bool_or("inheritable", false)?,
    })
}

/// `""` stays global; otherwise the mount serving `path` (`kv/`, `auth/userpass/`, `sys/`),
/// followed by the rest of `path` when it names a prefix inside the mount.
fn mount_path(active: &ActiveState, path: &str) -> Result<String, ApiError> {
    if path.is_empty() {
        return Ok(String::new());
    }
    let with_slash = format!("{}/", path.trim_end_matches('/'));
    let target = Target::of(&active.mounts, &with_slash);
    if matches!(target, Target::Unrouted) {
        return Err(ApiError::bad(format!("invalid mount path {with_slash:?}")));
    }
    let mount = target.metrics_label(&with_slash);
    let suffix = with_slash
        .strip_prefix(&mount)
        .unwrap_or_default()
        .trim_end_matches('/');
    Ok(format!("{mount}{suffix}"))
}

async fn config(
    core: &Core,
    active: &ActiveState,
    req: &Request,
) -> Result<Option<Response>, ApiError> {
    match req.operation {
        Operation::Read => {
            let c = active.quotas.config();
            Ok(Some(Response::data(json!({
                "rate_limit_exempt_paths": c.rate_limit_exempt_paths,
                "enable_rate_limit_audit_logging": c.enable_rate_limit_audit_logging,
                "enable_rate_limit_response_headers": c.enable_rate_limit_response_headers,
            }))))
        }
        Operation::Create | Operation::Update => {
            let f = Fields(&req.data);
            let old = active.quotas.config();
            let config = QuotaConfig {
                rate_limit_exempt_paths: f
                    .list_opt("rate_limit_exempt_paths")?
                    .unwrap_or(old.rate_limit_exempt_paths),
                enable_rate_limit_audit_logging: f.bool_or(
                    "enable_rate_limit_audit_logging",
                    old.enable_rate_limit_audit_logging,
                )?,
                enable_rate_limit_response_headers: f.bool_or(
                    "enable_rate_limit_response_headers",
                    old.enable_rate_limit_response_headers,
                )?,
            };
            active.quotas.set_config(&core.view(""), config).await?;
            Ok(None)
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}
