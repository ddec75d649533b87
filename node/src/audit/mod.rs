//! Audit devices (Vault's `sys/audit`; `file` with its `stdout` and `discard` paths, `socket`,
//! `syslog`: `sink.rs`): every authenticated request and every login is logged
//! before it runs and its response after (a request refused for its token or by policy: both
//! lines, with the error), as one JSON line each, with secret values replaced by their
//! HMAC-SHA256 under the device's own key (`hash.rs`). If devices are enabled and none of them
//! can log a request, the request fails before it changes anything, as in Vault.
//!
//! The table of devices (`core/audit`, behind the barrier) is replicated; each node opens the
//! files on its own disk when it loads its active state, so whichever node is active logs.

mod device;
mod entry;
mod hash;
mod hashed;
mod sink;
mod socket;
mod syslog;
pub(crate) mod table;

pub use hash::hash_value;
pub use table::{AuditDeviceEntry, AuditTable, AUDIT_TABLE_PATH};

use crate::error::ApiError;
use crate::mounts::MountConfig;
use crate::request::{Request, Response};
use crate::token::TokenEntry;
use entry::Hasher;
use parking_lot::Mutex;
use sink::Sink;
use std::sync::Arc;

/// Why auditing failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit device {path}: {reason}")]
    Device { path: String, reason: String },
    #[error("unsupported audit device type {0:?}")]
    UnknownType(String),
    #[error("file_path is required for a file audit device")]
    NoFilePath,
    #[error("{0}")]
    Option(String),
    #[error("audit line could not be serialised: {0}")]
    Line(String),
}

/// Check `entry`'s device can be written (when enabling it: Vault refuses a device it cannot
/// open).
pub fn check_device(entry: &AuditDeviceEntry) -> Result<(), AuditError> {
    Sink::for_entry(entry)?.check()
}

/// One enabled device: its entry, where its lines go, and its key, set up once.
struct Device {
    entry: AuditDeviceEntry,
    sink: Arc<Sink>,
    hasher: Hasher,
}

impl Device {
    fn new(entry: &AuditDeviceEntry, sink: Arc<Sink>) -> Device {
        Device {
            entry: entry.clone(),
            sink,
            hasher: Hasher::for_entry(entry),
        }
    }
}

/// The enabled devices, opened. A request takes the current list (one reference count) and
/// logs to it, so an enable or disable meanwhile does not hold it up.
#[derive(Default)]
pub struct AuditBroker {
    devices: Mutex<Arc<Vec<Device>>>,
    /// Held across a change of the stored table (read, persist, reload), so concurrent
    /// enables and disables each see the one before.
    changes: tokio::sync::Mutex<()>,
}

impl AuditBroker {
    /// Serialise a change of the audit table (held until the guard drops).
    pub async fn change(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.changes.lock().await
    }

    /// Open every device of `table`. A device whose file cannot be opened now is kept: it fails
    /// each write, and a request fails when no device can log it.
    pub fn open(table: &AuditTable) -> AuditBroker {
        let devices = table
            .entries
            .iter()
            .map(|e| Device::new(e, Arc::new(Sink::open(e))))
            .collect();
        AuditBroker {
            devices: Mutex::new(Arc::new(devices)),
            changes: tokio::sync::Mutex::new(()),
        }
    }

    /// Replace the open devices by those of `table` (after enable or disable).
    /// A device that stays (same path, type and options) keeps its open sink, so enabling
    /// another device does not drop a socket device's connection.
    pub fn reload(&self, table: &AuditTable) {
        let mut devices = self.devices.lock();
        let reopened = table
            .entries
            .iter()
            .map(|e| {
                let kept = devices.iter().find(|old| {
                    let old = &old.entry;
                    old.path == e.path && old.kind == e.kind && old.options == e.options
                });
                let sink = kept.map_or_else(|| Arc::new(Sink::open(e)), |d| d.sink.clone());
                Device::new(e, sink)
            })
            .collect();
        *devices = Arc::new(reopened);
    }

    fn snapshot(&self) -> Arc<Vec<Device>> {
        self.devices.lock().clone()
    }

    /// Log `req` before it runs. With devices enabled, at least one must take it.
    /// `mount`: the config of the mount the request is routed to (its `audit_non_hmac_*_keys`).
    pub fn log_request(
        &self,
        caller: &TokenEntry,
        req: &Request,
        mount: Option<&MountConfig>,
    ) -> Result<(), ApiError> {
        self.log_all(|h| entry::request_line(h, caller, req, mount))
    }

    /// Log the answer to `req` (`Err`: the error the client gets).
    pub fn log_response(
        &self,
        caller: &TokenEntry,
        req: &Request,
        resp: &Result<Option<Response>, ApiError>,
        mount: Option<&MountConfig>,
    ) -> Result<(), ApiError> {
        self.log_all(|h| entry::response_line(h, caller, req, resp, mount))
    }

    /// Log a request refused before it ran (bad token, ACL denial) and the error it gets; the
    /// error to answer with: `err`, or a 500 when no enabled device could log the refusal.
    pub fn refused(
        &self,
        caller: &TokenEntry,
        req: &Request,
        err: ApiError,
        mount: Option<&MountConfig>,
    ) -> ApiError {
        let result: Result<Option<Response>, ApiError> = Err(err);
        let logged = self
            .log_request(caller, req, mount)
            .and_then(|()| self.log_response(caller, req, &result, mount));
        match logged {
            Err(audit) => audit,
            // `result` is the refusal itself, always an `Err`.
            Ok(()) => result.err().unwrap_or(ApiError::PermissionDenied),
        }
    }

    fn log_all(
        &self,
        line: impl Fn(&Hasher) -> Result<String, AuditError>,
    ) -> Result<(), ApiError> {
        let devices = self.snapshot();
        if devices.is_empty() {
            return Ok(());
        }
        let mut logged = 0;
        for device in devices.iter() {
            match line(&device.hasher).and_then(|l| device.sink.append(&l)) {
                Ok(()) => logged += 1,
                Err(e) => {
                    tracing::error!(device = %device.entry.path, error = %e, "audit write failed")
                }
            }
        }
        if logged == 0 {
            return Err(ApiError::Internal(
                "no audit device could log the request".into(),
            ));
        }
        Ok(())
    }
}
