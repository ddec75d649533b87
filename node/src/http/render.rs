//! `Response`/`ApiError` → HTTP: Vault's envelope, `{"errors": [...]}`, 204 for empty writes.

use crate::error::ApiError;
use crate::request::{Body as ResponseBody, Response};
use axum::body::Body;
use axum::response::Response as HttpResponse;
use http::{header, StatusCode};
use serde_json::{json, Value};

fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    json_bytes_response(status, serde_json::to_vec(body))
}

fn json_bytes_response(
    status: StatusCode,
    bytes: Result<Vec<u8>, serde_json::Error>,
) -> HttpResponse {
    let bytes = bytes.unwrap_or_else(|_| b"{}".to_vec());
    HttpResponse::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(bytes))
        .unwrap_or_default()
}

/// An error as Vault sends it.
pub fn render_error(e: &ApiError) -> HttpResponse {
    json_response(e.status(), &json!({ "errors": e.messages() }))
}

/// A handler's answer: `None` → 204, raw bodies as they are, everything else in the envelope.
pub fn render(request_id: &str, resp: Option<Response>) -> HttpResponse {
    let Some(resp) = resp else {
        return HttpResponse::builder()
            .status(StatusCode::NO_CONTENT)
            .body(Body::empty())
            .unwrap_or_default();
    };
    match resp.body {
        ResponseBody::Text(content_type, text) => HttpResponse::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(text))
            .unwrap_or_default(),
        ResponseBody::Bytes(content_type, bytes) => HttpResponse::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(bytes))
            .unwrap_or_default(),
        ResponseBody::Raw(status, ref body) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            json_response(status, body)
        }
        ResponseBody::Envelope | ResponseBody::EnvelopeMerged => {
            json_bytes_response(StatusCode::OK, resp.envelope_json(request_id))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_response_is_204_and_errors_are_listed() {
        assert_eq!(render("id", None).status(), StatusCode::NO_CONTENT);
        let e = render_error(&ApiError::PermissionDenied);
        assert_eq!(e.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn the_envelope_written_from_borrowed_fields_is_the_built_one() {
        let mut r = Response::data(json!({"password": "s3cr\"t", "n": 1}));
        r.warnings = vec!["careful".into()];
        r.lease_id = "secret/x/1".into();
        r.lease_duration = 60;
        r.renewable = true;
        r.mount_type = "kv".into();
        r.wrap_info = Some(json!({"token": "t"}));
        r.auth = Some(crate::request::AuthInfo::default());
        let written = |r: &Response| -> Value {
            serde_json::from_slice(&r.envelope_json("rid").unwrap()).unwrap()
        };
        for shape in [ResponseBody::Envelope, ResponseBody::EnvelopeMerged] {
            r.body = shape;
            assert_eq!(written(&r), r.envelope("rid"));
        }
        let bare = Response::data(json!({}));
        assert_eq!(written(&bare), bare.envelope("rid"));
    }

    #[test]
    fn envelope_has_vault_fields_and_legacy_merge() {
        let mut r = Response::data(json!({"keys": ["a"]}));
        r.body = ResponseBody::EnvelopeMerged;
        let v = r.envelope("rid");
        assert_eq!(v["request_id"], "rid");
        assert_eq!(v["data"]["keys"][0], "a");
        assert_eq!(v["keys"][0], "a");
        assert!(v["wrap_info"].is_null());
    }
}
