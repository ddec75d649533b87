//! A service account JWT read without verifying its signature, as Vault does when no `pem_keys`
//! are configured: the claims only say which account the token claims to be; the cluster's
//! TokenReview decides whether it is valid. Both token shapes are understood: legacy secret-based
//! tokens (`kubernetes.io/serviceaccount/...` claims) and projected ones (`kubernetes.io: {...}`).

use base64::Engine;
use serde_json::Value;

/// Signing algorithms Kubernetes issues service account tokens with (and Vault accepts).
const ALGORITHMS: &[&str] = &[
    "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512",
];

/// Why a JWT could not be read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum JwtError {
    #[error("failed to parse JWT: it must be three base64url parts separated by dots")]
    Shape,
    #[error("failed to parse JWT: {0}")]
    Encoding(String),
    #[error("unsupported signing algorithm {0:?}")]
    Algorithm(String),
}

/// What a service account token claims.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    /// Legacy tokens name their secret; projected ones have none.
    pub secret_name: String,
    pub audiences: Vec<String>,
    pub issuer: String,
    /// Unix seconds, when the token says.
    pub expires_at: Option<i64>,
}

fn decode_part(part: &str) -> Result<Value, JwtError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|e| JwtError::Encoding(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| JwtError::Encoding(e.to_string()))
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// Read a compact JWS's header and claims; the signature is not checked.
pub fn parse_unverified(jwt: &str) -> Result<Claims, JwtError> {
    let parts: Vec<&str> = jwt.trim().split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return Err(JwtError::Shape);
    };
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(JwtError::Shape);
    }
    let header = decode_part(header)?;
    let alg = text(&header["alg"]);
    if !ALGORITHMS.contains(&alg.as_str()) {
        return Err(JwtError::Algorithm(alg));
    }
    let c = decode_part(payload)?;
    if !c.is_object() {
        return Err(JwtError::Encoding(
            "the claims are not a JSON object".into(),
        ));
    }
    let projected = &c["kubernetes.io"];
    let legacy = |k: &str| text(&c[format!("kubernetes.io/serviceaccount/{k}").as_str()]);
    let (name, namespace, uid) = if projected.is_object() {
        let sa = &projected["serviceaccount"];
        (
            text(&sa["name"]),
            text(&projected["namespace"]),
            text(&sa["uid"]),
        )
    } else {
        (
            legacy("service-account.name"),
            legacy("namespace"),
            legacy("service-account.uid"),
        )
    };
    let audiences = match &c["aud"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|a| a.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    };
    Ok(Claims {
        name,
        namespace,
        uid,
        secret_name: legacy("secret.name"),
        audiences,
        issuer: text(&c["iss"]),
        expires_at: c["exp"].as_i64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(v: &Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    fn jwt(header: Value, claims: Value) -> String {
        format!("{}.{}.c2lnbmF0dXJl", b64(&header), b64(&claims))
    }

    #[test]
    fn projected_tokens_name_their_account_under_kubernetes_io() {
        let t = jwt(
            json!({"alg": "RS256", "kid": "k1"}),
            json!({"aud": ["vault"], "exp": 2000000000, "iss": "https://kubernetes.default.svc",
                   "kubernetes.io": {"namespace": "example-app",
                                     "serviceaccount": {"name": "basic-secret", "uid": "u-1"}},
                   "sub": "system:serviceaccount:example-app:basic-secret"}),
        );
        let c = parse_unverified(&t).unwrap();
        assert_eq!(
            (c.name.as_str(), c.namespace.as_str(), c.uid.as_str()),
            ("basic-secret", "example-app", "u-1")
        );
        assert_eq!(c.audiences, vec!["vault"]);
        assert_eq!(c.expires_at, Some(2000000000));
        assert_eq!(c.secret_name, "");
    }

    #[test]
    fn legacy_tokens_use_flat_claims() {
        let t = jwt(
            json!({"alg": "RS256"}),
            json!({"iss": "kubernetes/serviceaccount", "aud": "one",
                   "kubernetes.io/serviceaccount/namespace": "ns",
                   "kubernetes.io/serviceaccount/secret.name": "sa-token-x",
                   "kubernetes.io/serviceaccount/service-account.name": "sa",
                   "kubernetes.io/serviceaccount/service-account.uid": "u-2"}),
        );
        let c = parse_unverified(&t).unwrap();
        assert_eq!(
            (c.name.as_str(), c.namespace.as_str(), c.uid.as_str()),
            ("sa", "ns", "u-2")
        );
        assert_eq!(c.secret_name, "sa-token-x");
        assert_eq!(c.audiences, vec!["one"]);
        assert_eq!(c.issuer, "kubernetes/serviceaccount");
    }

    #[test]
    fn malformed_or_unsigned_tokens_are_refused() {
        assert_eq!(parse_unverified("abc"), Err(JwtError::Shape));
        assert_eq!(parse_unverified("a.b."), Err(JwtError::Shape));
        assert!(matches!(
            parse_unverified("!!.??.x"),
            Err(JwtError::Encoding(_))
        ));
        let none = jwt(json!({"alg": "none"}), json!({}));
        assert_eq!(
            parse_unverified(&none),
            Err(JwtError::Algorithm("none".into()))
        );
        let not_object = jwt(json!({"alg": "ES256"}), json!([1]));
        assert!(matches!(
            parse_unverified(&not_object),
            Err(JwtError::Encoding(_))
        ));
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn b64(v: &Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    }

    /// Claims of either token shape, with the token that carries them.
    fn token() -> impl Strategy<Value = (String, Claims)> {
        let alg = prop::sample::select(ALGORITHMS.to_vec());
        let s = || any::<String>();
        (
            alg,
            any::<bool>(),
            (s(), s(), s(), s()),
            prop::collection::vec(s(), 0..3),
            s(),
            any::<Option<i64>>(),
        )
            .prop_map(
                |(alg, projected, (name, namespace, uid, secret), aud, iss, exp)| {
                    let mut c = if projected {
                        json!({"kubernetes.io": {"namespace": namespace,
                        "serviceaccount": {"name": name, "uid": uid}}})
                    } else {
                        json!({"kubernetes.io/serviceaccount/service-account.name": name,
                        "kubernetes.io/serviceaccount/namespace": namespace,
                        "kubernetes.io/serviceaccount/service-account.uid": uid})
                    };
                    c["kubernetes.io/serviceaccount/secret.name"] = json!(secret);
                    c["aud"] = if aud.len() == 1 {
                        json!(aud[0])
                    } else {
                        json!(aud)
                    };
                    c["iss"] = json!(iss);
                    if let Some(exp) = exp {
                        c["exp"] = json!(exp);
                    }
                    let jwt = format!("{}.{}.sig", b64(&json!({"alg": alg})), b64(&c));
                    let claims = Claims {
                        name,
                        namespace,
                        uid,
                        secret_name: secret,
                        audiences: aud,
                        issuer: iss,
                        expires_at: exp,
                    };
                    (jwt, claims)
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 6000, ..ProptestConfig::default() })]

        #[test]
        fn fuzz_jwt_claims(
            (jwt, claims) in token(),
            cut in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            junk in any::<String>(),
            junk_parts in prop::collection::vec(any::<Vec<u8>>(), 3),
        ) {
            // What a well-formed token claims comes back exactly.
            prop_assert_eq!(parse_unverified(&jwt), Ok(claims));
            // A damaged one, arbitrary text, or three base64 parts of arbitrary bytes: an
            // answer, never a panic.
            let mut bytes = jwt.into_bytes();
            let at = cut.index(bytes.len());
            bytes[at] = byte;
            let _ = parse_unverified(&String::from_utf8_lossy(&bytes));
            let _ = parse_unverified(&String::from_utf8_lossy(&bytes[..at]));
            let _ = parse_unverified(&junk);
            let parts: Vec<String> = junk_parts
                .iter()
                .map(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(p))
                .collect();
            let _ = parse_unverified(&parts.join("."));
        }
    }
}
