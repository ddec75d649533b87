//! Request fields shared by transit's endpoints: `batch_input` (a list of items, each shaped like
//! a single request), base64 fields, integer fields, and the batch answer with Vault's status
//! rule (any failed item makes encrypt/decrypt/rewrap answer 400, with the results in the body).

use crate::error::ApiError;
use crate::request::Response;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

/// One unit of work: the request's own fields, or one element of `batch_input`.
pub type Item = Map<String, Value>;

/// The items of a request and whether they came from `batch_input`.
pub fn items(data: &Map<String, Value>) -> Result<(Vec<Item>, bool), ApiError> {
    match data.get("batch_input") {
        None | Some(Value::Null) => Ok((vec![data.clone()], false)),
        Some(Value::Array(list)) => {
            if list.is_empty() {
                return Err(ApiError::bad("missing batch input to process"));
            }
            let items = list
                .iter()
                .map(|v| match v {
                    Value::Object(m) => Ok(m.clone()),
                    _ => Err(ApiError::bad(
                        "failed to parse batch input: each item must be an object",
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((items, true))
        }
        Some(_) => Err(ApiError::bad(
            "failed to parse batch input: expected a list of objects",
        )),
    }
}

/// A string field of an item (`None` when absent, null or empty).
pub fn string(item: &Item, key: &str) -> Result<Option<String>, String> {
    match item.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{key}: expected a string")),
    }
}

/// An integer field (JSON number or numeric string); 0 when absent.
pub fn int(item: &Item, key: &str) -> Result<i64, String> {
    match item.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| format!("{key}: expected an integer")),
        Some(Value::String(s)) if s.is_empty() => Ok(0),
        Some(Value::String(s)) => s.parse().map_err(|_| format!("{key}: expected an integer")),
        Some(_) => Err(format!("{key}: expected an integer")),
    }
}

/// A boolean field (JSON bool or "true"/"false"); `default` when absent.
pub fn boolean(item: &Item, key: &str, default: bool) -> Result<bool, String> {
    match item.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) => s.parse().map_err(|_| format!("{key}: expected a boolean")),
        Some(_) => Err(format!("{key}: expected a boolean")),
    }
}

/// A base64 field, decoded (zeroized on drop: it may be a plaintext).
pub fn bytes(item: &Item, key: &str) -> Result<Option<Zeroizing<Vec<u8>>>, String> {
    match string(item, key)? {
        None => Ok(None),
        Some(s) => STANDARD
            .decode(s.as_bytes())
            .map(|b| Some(Zeroizing::new(b)))
            .map_err(|e| format!("failed to base64-decode {key}: {e}")),
    }
}

/// The `context` of an item, decoded.
pub fn context(item: &Item) -> Result<Option<Zeroizing<Vec<u8>>>, String> {
    bytes(item, "context").map_err(|_| "failed to base64-decode context".to_string())
}

/// The answer to a request of one or more items: a single request answers with its item's
/// fields or its error; a batch with every item's result (see [`answer`] for `fail_on_error`).
pub fn finish(
    items: &[Item],
    results: Vec<Result<Map<String, Value>, super::error::TransitError>>,
    batch: bool,
    fail_on_error: bool,
) -> Result<Option<Response>, ApiError> {
    if batch {
        let results = results
            .into_iter()
            .map(|r| r.map_err(|e| e.to_string()))
            .collect();
        return Ok(Some(answer(items, results, fail_on_error)));
    }
    let fields = results
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::Internal("a single request has one item".into()))??;
    Ok(Some(Response::data(Value::Object(fields))))
}

/// Build the answer of a batch: each item's fields or its `error`, with its `reference`.
/// With `fail_on_error`, any failed item turns the answer into a 400 carrying the results.
pub fn answer(
    items: &[Item],
    results: Vec<Result<Map<String, Value>, String>>,
    fail_on_error: bool,
) -> Response {
    let mut failed = false;
    let out: Vec<Value> = items
        .iter()
        .zip(results)
        .map(|(item, result)| {
            let mut entry = match result {
                Ok(fields) => fields,
                Err(e) => {
                    failed = true;
                    let mut m = Map::new();
                    m.insert("error".into(), json!(e));
                    m
                }
            };
            let reference = item.get("reference").cloned().unwrap_or(json!(""));
            entry.insert("reference".into(), reference);
            Value::Object(entry)
        })
        .collect();
    let data = json!({ "batch_results": out });
    if failed && fail_on_error {
        // Vault's `RespondWithStatusCode`: the whole response, with a 400.
        return Response::raw_status(
            400,
            json!({
                "request_id": "",
                "lease_id": "",
                "renewable": false,
                "lease_duration": 0,
                "data": data,
                "wrap_info": null,
                "warnings": null,
                "auth": null,
            }),
        );
    }
    Response::data(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_requests_are_one_item_and_batches_many() {
        let single = json!({"plaintext": "aGk="}).as_object().unwrap().clone();
        let (items, batch) = items(&single).unwrap();
        assert!(!batch);
        assert_eq!(items.len(), 1);
        let many = json!({"batch_input": [{"plaintext": "YQ=="}, {"plaintext": "Yg=="}]});
        let (items, batch) = super::items(many.as_object().unwrap()).unwrap();
        assert!(batch);
        assert_eq!(
            bytes(&items[1], "plaintext").unwrap().unwrap().as_slice(),
            b"b"
        );
        let empty = json!({"batch_input": []});
        assert!(super::items(empty.as_object().unwrap()).is_err());
        let bad = json!({"batch_input": [1]});
        assert!(super::items(bad.as_object().unwrap()).is_err());
    }

    #[test]
    fn fields_parse_leniently_like_vault() {
        let item = json!({"v": "3", "n": 2, "b": "true", "s": ""})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(int(&item, "v").unwrap(), 3);
        assert_eq!(int(&item, "n").unwrap(), 2);
        assert_eq!(int(&item, "missing").unwrap(), 0);
        assert!(boolean(&item, "b", false).unwrap());
        assert_eq!(string(&item, "s").unwrap(), None);
        assert!(bytes(&item, "v").is_err());
    }

    #[test]
    fn a_failed_item_makes_a_400_with_all_results() {
        let items = vec![
            json!({"reference": "a"}).as_object().unwrap().clone(),
            json!({}).as_object().unwrap().clone(),
        ];
        let ok = Map::from_iter([("ciphertext".to_string(), json!("vault:v1:x"))]);
        let r = answer(&items, vec![Ok(ok.clone()), Err("bad".into())], true);
        let (status, body) = r.raw_body().map(|(s, b)| (s, b.clone())).unwrap();
        assert_eq!(status, 400);
        assert_eq!(body["data"]["batch_results"][0]["reference"], "a");
        assert_eq!(body["data"]["batch_results"][1]["error"], "bad");
        let r = answer(&items[..1], vec![Ok(ok)], true);
        assert!(r.raw_body().is_none());
        assert_eq!(
            r.data.unwrap()["batch_results"][0]["ciphertext"],
            "vault:v1:x"
        );
    }
}
