//! The two calls service registration makes: GET this pod, PATCH its labels with a JSON patch
//! (and [`KubeClient::call_path`] for other objects: the agent injector patches its webhook).
//! HTTPS over rustls trusting only the service account's CA, `Authorization: Bearer <token>`.
//! A 401 or 403 drops the cached token: the next call reads it again (kubelet rotates it).

use super::in_cluster::{Credentials, InCluster, InClusterError};
use crate::api_client::{exchange, CallError};
use http_body_util::Full;
use hyper::body::Bytes;
use serde_json::Value;
use std::time::Duration;

/// How long one API call may take, connect included.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a call to the Kubernetes API failed.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error(transparent)]
    Credentials(#[from] InClusterError),
    #[error("kubernetes API: {0}")]
    Call(#[from] CallError),
    #[error("kubernetes API timed out")]
    Timeout,
    #[error("kubernetes API refused the service account token ({status}): {message}")]
    Unauthorized { status: u16, message: String },
    #[error("kubernetes API answered {status}: {message}")]
    Status { status: u16, message: String },
}

/// A client for this pod's own object.
pub struct KubeClient {
    cluster: InCluster,
    credentials: Option<Credentials>,
}

impl KubeClient {
    pub fn new(cluster: InCluster) -> KubeClient {
        KubeClient {
            cluster,
            credentials: None,
        }
    }

    /// Which pod this client labels.
    pub fn cluster(&self) -> &InCluster {
        &self.cluster
    }

    /// GET the pod.
    pub async fn get_pod(&mut self) -> Result<Value, KubeError> {
        let path = self.cluster.pod_path();
        self.call_path("GET", &path, None).await
    }

    /// PATCH the pod with a JSON patch (RFC 6902).
    pub async fn patch_pod(&mut self, patch: &Value) -> Result<Value, KubeError> {
        let body = serde_json::to_vec(patch).unwrap_or_default();
        let path = self.cluster.pod_path();
        self.call_path("PATCH", &path, Some(("application/json-patch+json", body)))
            .await
    }

    /// One call to `path` with an optional `(content type, body)`; after a 401/403 the
    /// credentials are read again and the call is made once more.
    pub async fn call_path(
        &mut self,
        method: &str,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Value, KubeError> {
        match self.call_once(method, path, body.clone()).await {
            Err(KubeError::Unauthorized { .. }) => self.call_once(method, path, body).await,
            other => other,
        }
    }

    async fn call_once(
        &mut self,
        method: &str,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Value, KubeError> {
        if self.credentials.is_none() {
            self.credentials = Some(self.cluster.credentials()?);
        }
        let creds = self
            .credentials
            .as_ref()
            .expect("credentials were loaded just above");
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, self.cluster.authority.as_str())
            .header(hyper::header::ACCEPT, "application/json")
            .header(
                hyper::header::AUTHORIZATION,
                format!("Bearer {}", creds.token.as_str()),
            );
        let payload = match body {
            Some((content_type, bytes)) => {
                builder = builder.header(hyper::header::CONTENT_TYPE, content_type);
                Bytes::from(bytes)
            }
            None => Bytes::new(),
        };
        let request = builder
            .body(Full::new(payload))
            .map_err(|e| CallError::Io(e.to_string()))?;
        let outcome = tokio::time::timeout(
            CALL_TIMEOUT,
            exchange(true, &self.cluster.authority, Some(&creds.ca_pem), request),
        )
        .await;
        let (status, bytes) = match outcome {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                // The CA may have been rotated too: read both files again next time.
                self.credentials = None;
                return Err(e.into());
            }
            Err(_) => return Err(KubeError::Timeout),
        };
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let message = || {
            value["message"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(200).collect())
        };
        match status {
            200..=299 => Ok(value),
            401 | 403 => {
                self.credentials = None;
                Err(KubeError::Unauthorized {
                    status,
                    message: message(),
                })
            }
            _ => Err(KubeError::Status {
                status,
                message: message(),
            }),
        }
    }
}
