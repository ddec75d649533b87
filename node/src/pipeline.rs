//! The request pipeline: status endpoints → sealed check → route (once: `routed::Target`) →
//! auth method logins (no token) → token → ACL (with the engine's or auth method's existence
//! check deciding create vs update) → audit → handler. Every error leaves here as an `ApiError`
//! and is rendered once, in `http/`. Response wrapping (`wrap/`) runs around it: http → wrap →
//! pipeline, one way.

use crate::core::{ActiveState, Core};
use crate::error::ApiError;
use crate::request::{Operation, Request, Response};
use crate::routed::{unrouted_label, Target};
use crate::token::TokenEntry;
use std::sync::Arc;

/// A request's outcome, with the mount that served it (for metrics).
pub struct Answer {
    /// The mount as a metrics label (`routed::Target::metrics_label`).
    pub mount: String,
    pub result: Result<Option<Response>, ApiError>,
}

/// Handle one request (response wrapping aside: `wrap::serve` calls this).
pub async fn handle(core: &Arc<Core>, req: Request) -> Answer {
    let mut mount = unrouted_label(&req.path);
    let result = core.handle_routed(req, &mut mount).await;
    Answer { mount, result }
}

impl Core {
    /// The pipeline proper; `mount` learns the label of the mount the request is routed to.
    async fn handle_routed(
        self: &Arc<Self>,
        req: Request,
        mount: &mut String,
    ) -> Result<Option<Response>, ApiError> {
        if let Some(rel) = req.path.strip_prefix("sys/") {
            if let Some(row) = crate::sys_paths::lookup(&req.path).filter(|p| p.unauthenticated) {
                if !row.sealed_ok && self.is_sealed() {
                    return Err(ApiError::Sealed);
                }
                let mut result = self.serve_unauthenticated(&req, rel, row.unaudited).await;
                if let Ok(Some(resp)) = &mut result {
                    resp.mount_type = "system".into();
                }
                return result;
            }
        }
        if !self.is_initialized().await? {
            return Err(ApiError::Unavailable("Vault is not initialized".into()));
        }
        let active = self.current_active().await?;
        let target = Target::of(&active.mounts, &req.path);
        *mount = target.metrics_label(&req.path);
        // Before authentication, as Vault's quotas run: one atomic load when none exists.
        active.quotas.check(&req.path, mount)?;
        let term = active.term;
        // `sys/rotate` rotates by itself; `sys/rotate/config` only changes settings and must not
        // rotate as a side effect (the next request applies them).
        let rotation_check = !req.path.starts_with("sys/rotate");
        crate::physical::fenced(term, async move {
            let mut result = self.serve(&active, &target, req).await;
            if let Ok(Some(resp)) = &mut result {
                resp.mount_type = target.mount_type().to_string();
            }
            if rotation_check {
                crate::sys::auto_rotate::after_request(self, &active).await;
            }
            result
        })
        .await
    }

    /// Serve a routed request on the active state: login, or token → ACL → audit → handler.
    async fn serve(
        self: &Arc<Self>,
        active: &Arc<ActiveState>,
        target: &Target,
        req: Request,
    ) -> Result<Option<Response>, ApiError> {
        if let Target::Auth(routed) = target {
            if crate::auth::is_login(routed, &req) {
                let login = crate::auth::handle(self, active, routed, &req);
                return self.serve_anonymous(active, routed, &req, login).await;
            }
        }
        if let Target::Secret(routed) = target {
            if active
                .mounts
                .engine(&routed.entry)
                .is_some_and(|e| e.is_unauthenticated(&routed.rel, req.operation))
            {
                let public = async {
                    match active.mounts.engine(&routed.entry) {
                        Some(engine) => engine.handle(routed.call(&req)).await,
                        None => Err(ApiError::no_route(&req.path)),
                    }
                };
                return self.serve_anonymous(active, routed, &req, public).await;
            }
        }
        let mount = target.mount_config();
        // A refused request is audited too, with the error it gets (Vault does the same).
        let caller = match self.authenticate(active, &req).await {
            Ok(caller) => caller,
            Err(e) => {
                let e = self.refusal(e).await;
                return Err(active.audit.refused(&presented(&req), &req, e, mount));
            }
        };
        let mut req = req;
        req.display_name = caller.display_name.clone();
        if let Err(e) = self.authorize(active, target, &caller, &mut req).await {
            let e = self.refusal(e).await;
            return Err(active.audit.refused(&caller, &req, e, mount));
        }
        // Audited before it runs (or spends a use of its token): if no enabled device can
        // log it, it does not run.
        active.audit.log_request(&caller, &req, mount)?;
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
        let mut result = self.dispatch(active, target, &caller, &req).await;
        if !operator && !crate::physical::reads_vouched_for() {
            if let Err(e) = self.confirm_leadership().await {
                result = Err(e);
            }
        }
        active.audit.log_response(&caller, &req, &result, mount)?;
        result
    }

    /// An unauthenticated `sys/` path. Unless the table marks it `unaudited` (the status
    /// endpoints), it is audited like any request while this node has an active state: logged
    /// before it runs (if no device can log it, it does not run) and its answer after. A sealed
    /// node has no audit devices open, so nothing is logged then, as in Vault.
    async fn serve_unauthenticated(
        self: &Arc<Self>,
        req: &Request,
        rel: &str,
        unaudited: bool,
    ) -> Result<Option<Response>, ApiError> {
        let Some(active) = self.active.get().filter(|_| !unaudited) else {
            return crate::sys::handle_unauthenticated(self, req, rel).await;
        };
        let anonymous = TokenEntry::default();
        active.audit.log_request(&anonymous, req, None)?;
        let result = crate::sys::handle_unauthenticated(self, req, rel).await;
        active.audit.log_response(&anonymous, req, &result, None)?;
        result
    }

    /// Confirm with a quorum that this node still leads (read index), so a leader cut off from
    /// the others can never answer from stale data. Its reads need not wait for it: this node's
    /// state already holds every write acknowledged under its leadership and before it, so a
    /// confirmation after the reads vouches for them as well as one before.
    pub(crate) async fn confirm_leadership(&self) -> Result<(), ApiError> {
        if coffer_raft::mutant::mutant("read_without_read_index") {
            return Ok(());
        }
        match &self.storage.raft {
            None => Ok(()),
            Some(raft) => raft
                .ensure_linearizable()
                .await
                .map_err(|e| ApiError::Unavailable(format!("cannot confirm leadership: {e}"))),
        }
    }

    /// A refusal is an answer read from this node's tokens and policies, so like any answer it
    /// leaves only once a quorum confirms this node still leads: a leader cut off from the
    /// others answers 503, never a 403 from a policy or token already replaced.
    async fn refusal(&self, refused: ApiError) -> ApiError {
        match self.confirm_leadership().await {
            Ok(()) => refused,
            Err(unavailable) => unavailable,
        }
    }

    /// A request served with no token and no ACL check: a login to an auth method (Vault's
    /// unauthenticated paths), or a path a secrets engine serves publicly (PKI's CA and CRL).
    /// Audited like any request, failures included: unloggable means not run. Answered after a
    /// read index, like any read.
    async fn serve_anonymous(
        &self,
        active: &ActiveState,
        routed: &crate::routed::Routed,
        req: &Request,
        handler: impl std::future::Future<Output = Result<Option<Response>, ApiError>>,
    ) -> Result<Option<Response>, ApiError> {
        self.confirm_leadership().await?;
        let anonymous = TokenEntry::default();
        let mount = Some(&routed.entry.config);
        active.audit.log_request(&anonymous, req, mount)?;
        let result = handler.await;
        active.audit.log_response(&anonymous, req, &result, mount)?;
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
        target: &Target,
        caller: &TokenEntry,
        req: &mut Request,
    ) -> Result<(), ApiError> {
        if req.operation == Operation::Update {
            let exists = match target {
                Target::Secret(routed) => match active.mounts.engine(&routed.entry) {
                    Some(engine) => engine.exists(routed.call(req)).await?,
                    None => None,
                },
                Target::Auth(routed) => crate::auth::exists(routed, req).await?,
                _ => None,
            };
            if exists == Some(false) {
                req.operation = Operation::Create;
            }
        }
        let acl = crate::identity::acl_for(&active.policies, &active.identity, caller).await?;
        if acl.is_root() {
            return Ok(());
        }
        let capability = req.operation.capability();
        // A policy's min/max_wrapping_ttl see the requested wrapping TTL.
        let wrap_ttl = req.wrap_ttl()?.map(std::time::Duration::from_secs);
        acl.check_wrapped(&req.path, capability, &req.data, wrap_ttl)
            .map_err(|_| ApiError::PermissionDenied)?;
        // Root-protected paths (`sys_paths`' `sudo`; a legacy alias as its current form) need
        // `sudo` on the path as requested.
        if crate::sys_paths::is(&req.path, |p| p.sudo) && !acl.allowed(&req.path, "sudo") {
            return Err(ApiError::PermissionDenied);
        }
        Ok(())
    }

    async fn dispatch(
        self: &Arc<Self>,
        active: &Arc<ActiveState>,
        target: &Target,
        caller: &TokenEntry,
        req: &Request,
    ) -> Result<Option<Response>, ApiError> {
        match target {
            Target::System(rel) => crate::sys::handle(self, active, caller, req, rel).await,
            Target::Token(rel) => {
                let call = crate::auth::token::TokenCall {
                    core: self,
                    active,
                    caller,
                    req,
                };
                crate::auth::token::handle(call, rel).await
            }
            Target::Auth(routed) => crate::auth::handle(self, active, routed, req).await,
            Target::Identity(rel) => {
                let call = crate::identity::paths::IdentityCall {
                    store: &active.identity,
                    mounts: &active.mounts,
                    req,
                };
                crate::identity::paths::handle(call, rel).await
            }
            Target::Secret(routed) => {
                let engine = active
                    .mounts
                    .engine(&routed.entry)
                    .ok_or_else(|| ApiError::no_route(&req.path))?;
                let mut answer = engine.handle(routed.call(req)).await?;
                // A leased secret is registered before it leaves: no secret is handed out
                // that the lease manager could not revoke.
                if let Some(resp) = &mut answer {
                    if let Some(secret) = resp.secret.take() {
                        let path = req.path.as_str();
                        let accessor = caller.accessor.as_str();
                        let leases = &active.leases;
                        leases
                            .register(&routed.entry, path, accessor, secret, resp)
                            .await?;
                    }
                }
                Ok(answer)
            }
            Target::Unrouted => Err(ApiError::no_route(&req.path)),
        }
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
