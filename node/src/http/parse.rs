//! HTTP request → `Request`: method to operation, token headers, JSON body, query parameters.

use crate::error::ApiError;
use crate::request::{Operation, Request};
use http::{HeaderMap, Method, Uri};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Request headers a handler may need, kept by lower-case name.
const KEPT_HEADERS: &[&str] = &["x-vault-wrap-ttl", "x-vault-request", "x-forwarded-for"];

fn token(headers: &HeaderMap) -> Option<String> {
    if let Some(t) = headers.get("x-vault-token").and_then(|v| v.to_str().ok()) {
        return Some(t.trim().to_string()).filter(|t| !t.is_empty());
    }
    let auth = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    auth.strip_prefix("Bearer ")
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

fn query_params(uri: &Uri) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(q) = uri.query() {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            out.insert(decode(k), Value::String(decode(v)));
        }
    }
    out
}

/// Percent-decoding of a query component (`+` is a space).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Go's `strconv.ParseBool`, which Vault applies to `?list=`: node-vault sends `list=1`.
fn go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn operation(method: &Method, query: &Map<String, Value>) -> Result<Operation, ApiError> {
    let is_get = matches!(method.as_str(), "GET" | "HEAD");
    let list = match query.get("list").and_then(Value::as_str) {
        Some("") | None => false,
        Some(s) if is_get => {
            go_bool(s).ok_or_else(|| ApiError::bad(format!("invalid value for list: {s:?}")))?
        }
        Some(_) => false,
    };
    match method.as_str() {
        "GET" | "HEAD" if list => Ok(Operation::List),
        "GET" | "HEAD" => Ok(Operation::Read),
        "LIST" => Ok(Operation::List),
        "POST" | "PUT" => Ok(Operation::Update),
        "DELETE" => Ok(Operation::Delete),
        "PATCH" => Ok(Operation::Patch),
        _ => Err(ApiError::UnsupportedOperation),
    }
}

fn body_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(_) => Err(ApiError::bad(
            "error parsing JSON: the body must be a JSON object",
        )),
        Err(e) => Err(ApiError::bad(format!("error parsing JSON: {e}"))),
    }
}

/// Build a `Request` from the parts of an HTTP request under `/v1/`.
pub fn parse_request(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Request, ApiError> {
    let Some(path) = uri.path().strip_prefix("/v1/") else {
        return Err(ApiError::NotFound(String::new()));
    };
    let mut path = decode_path(path);
    let query = query_params(uri);
    let op = operation(method, &query)?;
    // A snapshot restore posts the archive itself, not JSON (`sys_paths`' `raw_body`).
    let raw = op == Operation::Update && crate::sys_paths::is(&path, |p| p.raw_body);
    let mut data = match op {
        Operation::Update | Operation::Patch if !raw => body_object(body)?,
        _ => query.clone(),
    };
    if matches!(op, Operation::Update | Operation::Patch) {
        for (k, v) in query {
            data.entry(k).or_insert(v);
        }
    }
    data.remove("list");
    if op == Operation::List && !path.ends_with('/') {
        path.push('/');
    }
    let mut kept = BTreeMap::new();
    for name in KEPT_HEADERS {
        if let Some(v) = headers.get(*name).and_then(|v| v.to_str().ok()) {
            kept.insert(name.to_string(), v.to_string());
        }
    }
    let mut req = Request::new(op, path);
    req.data = data;
    req.token = token(headers);
    req.headers = kept;
    if raw {
        req.raw_body = Some(std::sync::Arc::new(body.to_vec()));
    }
    Ok(req)
}

fn decode_path(p: &str) -> String {
    if p.contains('%') {
        decode(&p.replace('+', "%2B"))
    } else {
        p.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(method: &str, uri: &str, body: &str) -> Result<Request, ApiError> {
        let mut headers = HeaderMap::new();
        headers.insert("x-vault-token", "hvs.abc".parse().unwrap());
        parse_request(
            &Method::from_bytes(method.as_bytes()).unwrap(),
            &uri.parse().unwrap(),
            &headers,
            body.as_bytes(),
        )
    }

    #[test]
    fn maps_methods_and_lists() {
        assert_eq!(
            parse("GET", "/v1/secret/a", "").unwrap().operation,
            Operation::Read
        );
        let l = parse("GET", "/v1/secret/metadata?list=true", "").unwrap();
        assert_eq!(l.operation, Operation::List);
        assert_eq!(l.path, "secret/metadata/");
        assert!(l.data.is_empty());
        for yes in ["1", "t", "TRUE", "True"] {
            let l = parse("GET", &format!("/v1/secret/metadata?list={yes}"), "").unwrap();
            assert_eq!(l.operation, Operation::List, "list={yes}");
        }
        for no in ["0", "false", "F"] {
            let r = parse("GET", &format!("/v1/secret/metadata?list={no}"), "").unwrap();
            assert_eq!(r.operation, Operation::Read, "list={no}");
        }
        assert!(parse("GET", "/v1/secret/metadata?list=yes", "").is_err());
        assert_eq!(
            parse("LIST", "/v1/secret/", "").unwrap().operation,
            Operation::List
        );
        let w = parse("PUT", "/v1/secret/a", r#"{"x": 1}"#).unwrap();
        assert_eq!(w.operation, Operation::Update);
        assert_eq!(w.data["x"], 1);
        assert_eq!(w.token.as_deref(), Some("hvs.abc"));
    }

    #[test]
    fn rejects_bad_json_and_non_objects() {
        assert!(matches!(
            parse("POST", "/v1/a", "{nope"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse("POST", "/v1/a", "[1,2]"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(parse("POST", "/v1/a", "").unwrap().data.is_empty());
    }

    #[test]
    fn decodes_query_values() {
        let r = parse("GET", "/v1/sys/health?standbyok=true&x=a%20b", "").unwrap();
        assert_eq!(r.data["standbyok"], "true");
        assert_eq!(r.data["x"], "a b");
    }
}
