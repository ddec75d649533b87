//! The engine end to end over a real barrier (in memory): routes, storage, status codes.

use super::Transit;
use crate::engines::{MountRequest, SecretEngine};
use crate::error::ApiError;
use crate::mounts::MountEntry;
use crate::request::{Operation, Request, Response};
use crate::storage::StorageView;
use crate::testkit::{mount_entry, unsealed_barrier};
use coffer_barrier::MemPhysical;
use serde_json::{json, Value};
use std::sync::Arc;

struct Fixture {
    engine: Transit,
    storage: StorageView,
    physical: Arc<MemPhysical>,
    mount: MountEntry,
}

async fn fixture() -> Fixture {
    let physical = Arc::new(MemPhysical::new());
    let barrier = unsealed_barrier(physical.clone()).await;
    Fixture {
        engine: Transit::default(),
        storage: StorageView::new(barrier, "logical/transit-test/"),
        physical,
        mount: MountEntry {
            uuid: "transit-test".into(),
            ..mount_entry("transit/", "transit")
        },
    }
}

impl Fixture {
    /// One request as the pipeline makes it (existence check first for writes).
    async fn call(
        &self,
        op: Operation,
        path: &str,
        body: Value,
    ) -> Result<Option<Response>, ApiError> {
        let mut req = Request::new(op, format!("transit/{path}")).with_data(body);
        if op == Operation::Update
            && self.engine.exists(self.mreq(&req, path)).await? == Some(false)
        {
            req.operation = Operation::Create;
        }
        self.engine.handle(self.mreq(&req, path)).await
    }

    fn mreq<'a>(&'a self, req: &'a Request, path: &'a str) -> MountRequest<'a> {
        MountRequest {
            req,
            path,
            storage: &self.storage,
            mount: &self.mount,
        }
    }

    async fn data(&self, op: Operation, path: &str, body: Value) -> Value {
        let resp = self.call(op, path, body).await.unwrap().unwrap();
        Value::Object(resp.data.unwrap())
    }
}

fn b64(s: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test]
async fn encrypt_creates_the_key_and_decrypt_round_trips() {
    let f = fixture().await;
    let ct = f
        .data(
            Operation::Update,
            "encrypt/app",
            json!({"plaintext": b64(b"hello")}),
        )
        .await;
    let ciphertext = ct["ciphertext"].as_str().unwrap().to_string();
    assert!(ciphertext.starts_with("vault:v1:"));
    assert_eq!(ct["key_version"], 1);
    let key = f.data(Operation::Read, "keys/app", json!({})).await;
    assert_eq!(key["type"], "aes256-gcm96");
    let pt = f
        .data(
            Operation::Update,
            "decrypt/app",
            json!({"ciphertext": ciphertext}),
        )
        .await;
    assert_eq!(pt["plaintext"], b64(b"hello"));
}

#[tokio::test]
async fn rotation_min_decryption_and_rewrap() {
    let f = fixture().await;
    f.call(
        Operation::Update,
        "keys/k",
        json!({"type": "chacha20-poly1305"}),
    )
    .await
    .unwrap();
    let old = f
        .data(
            Operation::Update,
            "encrypt/k",
            json!({"plaintext": b64(b"v1 data")}),
        )
        .await["ciphertext"]
        .as_str()
        .unwrap()
        .to_string();
    let rotated = f.data(Operation::Update, "keys/k/rotate", json!({})).await;
    assert_eq!(rotated["latest_version"], 2);
    let rewrapped = f
        .data(Operation::Update, "rewrap/k", json!({"ciphertext": old}))
        .await;
    let new = rewrapped["ciphertext"].as_str().unwrap().to_string();
    assert!(new.starts_with("vault:v2:"));
    f.call(
        Operation::Update,
        "keys/k/config",
        json!({"min_decryption_version": 2}),
    )
    .await
    .unwrap();
    let refused = f
        .call(Operation::Update, "decrypt/k", json!({"ciphertext": old}))
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 400);
    assert_eq!(refused.to_string(), super::key::ERR_TOO_OLD);
    let pt = f
        .data(Operation::Update, "decrypt/k", json!({"ciphertext": new}))
        .await;
    assert_eq!(pt["plaintext"], b64(b"v1 data"));
}

#[tokio::test]
async fn batch_errors_make_a_400_carrying_every_result() {
    let f = fixture().await;
    f.call(Operation::Update, "keys/b", json!({}))
        .await
        .unwrap();
    let good = f
        .data(
            Operation::Update,
            "encrypt/b",
            json!({"plaintext": b64(b"x")}),
        )
        .await["ciphertext"]
        .clone();
    let resp = f
        .call(
            Operation::Update,
            "decrypt/b",
            json!({"batch_input": [{"ciphertext": good, "reference": "r1"}, {"ciphertext": "nope"}]}),
        )
        .await
        .unwrap()
        .unwrap();
    let (status, body) = resp.raw_body().map(|(s, b)| (s, b.clone())).unwrap();
    assert_eq!(status, 400);
    let results = &body["data"]["batch_results"];
    assert_eq!(results[0]["plaintext"], b64(b"x"));
    assert_eq!(results[0]["reference"], "r1");
    assert_eq!(results[1]["error"], "invalid ciphertext: no prefix");
}

#[tokio::test]
async fn delete_and_export_are_refused_until_allowed() {
    let f = fixture().await;
    f.call(Operation::Update, "keys/d", json!({"type": "ed25519"}))
        .await
        .unwrap();
    let e = f
        .call(Operation::Delete, "keys/d", json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    let e = f
        .call(Operation::Read, "export/signing-key/d", json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "private key material is not exportable");
    let public = f
        .data(Operation::Read, "export/public-key/d", json!({}))
        .await;
    assert!(public["keys"]["1"].is_string());
    f.call(
        Operation::Update,
        "keys/d/config",
        json!({"deletion_allowed": true, "exportable": true}),
    )
    .await
    .unwrap();
    let exported = f
        .data(Operation::Read, "export/signing-key/d/latest", json!({}))
        .await;
    assert!(exported["keys"]["1"].is_string());
    assert!(f
        .call(Operation::Delete, "keys/d", json!({}))
        .await
        .unwrap()
        .is_none());
    let gone = f
        .call(Operation::Read, "keys/d", json!({}))
        .await
        .unwrap_err();
    assert_eq!(gone.status(), 404);
}

#[tokio::test]
async fn stored_keys_hold_no_plaintext_material() {
    let f = fixture().await;
    f.call(Operation::Update, "keys/s", json!({"exportable": true}))
        .await
        .unwrap();
    let exported = f
        .data(Operation::Read, "export/encryption-key/s/1", json!({}))
        .await;
    let key_b64 = exported["keys"]["1"].as_str().unwrap().to_string();
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&key_b64)
        .unwrap();
    for (_, value) in f.physical.dump() {
        assert!(!value.windows(raw.len()).any(|w| w == raw.as_slice()));
        assert!(!value
            .windows(key_b64.len())
            .any(|w| w == key_b64.as_bytes()));
    }
}

#[tokio::test]
async fn unknown_paths_and_operations() {
    let f = fixture().await;
    let e = f
        .call(Operation::Update, "nothing/here", json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 404);
    let e = f
        .call(Operation::Read, "encrypt/x", json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 405);
    let e = f
        .call(
            Operation::Update,
            "decrypt/missing",
            json!({"ciphertext": "vault:v1:AA=="}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "encryption key not found");
}
