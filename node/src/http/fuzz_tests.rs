//! Property-based fuzzing of the HTTP request parser (`cargo test fuzz_`): arbitrary methods,
//! URIs, headers and bodies never panic it, and what a well-formed request carries (path,
//! query parameters, JSON body, token) arrives in the `Request` unchanged.

use super::parse::parse_request;
use crate::request::Operation;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Percent-encode every byte but the unreserved ones (RFC 3986).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn method() -> impl Strategy<Value = Method> {
    prop::sample::select(vec![
        "GET", "HEAD", "LIST", "POST", "PUT", "DELETE", "PATCH", "BREW",
    ])
    .prop_map(|m| Method::from_bytes(m.as_bytes()).expect("a valid method token"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6000, ..ProptestConfig::default() })]

    #[test]
    fn fuzz_http_request(
        method in method(),
        segments in prop::collection::vec("[^/]{1,8}", 1..4),
        query in prop::collection::btree_map("[^=&]{1,6}", any::<String>(), 0..4),
        body in prop::collection::btree_map(any::<String>(), any::<String>(), 0..4),
        token in any::<String>(),
        raw_uri in any::<String>(),
        raw_body in any::<Vec<u8>>(),
        header in (any::<String>(), any::<Vec<u8>>()),
    ) {
        let path = segments.join("/");
        let query: BTreeMap<String, String> =
            query.into_iter().filter(|(k, _)| k != "list").collect();
        let q: Vec<String> = query.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        let uri: Uri = format!("/v1/{}?{}", encode(&path), q.join("&")).parse().expect("encoded URI");
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&token) {
            headers.insert("x-vault-token", v);
        }
        let json_body: Map<String, Value> =
            body.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        let bytes = serde_json::to_vec(&json_body).expect("a map serialises");
        match parse_request(&method, &uri, &headers, &bytes) {
            Ok(req) => {
                let list = req.operation == Operation::List;
                let want_path = if list { format!("{path}/") } else { path.clone() };
                prop_assert_eq!(&req.path, &want_path);
                let writes = matches!(req.operation, Operation::Update | Operation::Patch);
                for (k, v) in &query {
                    // Body fields win over query parameters of the same name.
                    if writes && json_body.contains_key(k) {
                        continue;
                    }
                    prop_assert_eq!(req.data.get(k), Some(&Value::String(v.clone())));
                }
                if writes {
                    for (k, v) in &json_body {
                        if k != "list" {
                            prop_assert_eq!(req.data.get(k), Some(v));
                        }
                    }
                }
                let trimmed = token.trim();
                // Header values that are not visible ASCII carry no token.
                let readable = HeaderValue::from_str(&token).is_ok_and(|v| v.to_str().is_ok());
                let want_token = (readable && !trimmed.is_empty()).then(|| trimmed.to_owned());
                prop_assert_eq!(req.token, want_token);
            }
            Err(_) => prop_assert_eq!(method.as_str(), "BREW"),
        }
        // Arbitrary URI, body and header: an answer, never a panic.
        let mut headers = HeaderMap::new();
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(header.0.as_bytes()), HeaderValue::from_bytes(&header.1)) {
            headers.insert(n, v);
        }
        if let Ok(v) = HeaderValue::from_bytes(&header.1) {
            headers.insert("authorization", v.clone());
            headers.insert("x-vault-wrap-ttl", v);
        }
        for candidate in [raw_uri.clone(), format!("/v1/{raw_uri}"), format!("/v1/a?{raw_uri}")] {
            if let Ok(uri) = candidate.parse::<Uri>() {
                let _ = parse_request(&method, &uri, &headers, &raw_body);
            }
        }
        let _ = parse_request(&method, &uri, &headers, &raw_body);
    }
}
