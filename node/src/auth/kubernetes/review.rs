//! The Kubernetes TokenReview call: `POST {kubernetes_host}/apis/authentication.k8s.io/v1/tokenreviews`
//! with the token to review, authorised by a bearer token, over TLS verified against the
//! configured CA. The wire types and the reading of the answer are plain; `review` does the I/O
//! through the node's hyper + rustls client (`api_client`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The path of the TokenReview API.
pub const TOKEN_REVIEW_PATH: &str = "/apis/authentication.k8s.io/v1/tokenreviews";

/// A `TokenReview` request object.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TokenReviewRequest<'a> {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub spec: Spec<'a>,
}

/// `spec` of a TokenReview request.
#[derive(Debug, Serialize, PartialEq)]
pub struct Spec<'a> {
    pub token: &'a str,
    #[serde(skip_serializing_if = "no_audiences")]
    pub audiences: &'a [String],
}

fn no_audiences(audiences: &&[String]) -> bool {
    audiences.is_empty()
}

impl<'a> TokenReviewRequest<'a> {
    /// Review `token`, asking that it be valid for `audiences` (none: the API server's default).
    pub fn new(token: &'a str, audiences: &'a [String]) -> Self {
        TokenReviewRequest {
            api_version: "authentication.k8s.io/v1",
            kind: "TokenReview",
            spec: Spec { token, audiences },
        }
    }
}

/// The answer's `status`.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct ReviewStatus {
    pub authenticated: bool,
    pub user: UserInfo,
    pub audiences: Vec<String>,
    pub error: String,
}

/// `status.user`.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct UserInfo {
    pub username: String,
    pub uid: String,
    pub groups: Vec<String>,
}

/// A TokenReview answer.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct TokenReviewResponse {
    pub status: ReviewStatus,
}

/// The service account the cluster says a token belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Reviewed {
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

/// Why a review did not vouch for the token. None of these carry the token.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReviewError {
    #[error("calling the TokenReview API: {0}")]
    Call(String),
    #[error("the TokenReview API answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("lookup failed: {0}")]
    Failed(String),
    #[error("lookup failed: service account jwt not valid")]
    NotAuthenticated,
    #[error("lookup failed: unexpected username format")]
    Username,
    #[error("lookup failed: the token is not valid for audience {0:?}")]
    Audience(String),
}

/// Read a TokenReview answer (`status` code and JSON body).
pub fn interpret(
    status: u16,
    body: &Value,
    audience: Option<&str>,
) -> Result<Reviewed, ReviewError> {
    if !(200..300).contains(&status) {
        let message = body["message"].as_str().unwrap_or("no message").to_string();
        return Err(ReviewError::Status { status, message });
    }
    let review: TokenReviewResponse = serde_json::from_value(body.clone())
        .map_err(|e| ReviewError::Failed(format!("unreadable TokenReview: {e}")))?;
    let s = review.status;
    if !s.error.is_empty() {
        return Err(ReviewError::Failed(s.error));
    }
    if !s.authenticated {
        return Err(ReviewError::NotAuthenticated);
    }
    if let Some(aud) = audience {
        if !s.audiences.is_empty() && !s.audiences.iter().any(|a| a == aud) {
            return Err(ReviewError::Audience(aud.to_string()));
        }
    }
    let parts: Vec<&str> = s.user.username.split(':').collect();
    match parts[..] {
        ["system", "serviceaccount", namespace, name]
            if !namespace.is_empty() && !name.is_empty() =>
        {
            Ok(Reviewed {
                namespace: namespace.to_string(),
                name: name.to_string(),
                uid: s.user.uid,
            })
        }
        _ => Err(ReviewError::Username),
    }
}

/// Ask the cluster at `host` about `token`.
pub async fn review(
    host: &str,
    ca_pem: Option<&str>,
    bearer: &str,
    token: &str,
    audiences: &[String],
) -> Result<Reviewed, ReviewError> {
    let body = serde_json::to_value(TokenReviewRequest::new(token, audiences))
        .map_err(|e| ReviewError::Call(e.to_string()))?;
    let (status, answer) =
        crate::api_client::post_json_to(host, TOKEN_REVIEW_PATH, Some(bearer), &body, ca_pem)
            .await
            .map_err(|e| ReviewError::Call(e.to_string()))?;
    let audience = (audiences.len() == 1).then(|| audiences[0].as_str());
    interpret(status, &answer, audience)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_have_the_kubernetes_shape() {
        let auds = vec!["vault".to_string()];
        let v = serde_json::to_value(TokenReviewRequest::new("jwt", &auds)).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                   "spec": {"token": "jwt", "audiences": ["vault"]}})
        );
        let v = serde_json::to_value(TokenReviewRequest::new("jwt", &[])).unwrap();
        assert!(v["spec"].get("audiences").is_none());
    }

    fn answer(status: Value) -> Value {
        json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status})
    }

    #[test]
    fn an_authenticated_service_account_is_read_from_the_username() {
        let body = answer(json!({"authenticated": true,
            "user": {"username": "system:serviceaccount:example-app:basic-secret", "uid": "u-1",
                     "groups": ["system:serviceaccounts"]},
            "audiences": ["vault"]}));
        let r = interpret(201, &body, Some("vault")).unwrap();
        assert_eq!(
            r,
            Reviewed {
                namespace: "example-app".into(),
                name: "basic-secret".into(),
                uid: "u-1".into()
            }
        );
    }

    #[test]
    fn refusals_and_oddities_are_errors() {
        let rejected = answer(json!({"authenticated": false}));
        assert_eq!(
            interpret(201, &rejected, None),
            Err(ReviewError::NotAuthenticated)
        );
        let with_error = answer(json!({"error": "token expired"}));
        assert_eq!(
            interpret(201, &with_error, None),
            Err(ReviewError::Failed("token expired".into()))
        );
        let user = answer(json!({"authenticated": true, "user": {"username": "alice"}}));
        assert_eq!(interpret(200, &user, None), Err(ReviewError::Username));
        let aud = answer(json!({"authenticated": true, "audiences": ["other"],
            "user": {"username": "system:serviceaccount:a:b"}}));
        assert!(matches!(
            interpret(200, &aud, Some("vault")),
            Err(ReviewError::Audience(_))
        ));
        let denied =
            json!({"kind": "Status", "status": "Failure", "message": "Unauthorized", "code": 401});
        assert!(matches!(
            interpret(401, &denied, None),
            Err(ReviewError::Status { status: 401, .. })
        ));
        assert!(matches!(
            interpret(200, &json!({"status": 5}), None),
            Err(ReviewError::Failed(_))
        ));
    }
}
