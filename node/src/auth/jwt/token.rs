//! A compact JWS (`header.payload.signature`) taken apart before anything is trusted: the
//! header's `alg` and `kid`, the claims object, and what the signature covers. Nothing here
//! checks the signature (`jwks.rs` does) or the claims (`claims.rs`).

use base64::Engine;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

/// Why a token could not be read (Vault: "error validating token: error parsing token: ...").
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParseError {
    #[error("error parsing token: compact JWS format must have three parts")]
    Shape,
    #[error("error parsing token: the header is not valid: {0}")]
    Header(String),
    #[error("error parsing token: the claims are not a base64url JSON object")]
    Claims,
}

/// A token read but not verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Unverified {
    pub alg: Algorithm,
    /// The header's `kid`; empty when it names none.
    pub kid: String,
    pub claims: Map<String, Value>,
    /// `header.payload`, what the signature signs.
    pub signing_input: String,
    /// The base64url signature.
    pub signature: String,
}

/// Split and decode a compact JWS. An unknown or missing `alg` (including `none`) is refused.
pub fn parse(token: &str) -> Result<Unverified, ParseError> {
    let token = token.trim();
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::Shape);
    };
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(ParseError::Shape);
    }
    let head = jsonwebtoken::decode_header(token).map_err(|e| ParseError::Header(e.to_string()))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| ParseError::Claims)?;
    let Ok(Value::Object(claims)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(ParseError::Claims);
    };
    Ok(Unverified {
        alg: head.alg,
        kid: head.kid.unwrap_or_default(),
        claims,
        signing_input: format!("{header}.{payload}"),
        signature: signature.to_string(),
    })
}

/// The name of an algorithm as JOSE spells it (`RS256`).
pub fn alg_name(alg: Algorithm) -> String {
    format!("{alg:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(v: &Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn a_token_is_split_into_header_claims_and_signature() {
        let t = format!(
            "{}.{}.c2ln",
            b64(&json!({"alg": "ES256", "kid": "k1", "typ": "JWT"})),
            b64(&json!({"sub": "alice", "n": 1}))
        );
        let u = parse(&t).unwrap();
        assert_eq!(u.alg, Algorithm::ES256);
        assert_eq!(u.kid, "k1");
        assert_eq!(u.claims["sub"], "alice");
        assert_eq!(u.signature, "c2ln");
        assert_eq!(alg_name(u.alg), "ES256");
    }

    #[test]
    fn malformed_and_unsigned_tokens_are_refused() {
        assert_eq!(parse("a.b"), Err(ParseError::Shape));
        assert_eq!(parse("a.b.c.d"), Err(ParseError::Shape));
        assert_eq!(parse("a..c"), Err(ParseError::Shape));
        let none = format!("{}.{}.x", b64(&json!({"alg": "none"})), b64(&json!({})));
        assert!(matches!(parse(&none), Err(ParseError::Header(_))));
        let list = format!("{}.{}.x", b64(&json!({"alg": "RS256"})), b64(&json!([1])));
        assert_eq!(parse(&list), Err(ParseError::Claims));
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

        /// Arbitrary text, and three base64url parts of arbitrary bytes, get an answer and never
        /// a panic; whatever parses keeps its parts.
        #[test]
        fn fuzz_jwt_token_parse(
            junk in any::<String>(),
            parts in prop::collection::vec(any::<Vec<u8>>(), 3),
            dots in "[a-zA-Z0-9_.=-]{0,64}",
        ) {
            let _ = parse(&junk);
            let _ = parse(&dots);
            let encoded: Vec<String> = parts
                .iter()
                .map(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(p))
                .collect();
            let joined = encoded.join(".");
            if let Ok(u) = parse(&joined) {
                prop_assert_eq!(u.signature, encoded[2].clone());
            }
        }
    }
}
