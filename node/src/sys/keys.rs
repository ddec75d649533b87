//! `sys/rotate`, `sys/key-status`, `sys/rekey/*`, `sys/generate-root/*`. The state machines are
//! `coffer_seal`'s (plain data); this file does their I/O: checking a reconstructed unseal key
//! against the stored root key, rewrapping the root key, minting the root token.

use super::Fields;
use crate::core::Core;
use crate::error::ApiError;
use crate::request::{Operation, Request, Response};
use coffer_seal::generate_root::OTP_LENGTH;
use coffer_seal::progress::decode_key;
use coffer_seal::{
    GenerateRootAttempt, RekeyConfig, RekeyOperation, Seal, SealConfig, SealError, ShamirSeal,
};
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;

fn raw<T: Serialize>(v: &T) -> Result<Option<Response>, ApiError> {
    Ok(Some(Response::raw(
        serde_json::to_value(v).map_err(ApiError::internal)?,
    )))
}

/// One step of an operation kept in `slot`: take it out (no lock is held across the await), run
/// the step, and put it back unless it completed. A concurrent call meanwhile sees no operation.
async fn step_in_slot<T, Fut>(
    slot: &parking_lot::Mutex<Option<T>>,
    missing: &'static str,
    is_complete: fn(&T) -> bool,
    step: impl FnOnce(T) -> Fut,
) -> Result<Option<Response>, ApiError>
where
    Fut: std::future::Future<Output = (T, Result<Option<Response>, ApiError>)>,
{
    let op = slot.lock().take().ok_or_else(|| ApiError::bad(missing))?;
    let (op, result) = step(op).await;
    if !is_complete(&op) {
        *slot.lock() = Some(op);
    }
    result
}

/// Vault's words when combined shares are not the recovery key.
const RECOVERY_KEY_MISMATCH: &str = "recovery key does not match submitted values";

fn seal_err(e: SealError) -> ApiError {
    ApiError::bad(e.to_string())
}

async fn current_config(core: &Core) -> Result<SealConfig, ApiError> {
    core.seal_config()
        .await?
        .ok_or_else(|| ApiError::bad("Vault is not initialized"))
}

pub async fn rotate(core: &Core) -> Result<Option<Response>, ApiError> {
    let info = core
        .storage
        .barrier
        .rotate(crate::clock::unix_now())
        .await?;
    tracing::info!(term = info.term, "rotated the barrier key");
    Ok(None)
}

pub fn key_status(core: &Core) -> Result<Option<Response>, ApiError> {
    let info = core.storage.barrier.key_status()?;
    let install = crate::clock::rfc3339(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(info.install_time as u64),
    );
    Ok(Some(super::legacy(json!({
        "term": info.term,
        "install_time": install,
        "encryptions": info.encryptions,
    }))))
}

// ---- rekey ----

/// Which key a rekey replaces: the unseal key (`sys/rekey`, Shamir) or the recovery key
/// (`sys/rekey-recovery-key`, auto seal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Unseal,
    Recovery,
}

impl Target {
    fn slot(self, core: &Core) -> &parking_lot::Mutex<Option<RekeyOperation>> {
        match self {
            Target::Unseal => &core.keys.rekey,
            Target::Recovery => &core.keys.rekey_recovery,
        }
    }

    /// The current shares of the key, refusing the rekey that does not apply to this seal.
    async fn config(self, core: &Core) -> Result<SealConfig, ApiError> {
        match (self, core.storage.auto_seal.is_some()) {
            (Target::Unseal, true) => Err(ApiError::bad(
                "with an auto seal the unseal key is the seal's: rekey the recovery key \
                 (sys/rekey-recovery-key)",
            )),
            (Target::Recovery, false) => {
                Err(ApiError::bad("recovery keys exist only with an auto seal"))
            }
            (Target::Unseal, false) => current_config(core).await,
            (Target::Recovery, true) => core.authorising_config().await,
        }
    }
}

pub async fn rekey_init(
    core: &Arc<Core>,
    req: &Request,
    target: Target,
) -> Result<Option<Response>, ApiError> {
    let config = target.config(core).await?;
    match req.operation {
        Operation::Read => match &*target.slot(core).lock() {
            Some(op) => raw(&op.status()),
            None => raw(&coffer_seal::rekey::RekeyStatus::idle(
                config.secret_threshold,
            )),
        },
        Operation::Create | Operation::Update => {
            let f = Fields(&req.data);
            let rekey_config = RekeyConfig {
                secret_shares: f.u8_or("secret_shares", 0)?,
                secret_threshold: f.u8_or("secret_threshold", 0)?,
                pgp_keys: f.list_opt("pgp_keys")?.unwrap_or_default(),
                backup: f.bool_or("backup", false)?,
                require_verification: f.bool_or("require_verification", false)?,
            };
            let mut slot = target.slot(core).lock();
            if slot.is_some() {
                return Err(ApiError::bad("rekey already in progress"));
            }
            let op =
                RekeyOperation::new(rekey_config, config.secret_threshold).map_err(seal_err)?;
            let status = op.status();
            *slot = Some(op);
            raw(&status)
        }
        Operation::Delete => {
            *target.slot(core).lock() = None;
            if target == Target::Unseal {
                *core.keys.rekey_root_key.lock() = None;
            }
            Ok(None)
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}

fn key_and_nonce(req: &Request) -> Result<(Vec<u8>, String), ApiError> {
    let f = Fields(&req.data);
    let key = decode_key(&f.str_req("key")?).map_err(seal_err)?;
    Ok((key, f.str_req("nonce")?))
}

pub async fn rekey_update(
    core: &Arc<Core>,
    req: &Request,
    target: Target,
) -> Result<Option<Response>, ApiError> {
    if !matches!(req.operation, Operation::Create | Operation::Update) {
        return Err(ApiError::UnsupportedOperation);
    }
    let (key, nonce) = key_and_nonce(req)?;
    step_in_slot(
        target.slot(core),
        "no rekey in progress",
        RekeyOperation::is_complete,
        |mut op| async move {
            let result = rekey_step(core, &mut op, key, &nonce, target).await;
            (op, result)
        },
    )
    .await
}

async fn rekey_step(
    core: &Arc<Core>,
    op: &mut RekeyOperation,
    key: Vec<u8>,
    nonce: &str,
    target: Target,
) -> Result<Option<Response>, ApiError> {
    op.check_nonce(nonce).map_err(seal_err)?;
    let Some(current) = op.add(key).map_err(seal_err)? else {
        return raw(&op.status());
    };
    if target == Target::Recovery {
        if !core.is_authorising_key(&current).await? {
            op.reject_current_key();
            return Err(ApiError::bad(format!(
                "recovery key verification failed: {RECOVERY_KEY_MISMATCH}"
            )));
        }
        let output = op.generate().map_err(seal_err)?;
        if let Some(new_key) = &output.new_key {
            install_recovery_key(core, new_key, op.config()).await?;
        }
        return raw(&output.response());
    }
    let Ok(root) = core.unwrap_root_key(&current).await else {
        op.reject_current_key();
        return Err(ApiError::bad("invalid key"));
    };
    let output = op.generate().map_err(seal_err)?;
    match &output.new_key {
        Some(new_key) => install_unseal_key(core, new_key, &root, op.config()).await?,
        // Verification pending: keep the root key until the new shares are proven.
        None => *core.keys.rekey_root_key.lock() = Some(root),
    }
    raw(&output.response())
}

/// Rewrap the root key under a new unseal key and record the new share count and threshold.
async fn install_unseal_key(
    core: &Core,
    new_key: &[u8],
    root: &coffer_barrier::RootKey,
    rekey: &RekeyConfig,
) -> Result<(), ApiError> {
    let seal = ShamirSeal::new(new_key).map_err(ApiError::internal)?;
    let wrapped = seal
        .wrap(root.as_bytes())
        .await
        .map_err(ApiError::internal)?;
    core.records().put_wrapped_root_key(wrapped).await?;
    let mut config = current_config(core).await?;
    config.secret_shares = rekey.secret_shares;
    config.secret_threshold = rekey.secret_threshold;
    core.records().put_seal_config(&config).await?;
    tracing::info!(
        shares = rekey.secret_shares,
        threshold = rekey.secret_threshold,
        "rekeyed"
    );
    Ok(())
}

/// Replace the recovery key (kept behind the barrier) and record its new shares.
async fn install_recovery_key(
    core: &Core,
    new_key: &[u8],
    rekey: &RekeyConfig,
) -> Result<(), ApiError> {
    core.view("")
        .put(crate::records::RECOVERY_KEY_PATH, new_key)
        .await?;
    let mut config = core.authorising_config().await?;
    config.secret_shares = rekey.secret_shares;
    config.secret_threshold = rekey.secret_threshold;
    core.records().put_recovery_config(&config).await?;
    tracing::info!(
        shares = rekey.secret_shares,
        threshold = rekey.secret_threshold,
        "rekeyed the recovery key"
    );
    Ok(())
}

pub async fn rekey_verify(
    core: &Arc<Core>,
    req: &Request,
    target: Target,
) -> Result<Option<Response>, ApiError> {
    match req.operation {
        Operation::Read => match &*target.slot(core).lock() {
            Some(op) => raw(&op.verification_status()),
            None => Err(ApiError::bad("no rekey configuration found")),
        },
        Operation::Delete => {
            let mut slot = target.slot(core).lock();
            let op = slot
                .as_mut()
                .ok_or_else(|| ApiError::bad("no rekey in progress"))?;
            op.verify_restart().map_err(seal_err)?;
            raw(&op.verification_status())
        }
        Operation::Create | Operation::Update => {
            let (key, nonce) = key_and_nonce(req)?;
            let done = RekeyOperation::is_complete;
            step_in_slot(
                target.slot(core),
                "no rekey in progress",
                done,
                |mut op| async move {
                    let result = verify_step(core, &mut op, key, &nonce, target).await;
                    (op, result)
                },
            )
            .await
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}

async fn verify_step(
    core: &Core,
    op: &mut RekeyOperation,
    key: Vec<u8>,
    nonce: &str,
    target: Target,
) -> Result<Option<Response>, ApiError> {
    op.check_verification_nonce(nonce).map_err(seal_err)?;
    let Some(new_key) = op.verify_add(key).map_err(seal_err)? else {
        return raw(&op.verification_status());
    };
    if target == Target::Recovery {
        install_recovery_key(core, &new_key, op.config()).await?;
        return Ok(Some(Response::raw(
            json!({ "nonce": nonce, "complete": true }),
        )));
    }
    let root = core
        .keys
        .rekey_root_key
        .lock()
        .take()
        .ok_or_else(|| ApiError::internal("rekey verification without a pending root key"))?;
    install_unseal_key(core, &new_key, &root, op.config()).await?;
    Ok(Some(Response::raw(
        json!({ "nonce": nonce, "complete": true }),
    )))
}

// ---- generate-root ----

pub async fn generate_root_attempt(
    core: &Arc<Core>,
    req: &Request,
) -> Result<Option<Response>, ApiError> {
    let config = core.authorising_config().await?;
    match req.operation {
        Operation::Read => match &*core.keys.generate_root.lock() {
            Some(a) => raw(&a.status()),
            None => raw(&coffer_seal::GenerateRootStatus::idle(
                config.secret_threshold,
            )),
        },
        Operation::Create | Operation::Update => {
            let f = Fields(&req.data);
            if f.str_opt("pgp_key")?.is_some_and(|k| !k.is_empty()) {
                return Err(ApiError::bad("PGP-encrypted root tokens are not supported"));
            }
            let mut slot = core.keys.generate_root.lock();
            if slot.is_some() {
                return Err(ApiError::bad("root generation already in progress"));
            }
            let attempt = match f.str_opt("otp")?.filter(|o| !o.is_empty()) {
                Some(otp) => {
                    GenerateRootAttempt::with_otp(otp, OTP_LENGTH, config.secret_threshold)
                }
                None => GenerateRootAttempt::start(OTP_LENGTH, config.secret_threshold),
            }
            .map_err(seal_err)?;
            let status = attempt.start_status();
            *slot = Some(attempt);
            raw(&status)
        }
        Operation::Delete => {
            *core.keys.generate_root.lock() = None;
            Ok(None)
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}

pub async fn generate_root_update(
    core: &Arc<Core>,
    req: &Request,
) -> Result<Option<Response>, ApiError> {
    if !matches!(req.operation, Operation::Create | Operation::Update) {
        return Err(ApiError::UnsupportedOperation);
    }
    let (key, nonce) = key_and_nonce(req)?;
    let missing = "no root generation in progress";
    let done = GenerateRootAttempt::is_complete;
    step_in_slot(
        &core.keys.generate_root,
        missing,
        done,
        |mut attempt| async move {
            let result = generate_root_step(core, &mut attempt, key, &nonce).await;
            (attempt, result)
        },
    )
    .await
}

async fn generate_root_step(
    core: &Arc<Core>,
    attempt: &mut GenerateRootAttempt,
    key: Vec<u8>,
    nonce: &str,
) -> Result<Option<Response>, ApiError> {
    attempt.check_nonce(nonce).map_err(seal_err)?;
    let Some(combined) = attempt.add(key).map_err(seal_err)? else {
        return raw(&attempt.status());
    };
    if !core.is_authorising_key(&combined).await? {
        attempt.reject_key();
        let message = if core.storage.auto_seal.is_some() {
            RECOVERY_KEY_MISMATCH
        } else {
            "invalid key"
        };
        return Err(ApiError::bad(message));
    }
    let active = core.active()?;
    let token = active.tokens.create_root_token().await?;
    attempt.finish(&token).map_err(seal_err)?;
    raw(&attempt.status())
}
