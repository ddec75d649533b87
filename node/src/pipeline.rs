//! The request pipeline: status endpoints → sealed check → auth method logins (no token) → token
//! → ACL (with the engine's or auth method's existence check deciding create vs update) → router
//! → handler. Every error leaves here as an `ApiError` and is rendered once, in `http/`.

use crate::core::{ActiveState, Core};
use crate::engines::MountRequest;
use crate::error::ApiError;
use crate::request::{Operation, Request, Response};
use crate::router::Table;
use crate::token::TokenEntry;
use std::sync::Arc;

impl Core {
    /// Handle one request end to end (with response wrapping, `wrap::serve`).
    pub async fn handle(self: &Arc<Self>, req: Request) -> Result<Option<Response>, ApiError> {
        crate::wrap::serve(self, req).await
    }

    /// The pipeline proper: everything but response wrapping.
    pub(crate) async fn handle_unwrapped(
        self: &Arc<Self>,
        req: Request,
    ) -> Result<Option<Response>, ApiError> {
        if let Some(rel) = req.path.strip_prefix("sys/") {
            if let Some(row) = crate::sys_paths::lookup(&req.path).filter(|p| p.unauthenticated) {
                if !row.sealed_ok && self.is_sealed() {
                    return Err(ApiError::Sealed);
                }
                return crate::sys::handle_unauthenticated(self, &req, rel).await;
            }
        }
        if !self.is_initialized().await? {
            return Err(ApiError::Unavailable("Vault is not initialized".into()));
        }
        let active = self.current_active().await?;
        let term = active.term;
        crate::physical::fenced(term, async move {
            if crate::auth::is_login(&active, &req) {
                return self.login(&active, &req).await;
            }
            // A refused request is audited too, with the error it gets (Vault does the same).
            let caller = match self.authenticate(&active, &req).await {
                Ok(caller) => caller,
                Err(e) => return Err(active.audit.refused(&presented(&req), &req, e)),
            };
            let mut req = req;
            if let Err(e) = self.authorize(&active, &caller, &mut req).await {
                return Err(active.audit.refused(&caller, &req, e));
            }
            // Audited before it runs (or spends a use of its token): if no enabled device can
            // log it, it does not run.
            active.audit.log_request(&caller, &req)?;
            active.tokens.use_token(&caller).await?;
            // Every answer, not only a read's, comes from what the request read (a KV delete of
            // an already deleted version writes nothing and answers 204; a 404 is a read too),
            // so a leader cut off from the others must not give one from stale data. A commit
            // of the request's own, made after its reads, already proves that; otherwise a read
            // index does, before the answer leaves. Operator endpoints (`sys/`) confirm first,
            // since some act on leadership itself (step-down, seal).
            let operator = req.path.starts_with("sys/");
            if operator {
                self.confirm_leadership().await?;
            }
            let mut result = self.dispatch(&active, &caller, &req).await;
            if !operator && !crate::physical::reads_vouched_for() {
                if let Err(e) = self.confirm_leadership().await {
                    result = Err(e);
                }
            }
            active.audit.log_response(&caller, &req, &result)?;
            result
        })
        .await
    }

    /// Confirm with a quorum that this node still leads (read index), so a leader cut off from
    /// the others can never answer from stale data. Its reads need not wait for it: this node's
    /// state already holds every write acknowledged under its leadership and before it, so a
    /// confirmation after the reads vouches for them as well as one before.
    pub(crate) async fn confirm_leadership(&self) -> Result<(), ApiError> {
        match &self.storage.raft {
            None => Ok(()),
            Some(raft) => raft
                .ensure_linearizable()
                .await
                .map_err(|e| ApiError::Unavailable(format!("cannot confirm leadership: {e}"))),
        }
    }

    /// A login to an auth method: Vault's unauthenticated paths take no token and no ACL check.
    async fn login(
        &self,
        active: &ActiveState,
        req: &Request,
    ) -> Result<Option<Response>, ApiError> {
        self.confirm_leadership().await?;
        // Audited like any request, failed logins included; unloggable means not run.
        let anonymous = TokenEntry::default();
        active.audit.log_request(&anonymous, req)?;
        let result = crate::auth::handle(self, active, req).await;
        active.audit.log_response(&anonymous, req, &result)?;
        result
    }

    async fn authenticate(
        &self,
        active: &ActiveState,
        req: &Request,
    ) -> Result<TokenEntry, ApiError> {
        let token = req.token.as_deref().ok_or(ApiError::PermissionDenied)?;
        active
            .tokens
            .lookup(token)
            .await?
            .filter(|t| t.allows_remote(req.remote_addr.as_deref()))
            .ok_or(ApiError::PermissionDenied)
    }

    /// Decide create vs update, then check the ACL (and sudo where Vault requires it).
    async fn authorize(
        &self,
        active: &ActiveState,
        caller: &TokenEntry,
        req: &mut Request,
    ) -> Result<(), ApiError> {
        if req.operation == Operation::Update {
            if let Some((entry, rel)) = self.route_secret(active, &req.path) {
                if let Some(engine) = active.mounts.engine(&entry) {
                    let storage = active.mounts.storage_for(Table::Secrets, &entry);
                    let mreq = MountRequest {
                        req,
                        path: &rel,
                        storage: &storage,
                        mount: &entry,
                    };
                    if engine.exists(mreq).await? == Some(false) {
                        req.operation = Operation::Create;
                    }
                }
            } else if crate::auth::exists(active, req).await? == Some(false) {
                req.operation = Operation::Create;
            }
        }
        if req.path.starts_with("sys/internal/ui/mounts/") {
            return Ok(()); // any valid token may ask which mount serves a path, as in Vault
        }
        let acl = active.policies.acl(&caller.policies).await?;
        if acl.is_root() {
            return Ok(());
        }
        let capability = req.operation.capability();
        // A policy's min/max_wrapping_ttl see the requested wrapping TTL.
        let wrap_ttl = crate::wrap::requested_ttl(req)?.map(std::time::Duration::from_secs);
        acl.check_wrapped(&req.path, capability, &req.data, wrap_ttl)
            .map_err(|_| ApiError::PermissionDenied)?;
        // Root-protected paths (`sys_paths`' `sudo`; a legacy alias as its current form) need
        // `sudo` on the path as requested.
        if crate::sys_paths::is(&req.path, |p| p.sudo) && !acl.allowed(&req.path, "sudo") {
            return Err(ApiError::PermissionDenied);
        }
        Ok(())
    }

    fn route_secret(
        &self,
        active: &ActiveState,
        path: &str,
    ) -> Option<(crate::mounts::MountEntry, String)> {
        if path.starts_with("sys/") || path.starts_with("auth/") {
            return None;
        }
        active.mounts.route(Table::Secrets, path)
    }

    async fn dispatch(
        self: &Arc<Self>,
        active: &Arc<ActiveState>,
        caller: &TokenEntry,
        req: &Request,
    ) -> Result<Option<Response>, ApiError> {
        if let Some(rel) = req.path.strip_prefix("sys/") {
            return crate::sys::handle(self, active, caller, req, rel).await;
        }
        if let Some(rel) = req.path.strip_prefix("auth/") {
            if let Some(tok) = rel
                .strip_prefix("token/")
                .or((rel == "token").then_some(""))
            {
                let call = crate::auth::token_backend::TokenCall {
                    core: self,
                    active,
                    caller,
                    req,
                };
                return crate::auth::token_backend::handle(call, tok).await;
            }
            return crate::auth::handle(self, active, req).await;
        }
        let (entry, rel) = self
            .route_secret(active, &req.path)
            .ok_or_else(|| ApiError::no_route(&req.path))?;
        let engine = active
            .mounts
            .engine(&entry)
            .ok_or_else(|| ApiError::no_route(&req.path))?;
        let storage = active.mounts.storage_for(Table::Secrets, &entry);
        let mreq = MountRequest {
            req,
            path: &rel,
            storage: &storage,
            mount: &entry,
        };
        engine.handle(mreq).await
    }
}

/// Who a request refused at authentication claimed to be: its token, unverified, so the audit
/// line carries the token's HMAC as Vault's does.
fn presented(req: &Request) -> TokenEntry {
    TokenEntry {
        id: req.token.clone().unwrap_or_default(),
        ..TokenEntry::default()
    }
}
