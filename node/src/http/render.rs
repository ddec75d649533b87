//! `Response`/`ApiError` → HTTP: Vault's envelope, `{"errors": [...]}`, 204 for empty writes.

use crate::error::ApiError;
use crate::request::Response;
use axum::body::Body;
use axum::response::Response as HttpResponse;
use http::{header, StatusCode};
use serde_json::{json, Value};

fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
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
    if let Some((content_type, text)) = resp.text {
        return HttpResponse::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(text))
            .unwrap_or_default();
    }
    if let Some((status, body)) = &resp.raw {
        let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
        return json_response(status, body);
    }
    json_response(StatusCode::OK, &envelope(request_id, &resp))
}

/// Vault's response envelope.
pub fn envelope(request_id: &str, resp: &Response) -> Value {
    let mut body = json!({
        "request_id": request_id,
        "lease_id": resp.lease_id,
        "renewable": resp.renewable,
        "lease_duration": resp.lease_duration,
        "data": resp.data,
        "wrap_info": resp.wrap_info.clone().unwrap_or(Value::Null),
        "warnings": if resp.warnings.is_empty() { Value::Null } else { json!(resp.warnings) },
        "auth": resp.auth,
        "mount_type": "",
    });
    if resp.merge_data_top_level {
        if let (Some(data), Some(obj)) = (&resp.data, body.as_object_mut()) {
            for (k, v) in data {
                obj.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    body
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
    fn envelope_has_vault_fields_and_legacy_merge() {
        let mut r = Response::data(json!({"keys": ["a"]}));
        r.merge_data_top_level = true;
        let v = envelope("rid", &r);
        assert_eq!(v["request_id"], "rid");
        assert_eq!(v["data"]["keys"][0], "a");
        assert_eq!(v["keys"][0], "a");
        assert!(v["wrap_info"].is_null());
    }
}
