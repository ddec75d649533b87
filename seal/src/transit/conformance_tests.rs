//! [`TransitSeal`] against a small in-test transit engine over real HTTP: the shared seal
//! conformance suite, the token and paths sent, and a refused token staying a backend error.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

use super::{TransitConfig, TransitSeal};
use crate::error::SealError;
use crate::seal::{seal_conformance_suite, Seal};

const TOKEN: &str = "s.transit-seal-token";

/// Answers `POST /v1/transit/{encrypt,decrypt}/root` as Vault's transit engine does (AES-GCM,
/// `vault:v1:` + base64(nonce | ciphertext)), with 403 for any other token and 404 elsewhere.
async fn fake_transit(calls: Arc<AtomicUsize>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cipher = Arc::new(Aes256Gcm::new(&[7u8; 32].into()));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (cipher, calls) = (cipher.clone(), calls.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let (cipher, calls) = (cipher.clone(), calls.clone());
                    async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        let (status, body) = answer(&cipher, req).await;
                        let bytes = serde_json::to_vec(&body).unwrap();
                        let response = hyper::Response::builder()
                            .status(status)
                            .body(Full::new(Bytes::from(bytes)))
                            .unwrap();
                        Ok::<_, hyper::Error>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

async fn answer(cipher: &Aes256Gcm, req: hyper::Request<hyper::body::Incoming>) -> (u16, Value) {
    let token = req
        .headers()
        .get("x-vault-token")
        .and_then(|v| v.to_str().ok());
    if token != Some(TOKEN) {
        return (403, json!({"errors": ["permission denied"]}));
    }
    let path = req.uri().path().to_string();
    let body: Value = serde_json::from_slice(&req.into_body().collect().await.unwrap().to_bytes())
        .unwrap_or(Value::Null);
    let refuse = |why: &str| (400, json!({"errors": [why]}));
    match path.as_str() {
        "/v1/transit/encrypt/root" => {
            let Some(pt) = body["plaintext"]
                .as_str()
                .and_then(|p| STANDARD.decode(p).ok())
            else {
                return refuse("bad plaintext");
            };
            let mut nonce = [0u8; 12];
            crate::rng::fill(&mut nonce);
            let mut raw = nonce.to_vec();
            raw.extend(
                cipher
                    .encrypt(Nonce::from_slice(&nonce), pt.as_slice())
                    .unwrap(),
            );
            let ct = format!("vault:v1:{}", STANDARD.encode(raw));
            (200, json!({"data": {"ciphertext": ct, "key_version": 1}}))
        }
        "/v1/transit/decrypt/root" => {
            let raw = body["ciphertext"]
                .as_str()
                .and_then(|c| c.strip_prefix("vault:v1:"))
                .and_then(|b| STANDARD.decode(b).ok());
            let Some(raw) = raw.filter(|r| r.len() >= 12) else {
                return refuse("invalid ciphertext");
            };
            match cipher.decrypt(Nonce::from_slice(&raw[..12]), &raw[12..]) {
                Ok(pt) => (200, json!({"data": {"plaintext": STANDARD.encode(pt)}})),
                Err(_) => refuse("cipher: message authentication failed"),
            }
        }
        _ => (404, json!({"errors": []})),
    }
}

fn seal(address: String, token: &str) -> TransitSeal {
    let cfg = TransitConfig {
        address: Some(address),
        token: Some(token.into()),
        key_name: Some("root".into()),
        mount_path: Some("/transit/".into()),
        ..TransitConfig::default()
    };
    TransitSeal::with_env(&cfg, |_| None).unwrap()
}

#[tokio::test]
async fn the_transit_seal_passes_the_conformance_suite() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seal = seal(fake_transit(calls.clone()).await, TOKEN);
    seal_conformance_suite(&seal).await;
    assert!(
        calls.load(Ordering::SeqCst) > 10,
        "the suite went over HTTP"
    );
}

#[tokio::test]
async fn a_refused_token_or_missing_key_is_a_backend_error_not_a_wrong_key() {
    let address = fake_transit(Arc::new(AtomicUsize::new(0))).await;
    let good = seal(address.clone(), TOKEN);
    let blob = good.wrap(b"root key").await.unwrap();
    let bad = seal(address.clone(), "s.other");
    let e = bad.unwrap(&blob).await.unwrap_err();
    assert!(
        matches!(&e, SealError::Backend(m) if m.contains("403") && m.contains("permission denied")),
        "{e}"
    );
    assert!(!e.to_string().contains(TOKEN));
    let cfg = TransitConfig {
        address: Some(address),
        token: Some(TOKEN.into()),
        key_name: Some("missing".into()),
        mount_path: Some("transit".into()),
        ..TransitConfig::default()
    };
    let missing = TransitSeal::with_env(&cfg, |_| None).unwrap();
    assert!(matches!(
        missing.wrap(b"k").await,
        Err(SealError::Backend(_))
    ));
    assert_eq!(good.unwrap(&blob).await.unwrap().as_slice(), b"root key");
}
