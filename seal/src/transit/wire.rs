//! The transit seal's wire rules as plain functions: the request bodies for
//! `<mount>/encrypt/<key>` and `<mount>/decrypt/<key>`, reading their answers,
//! the stored blob, what an HTTP status means for unsealing, and the renewal
//! schedule. No I/O here; `client.rs` carries the bytes.
//!
//! Blob: `version(1) | key_version(u32, big-endian) | raw transit ciphertext`.
//! The transit answer `vault:v<N>:<base64>` is stored decoded, so every
//! stored bit is covered by the remote AEAD's tag (a flipped bit in base64
//! text could land in ignored padding bits), and rebuilt for decrypt.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::error::SealError;

const VERSION: u8 = 1;
const PREFIX: &str = "vault:v";

/// The URI path of one transit operation (`encrypt` or `decrypt`).
pub fn op_path(mount_path: &str, op: &str, key_name: &str) -> String {
    let mount = mount_path.trim_matches('/');
    format!("/v1/{mount}/{op}/{key_name}")
}

/// The JSON body of an encrypt call.
pub fn encrypt_body(plaintext: &[u8]) -> Zeroizing<Vec<u8>> {
    let encoded = Zeroizing::new(STANDARD.encode(plaintext));
    let body = json!({ "plaintext": encoded.as_str() });
    Zeroizing::new(serde_json::to_vec(&body).unwrap_or_default())
}

/// The stored blob for the `ciphertext` of an encrypt answer's body.
pub fn blob_from_encrypt_answer(body: &Value) -> Result<Vec<u8>, SealError> {
    let text = body
        .pointer("/data/ciphertext")
        .and_then(Value::as_str)
        .ok_or_else(|| backend("encrypt", "no ciphertext in the answer"))?;
    let rest = text
        .strip_prefix(PREFIX)
        .ok_or_else(|| backend("encrypt", "the ciphertext is not vault:v<N>:<base64>"))?;
    let (version, b64) = rest
        .split_once(':')
        .ok_or_else(|| backend("encrypt", "the ciphertext is not vault:v<N>:<base64>"))?;
    let version: u32 = version
        .parse()
        .map_err(|_| backend("encrypt", "the ciphertext's key version is not a number"))?;
    let raw = STANDARD
        .decode(b64)
        .map_err(|_| backend("encrypt", "the ciphertext is not base64"))?;
    let mut blob = Vec::with_capacity(5 + raw.len());
    blob.push(VERSION);
    blob.extend_from_slice(&version.to_be_bytes());
    blob.extend_from_slice(&raw);
    Ok(blob)
}

/// The JSON body of the decrypt call for a stored blob.
pub fn decrypt_body(blob: &[u8]) -> Result<Vec<u8>, SealError> {
    let (&version, rest) = blob.split_first().ok_or(SealError::Malformed)?;
    if version != VERSION || rest.len() <= 4 {
        return Err(SealError::Malformed);
    }
    let (key_version, raw) = rest.split_at(4);
    let key_version = u32::from_be_bytes([
        key_version[0],
        key_version[1],
        key_version[2],
        key_version[3],
    ]);
    if key_version == 0 {
        return Err(SealError::Malformed);
    }
    let ciphertext = format!("{PREFIX}{key_version}:{}", STANDARD.encode(raw));
    Ok(serde_json::to_vec(&json!({ "ciphertext": ciphertext })).unwrap_or_default())
}

/// The plaintext of a decrypt answer's body.
pub fn plaintext_from_decrypt_answer(body: &Value) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let encoded = body
        .pointer("/data/plaintext")
        .and_then(Value::as_str)
        .ok_or_else(|| backend("decrypt", "no plaintext in the answer"))?;
    STANDARD
        .decode(encoded)
        .map(Zeroizing::new)
        .map_err(|_| backend("decrypt", "the plaintext is not base64"))
}

/// What a non-2xx answer means. A 400 on decrypt is the transit engine refusing the
/// ciphertext (wrong key, tampered): the key is invalid. Anything else (403 for a bad token,
/// 404 for a missing key or mount, 5xx, a sealed unsealer's 503) is the backend failing:
/// the node stays sealed and retries.
pub fn status_error(op: &str, status: u16, body: &Value) -> SealError {
    if op == "decrypt" && status == 400 {
        return SealError::InvalidKey;
    }
    let errors = body
        .get("errors")
        .and_then(Value::as_array)
        .map(|e| {
            e.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default();
    backend(op, format!("HTTP {status}: {errors}"))
}

/// The `errors` of a transit call as a seal error naming the operation.
pub fn backend(op: &str, why: impl std::fmt::Display) -> SealError {
    SealError::Backend(format!("transit {op}: {why}"))
}

/// From a `lookup-self` or `renew-self` answer: the token's remaining lifetime, if it is
/// renewable and expires (a root token does neither: nothing to renew).
pub fn renewable_ttl(body: &Value) -> Option<Duration> {
    let (renewable, ttl) = if let Some(auth) = body.get("auth").filter(|a| !a.is_null()) {
        (auth.get("renewable"), auth.get("lease_duration"))
    } else {
        let data = body.get("data")?;
        (data.get("renewable"), data.get("ttl"))
    };
    let ttl = ttl?.as_u64()?;
    (renewable?.as_bool()? && ttl > 0).then(|| Duration::from_secs(ttl))
}

/// When to renew a token with `ttl` left: at two thirds of it (Vault's lifetime watcher
/// renews in the last third), never sooner than a second.
pub fn renew_after(ttl: Duration) -> Duration {
    (ttl * 2 / 3).max(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_trim_the_mount() {
        assert_eq!(op_path("transit/", "encrypt", "k"), "/v1/transit/encrypt/k");
        assert_eq!(
            op_path("/team/transit", "decrypt", "root"),
            "/v1/team/transit/decrypt/root"
        );
    }

    #[test]
    fn an_encrypt_answer_becomes_a_blob_and_back_into_the_same_ciphertext() {
        let body = encrypt_body(b"root key");
        let sent: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(sent, json!({"plaintext": "cm9vdCBrZXk="}));

        let ct = format!("vault:v7:{}", STANDARD.encode([9u8; 40]));
        let blob = blob_from_encrypt_answer(&json!({"data": {"ciphertext": ct}})).unwrap();
        assert_eq!(&blob[..5], &[1, 0, 0, 0, 7]);
        assert_eq!(&blob[5..], &[9u8; 40]);
        let back: Value = serde_json::from_slice(&decrypt_body(&blob).unwrap()).unwrap();
        assert_eq!(back, json!({ "ciphertext": ct }));
    }

    #[test]
    fn odd_encrypt_answers_are_backend_errors() {
        for body in [
            json!({}),
            json!({"data": {"ciphertext": 5}}),
            json!({"data": {"ciphertext": "plain"}}),
            json!({"data": {"ciphertext": "vault:vX:AAAA"}}),
            json!({"data": {"ciphertext": "vault:v1:!!"}}),
        ] {
            assert!(
                matches!(blob_from_encrypt_answer(&body), Err(SealError::Backend(_))),
                "{body}"
            );
        }
    }

    #[test]
    fn malformed_blobs_never_reach_the_network() {
        for blob in [
            &[][..],
            &[1][..],
            &[1, 0, 0, 0, 1][..],
            &[2, 0, 0, 0, 1, 5][..],
            &[1, 0, 0, 0, 0, 5][..],
        ] {
            assert_eq!(
                decrypt_body(blob).err(),
                Some(SealError::Malformed),
                "{blob:?}"
            );
        }
    }

    #[test]
    fn decrypt_answers_give_the_plaintext() {
        let pt =
            plaintext_from_decrypt_answer(&json!({"data": {"plaintext": "cm9vdCBrZXk="}})).unwrap();
        assert_eq!(pt.as_slice(), b"root key");
        assert!(plaintext_from_decrypt_answer(&json!({"data": {}})).is_err());
        assert!(plaintext_from_decrypt_answer(&json!({"data": {"plaintext": "%"}})).is_err());
    }

    #[test]
    fn statuses_tell_a_wrong_key_from_an_unavailable_unsealer() {
        let refused = json!({"errors": ["cipher: message authentication failed"]});
        assert_eq!(
            status_error("decrypt", 400, &refused),
            SealError::InvalidKey
        );
        let sealed = json!({"errors": ["Vault is sealed"]});
        let e = status_error("decrypt", 503, &sealed);
        assert!(
            matches!(&e, SealError::Backend(m) if m.contains("503") && m.contains("sealed")),
            "{e}"
        );
        assert!(matches!(
            status_error("encrypt", 400, &refused),
            SealError::Backend(_)
        ));
        assert!(matches!(
            status_error("decrypt", 403, &json!(null)),
            SealError::Backend(_)
        ));
    }

    #[test]
    fn renewal_follows_the_token() {
        let lookup = json!({"data": {"renewable": true, "ttl": 30}});
        assert_eq!(renewable_ttl(&lookup), Some(Duration::from_secs(30)));
        let root = json!({"data": {"renewable": false, "ttl": 0}});
        assert_eq!(renewable_ttl(&root), None);
        let renewed = json!({"auth": {"renewable": true, "lease_duration": 60}, "data": null});
        assert_eq!(renewable_ttl(&renewed), Some(Duration::from_secs(60)));
        let capped = json!({"auth": {"renewable": false, "lease_duration": 60}});
        assert_eq!(renewable_ttl(&capped), None);
        assert_eq!(
            renew_after(Duration::from_secs(30)),
            Duration::from_secs(20)
        );
        assert_eq!(renew_after(Duration::from_secs(1)), Duration::from_secs(1));
    }
}
