//! `v2.KeyManagementService` over a transit key: what kube-apiserver calls on the socket.
//! Every call is bounded by the plugin's timeout and ends in a gRPC status, never a hang.

use super::pb;
use super::transit::{TransitError, TransitKey};
use crate::plugin_client::ClientError;
use pb::key_management_service_server::KeyManagementService;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tonic::{Request, Response, Status};

/// The KMS API version this plugin speaks (`StatusResponse.version`).
pub const API_VERSION: &str = "v2";

/// The service: a transit key and the deadline of one call.
#[derive(Debug, Clone)]
pub struct KmsService {
    pub key: Arc<TransitKey>,
    pub timeout: Duration,
}

/// The gRPC status of a failed transit operation.
pub fn status_of(e: &TransitError) -> Status {
    match e {
        TransitError::Coffer(ClientError::Timeout(_)) => Status::deadline_exceeded(e.to_string()),
        TransitError::Coffer(ClientError::Unreachable(_)) => Status::unavailable(e.to_string()),
        TransitError::Coffer(ClientError::Config(_)) => Status::failed_precondition(e.to_string()),
        TransitError::Coffer(ClientError::Status { status, .. }) => match status {
            400 => Status::invalid_argument(e.to_string()),
            401 | 403 => Status::permission_denied(e.to_string()),
            404 => Status::not_found(e.to_string()),
            429 | 500..=599 => Status::unavailable(e.to_string()),
            _ => Status::internal(e.to_string()),
        },
        TransitError::Shape(_) => Status::internal(e.to_string()),
        TransitError::Unusable(_) => Status::failed_precondition(e.to_string()),
        TransitError::Ciphertext => Status::invalid_argument(e.to_string()),
    }
}

impl KmsService {
    /// Run `work` within the deadline: its error, or DEADLINE_EXCEEDED.
    async fn bounded<T>(
        &self,
        work: impl Future<Output = Result<T, TransitError>>,
    ) -> Result<T, Status> {
        match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result.map_err(|e| status_of(&e)),
            Err(_) => Err(Status::deadline_exceeded(format!(
                "coffer did not answer within {:?}",
                self.timeout
            ))),
        }
    }
}

#[tonic::async_trait]
impl KeyManagementService for KmsService {
    async fn status(
        &self,
        _request: Request<pb::StatusRequest>,
    ) -> Result<Response<pb::StatusResponse>, Status> {
        // An unhealthy plugin still answers: kube-apiserver shows `healthz` in its own healthz.
        let (healthz, key_id) = match self.bounded(self.key.current_key_id()).await {
            Ok(key_id) => ("ok".to_string(), key_id),
            Err(status) => (status.message().to_string(), String::new()),
        };
        Ok(Response::new(pb::StatusResponse {
            version: API_VERSION.into(),
            healthz,
            key_id,
        }))
    }

    async fn decrypt(
        &self,
        request: Request<pb::DecryptRequest>,
    ) -> Result<Response<pb::DecryptResponse>, Status> {
        let request = request.into_inner();
        let plaintext = self.bounded(self.key.decrypt(&request.ciphertext)).await?;
        Ok(Response::new(pb::DecryptResponse { plaintext }))
    }

    async fn encrypt(
        &self,
        request: Request<pb::EncryptRequest>,
    ) -> Result<Response<pb::EncryptResponse>, Status> {
        let request = request.into_inner();
        if request.plaintext.is_empty() {
            return Err(Status::invalid_argument("plaintext is empty"));
        }
        let (ciphertext, key_id) = self.bounded(self.key.encrypt(&request.plaintext)).await?;
        Ok(Response::new(pb::EncryptResponse {
            ciphertext,
            key_id,
            annotations: HashMap::new(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    #[test]
    fn coffer_failures_map_to_grpc_codes() {
        let code = |e: ClientError| status_of(&TransitError::Coffer(e)).code();
        assert_eq!(
            code(ClientError::Timeout(Duration::from_secs(1))),
            Code::DeadlineExceeded
        );
        assert_eq!(
            code(ClientError::Unreachable("x".into())),
            Code::Unavailable
        );
        let answered = |status| ClientError::Status {
            status,
            message: String::new(),
        };
        assert_eq!(code(answered(503)), Code::Unavailable);
        assert_eq!(code(answered(403)), Code::PermissionDenied);
        assert_eq!(code(answered(400)), Code::InvalidArgument);
        assert_eq!(
            status_of(&TransitError::Ciphertext).code(),
            Code::InvalidArgument
        );
    }
}
