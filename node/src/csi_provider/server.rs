//! `v1alpha1.CSIDriverProvider`: what the Secrets Store CSI driver calls on the socket.
//!
//! The files go back in `MountResponse.files` and the driver writes them into the pod's volume
//! (atomically, with the modes given); the provider never writes to `target_path` itself, as
//! modern providers do (the driver stopped asking providers to write once `files` existed).

use super::fetch::{self, FetchError};
use super::params::{self, ParamsError};
use super::pb;
use crate::plugin_client::{ClientError, Endpoint, Target};
use pb::csi_driver_provider_server::CsiDriverProvider;
use std::time::Duration;
use tonic::{Request, Response, Status};

/// `VersionResponse.runtime_name`.
pub const RUNTIME_NAME: &str = "coffer";

/// The provider: where Coffer is by default and the deadline of one Mount.
#[derive(Debug, Clone)]
pub struct CsiService {
    pub target: Target,
    pub timeout: Duration,
}

/// Files get this mode when neither the object nor the request names one (0644).
const DEFAULT_MODE: u32 = 0o644;

/// The gRPC status of a failed Mount.
pub fn status_of(e: &FetchError) -> Status {
    let message = e.to_string();
    let by_client = |source: &ClientError, login: bool| match source {
        ClientError::Timeout(_) => Status::deadline_exceeded(message.clone()),
        ClientError::Unreachable(_) => Status::unavailable(message.clone()),
        ClientError::Config(_) => Status::failed_precondition(message.clone()),
        ClientError::Status { status, .. } => match status {
            401 | 403 => Status::permission_denied(message.clone()),
            400 if login => Status::permission_denied(message.clone()),
            400 => Status::invalid_argument(message.clone()),
            404 => Status::not_found(message.clone()),
            429 | 500..=599 => Status::unavailable(message.clone()),
            _ => Status::internal(message.clone()),
        },
    };
    match e {
        FetchError::Login { source, .. } => by_client(source, true),
        FetchError::Read { source, .. } => by_client(source, false),
        FetchError::NoKey { .. } | FetchError::NoData { .. } => Status::not_found(message),
        FetchError::Decode { .. } => Status::invalid_argument(message),
        FetchError::Config(_) => Status::failed_precondition(message),
    }
}

fn params_status(e: &ParamsError) -> Status {
    Status::invalid_argument(e.to_string())
}

/// The request's `permission` (a decimal file mode, as the driver sends it: `"420"`).
fn request_mode(permission: &str) -> Result<u32, Status> {
    let permission = permission.trim();
    if permission.is_empty() {
        return Ok(DEFAULT_MODE);
    }
    permission
        .parse::<u32>()
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| Status::invalid_argument(format!("permission {permission:?}")))
}

impl CsiService {
    async fn mount(&self, request: pb::MountRequest) -> Result<pb::MountResponse, Status> {
        let params = params::parse(&request.attributes).map_err(|e| params_status(&e))?;
        let default_mode = request_mode(&request.permission)?;
        let address = params
            .address
            .clone()
            .unwrap_or_else(|| self.target.address());
        let ca_cert = params
            .ca_cert
            .clone()
            .or_else(|| self.target.ca_cert.clone());
        let endpoint = Endpoint::new(
            &address,
            ca_cert.as_deref(),
            params.skip_verify || self.target.tls_skip_verify,
            self.timeout,
        )
        .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let work = fetch::fetch_all(endpoint, &params, default_mode);
        let fetched = match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result.map_err(|e| {
                tracing::warn!(pod = %params.pod.name, namespace = %params.pod.namespace,
                    error = %e, "mount failed");
                status_of(&e)
            })?,
            Err(_) => {
                return Err(Status::deadline_exceeded(format!(
                    "coffer did not answer within {:?}",
                    self.timeout
                )))
            }
        };
        let object_version = fetched
            .iter()
            .map(|f| pb::ObjectVersion {
                id: f.path.clone(),
                version: f.version.clone(),
            })
            .collect();
        let files = fetched
            .into_iter()
            .map(|f| pb::File {
                path: f.path,
                // At most 0o777 (objects::file_mode and request_mode check), so it fits.
                mode: i32::try_from(f.mode).unwrap_or(0o644),
                contents: f.contents,
            })
            .collect();
        Ok(pb::MountResponse {
            object_version,
            error: None,
            files,
        })
    }
}

#[tonic::async_trait]
impl CsiDriverProvider for CsiService {
    async fn version(
        &self,
        request: Request<pb::VersionRequest>,
    ) -> Result<Response<pb::VersionResponse>, Status> {
        Ok(Response::new(pb::VersionResponse {
            version: request.into_inner().version,
            runtime_name: RUNTIME_NAME.into(),
            runtime_version: env!("CARGO_PKG_VERSION").into(),
        }))
    }

    async fn mount(
        &self,
        request: Request<pb::MountRequest>,
    ) -> Result<Response<pb::MountResponse>, Status> {
        CsiService::mount(self, request.into_inner())
            .await
            .map(Response::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    #[test]
    fn request_modes_are_decimal() {
        assert_eq!(request_mode("420").unwrap(), 0o644);
        assert_eq!(request_mode("").unwrap(), DEFAULT_MODE);
        assert!(request_mode("0x1").is_err());
        assert!(request_mode("4096").is_err());
    }

    #[test]
    fn a_refused_login_is_permission_denied() {
        let e = FetchError::Login {
            mount: "kubernetes".into(),
            role: "app".into(),
            source: ClientError::Status {
                status: 403,
                message: "service account name not authorized".into(),
            },
        };
        assert_eq!(status_of(&e).code(), Code::PermissionDenied);
        let e = FetchError::Read {
            object: "x".into(),
            source: ClientError::Status {
                status: 404,
                message: String::new(),
            },
        };
        assert_eq!(status_of(&e).code(), Code::NotFound);
    }
}
