//! The claim checks of a verified token, as Vault's jwt plugin makes them: issuer, subject,
//! audience, the time claims with their leeways, `bound_claims` (exact or `*` glob), and the
//! reading of `claim_mappings`, `user_claim` and `groups_claim`.
//!
//! A claim name starting with `/` is a JSON pointer into the claims (`/kubernetes.io/namespace`);
//! any other name is a top-level key, taken literally (dots included).

use crate::auth::glob;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The clock-skew leeway when a role sets 0 (go-jose's default).
pub const DEFAULT_CLOCK_SKEW: i64 = 60;
/// The leeway added to a missing `exp` (or taken from `exp` for a missing `nbf`) when a role sets 0.
pub const DEFAULT_CLAIM_LEEWAY: i64 = 150;

/// A claim by name or JSON pointer; JSON `null` counts as absent.
pub fn get<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    let Some(pointer) = name.strip_prefix('/') else {
        return claims.get(name).filter(|v| !v.is_null());
    };
    let mut tokens = pointer
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"));
    let first = tokens.next()?;
    let mut at = claims.get(&first)?;
    for token in tokens {
        at = match at {
            Value::Object(m) => m.get(&token)?,
            Value::Array(items) => items.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    (!at.is_null()).then_some(at)
}

/// A claim value as a list: a list is itself, a string or boolean is a list of one.
fn normalize_list(v: &Value) -> Option<Vec<&Value>> {
    match v {
        Value::Array(items) => Some(items.iter().collect()),
        Value::String(_) | Value::Bool(_) => Some(vec![v]),
        _ => None,
    }
}

/// What the role expects of the registered claims, and its leeways (0: the default, negative:
/// none), with the time to check against.
#[derive(Debug, Clone, Default)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub subject: &'a str,
    pub audiences: &'a [String],
    pub clock_skew_leeway: i64,
    pub expiration_leeway: i64,
    pub not_before_leeway: i64,
    pub now: i64,
}

fn leeway(set: i64, default: i64) -> i64 {
    match set {
        0 => default,
        n if n < 0 => 0,
        n => n,
    }
}

/// A NumericDate claim: absent → 0, as go-jose reads it; not a number → an error.
fn date(claims: &Map<String, Value>, name: &str) -> Result<i64, String> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => Ok(n.as_f64().unwrap_or_default() as i64),
        Some(_) => Err(format!("invalid {name} claim: not a NumericDate")),
    }
}

/// The `aud` claim as a list (a lone string is a list of one).
pub fn audiences(claims: &Map<String, Value>) -> Result<Vec<String>, String> {
    match claims.get("aud") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(String::from))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| "invalid audience (aud) claim: not a list of strings".to_string()),
        Some(_) => Err("invalid audience (aud) claim: not a string or list".into()),
    }
}

/// Issuer, subject, audience and the time claims (Vault's `jwt.Validator`; errors are its words).
pub fn validate(claims: &Map<String, Value>, e: &Expected<'_>) -> Result<(), String> {
    let text = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or_default();
    if !e.issuer.is_empty() && e.issuer != text("iss") {
        return Err("invalid issuer (iss) claim".into());
    }
    if !e.subject.is_empty() && e.subject != text("sub") {
        return Err("invalid subject (sub) claim".into());
    }
    let aud = audiences(claims)?;
    if !e.audiences.is_empty() && !e.audiences.iter().any(|a| aud.contains(a)) {
        return Err(
            "invalid audience (aud) claim: audience claim does not match any expected audience"
                .into(),
        );
    }
    let iat = date(claims, "iat")?;
    let mut exp = date(claims, "exp")?;
    let mut nbf = date(claims, "nbf")?;
    if iat == 0 && exp == 0 && nbf == 0 {
        return Err(
            "no issued at (iat), not before (nbf), or expiration time (exp) claims in token".into(),
        );
    }
    if exp == 0 {
        exp = iat.max(nbf) + leeway(e.expiration_leeway, DEFAULT_CLAIM_LEEWAY);
    }
    if nbf == 0 {
        nbf = if iat != 0 {
            iat
        } else {
            exp - leeway(e.not_before_leeway, DEFAULT_CLAIM_LEEWAY)
        };
    }
    let skew = leeway(e.clock_skew_leeway, DEFAULT_CLOCK_SKEW);
    if e.now + skew < nbf {
        return Err("invalid not before (nbf) claim: token not yet valid".into());
    }
    if e.now - skew > exp {
        return Err("invalid expiration time (exp) claim: token is expired".into());
    }
    if iat != 0 && e.now + skew < iat {
        return Err("invalid issued at (iat) claim: token issued in the future".into());
    }
    Ok(())
}

/// Whether every bound claim is present and one of its expected values matches one of the
/// token's (`glob`: `*` patterns over strings).
pub fn check_bound(
    bound: &Map<String, Value>,
    globs: bool,
    claims: &Map<String, Value>,
) -> Result<(), String> {
    for (name, expected) in bound {
        let actual = get(claims, name).ok_or_else(|| format!("claim {name:?} is missing"))?;
        let actual = normalize_list(actual)
            .ok_or_else(|| format!("received claim is not a string or list: {actual}"))?;
        let expected = normalize_list(expected)
            .ok_or_else(|| format!("bound claim is not a string or list: {expected}"))?;
        let found = expected.iter().any(|want| {
            actual.iter().any(|got| match (globs, want, got) {
                (true, Value::String(p), Value::String(v)) => glob::matches(p, v),
                (true, _, _) => false,
                (false, _, _) => want == got,
            })
        });
        if !found {
            return Err(format!(
                "claim {name:?} does not match any associated bound claim values"
            ));
        }
    }
    Ok(())
}

/// The alias metadata `claim_mappings` (claim → key) yields; a mapped claim that is present must
/// be a string.
pub fn mapped_metadata(
    claims: &Map<String, Value>,
    mappings: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (source, target) in mappings {
        if let Some(v) = get(claims, source) {
            let s = v
                .as_str()
                .ok_or_else(|| format!("error converting claim '{source}' to string"))?;
            out.insert(target.clone(), s.to_string());
        }
    }
    Ok(out)
}

/// The group names of `groups_claim` (a string or a list of strings; empty names skipped).
pub fn groups(claims: &Map<String, Value>, name: &str) -> Result<Vec<String>, String> {
    let raw = get(claims, name)
        .ok_or_else(|| format!("failed to fetch groups: {name:?} claim not found in token"))?;
    let list = normalize_list(raw)
        .ok_or_else(|| format!("{name:?} claim could not be converted to string list"))?;
    let mut out = Vec::new();
    for g in list {
        let g = g
            .as_str()
            .ok_or_else(|| format!("value {g} in groups claim could not be parsed as string"))?;
        if !g.is_empty() {
            out.push(g.to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn names_are_keys_and_slashes_are_json_pointers() {
        let c = obj(
            json!({"kubernetes.io": {"namespace": "a", "pods": ["p0", "p1"]},
                           "a/b": 1, "k~": {"x": true}, "n": null}),
        );
        assert_eq!(get(&c, "/kubernetes.io/namespace"), Some(&json!("a")));
        assert_eq!(get(&c, "/kubernetes.io/pods/1"), Some(&json!("p1")));
        assert_eq!(get(&c, "/a~1b"), Some(&json!(1)));
        assert_eq!(get(&c, "/k~0/x"), Some(&json!(true)));
        assert_eq!(get(&c, "kubernetes.io/namespace"), None);
        assert_eq!(get(&c, "n"), None);
        assert_eq!(get(&c, "/kubernetes.io/pods/9"), None);
    }

    fn expected(now: i64) -> Expected<'static> {
        Expected {
            now,
            ..Default::default()
        }
    }

    #[test]
    fn time_claims_are_checked_with_leeway() {
        let now = 1_000_000;
        let ok = obj(json!({"exp": now + 10, "iat": now}));
        assert_eq!(validate(&ok, &expected(now)), Ok(()));
        // Expired 30s ago: inside the 60s clock skew; 90s ago: refused; skew disabled: refused.
        let recent = obj(json!({"exp": now - 30}));
        assert_eq!(validate(&recent, &expected(now)), Ok(()));
        let old = obj(json!({"exp": now - 90}));
        assert!(validate(&old, &expected(now))
            .unwrap_err()
            .contains("expired"));
        let strict = Expected {
            clock_skew_leeway: -1,
            ..expected(now)
        };
        assert!(validate(&recent, &strict).is_err());
        let future = obj(json!({"nbf": now + 120, "exp": now + 500}));
        assert!(validate(&future, &expected(now))
            .unwrap_err()
            .contains("nbf"));
        let issued_later = obj(json!({"iat": now + 120}));
        assert!(validate(&issued_later, &expected(now)).is_err());
        // No exp: iat + 150s (+ skew).
        let iat_only = obj(json!({"iat": now - 200}));
        assert_eq!(validate(&iat_only, &expected(now)), Ok(()));
        let stale = obj(json!({"iat": now - 300}));
        assert!(validate(&stale, &expected(now)).is_err());
        assert!(validate(&obj(json!({"sub": "x"})), &expected(now)).is_err());
        assert!(validate(&obj(json!({"exp": "soon"})), &expected(now)).is_err());
    }

    #[test]
    fn issuer_subject_and_audience_must_match_when_bound() {
        let c = obj(json!({"iss": "https://i", "sub": "s", "aud": ["a", "b"], "iat": 10}));
        let auds = vec!["b".to_string()];
        let e = Expected {
            issuer: "https://i",
            subject: "s",
            audiences: &auds,
            ..expected(20)
        };
        assert_eq!(validate(&c, &e), Ok(()));
        let wrong = vec!["z".to_string()];
        let e2 = Expected {
            audiences: &wrong,
            ..e.clone()
        };
        assert!(validate(&c, &e2).unwrap_err().contains("audience"));
        let e3 = Expected {
            issuer: "https://other",
            ..e.clone()
        };
        assert_eq!(validate(&c, &e3).unwrap_err(), "invalid issuer (iss) claim");
        let e4 = Expected { subject: "t", ..e };
        assert!(validate(&c, &e4).unwrap_err().contains("sub"));
        assert_eq!(audiences(&obj(json!({"aud": "x"}))).unwrap(), vec!["x"]);
    }

    #[test]
    fn bound_claims_match_exactly_or_by_glob() {
        let c = obj(
            json!({"groups": ["dev", "ops"], "kubernetes.io": {"namespace": "team-a"},
                           "admin": true, "n": 3}),
        );
        let bound = obj(json!({"/kubernetes.io/namespace": ["team-b", "team-a"], "groups": "ops"}));
        assert_eq!(check_bound(&bound, false, &c), Ok(()));
        let miss = obj(json!({"/kubernetes.io/namespace": "team-*"}));
        assert!(check_bound(&miss, false, &c).is_err());
        assert_eq!(check_bound(&miss, true, &c), Ok(()));
        let absent = obj(json!({"email": "x"}));
        assert_eq!(
            check_bound(&absent, false, &c).unwrap_err(),
            "claim \"email\" is missing"
        );
        assert_eq!(check_bound(&obj(json!({"admin": true})), false, &c), Ok(()));
        assert!(check_bound(&obj(json!({"n": "3"})), false, &c).is_err());
    }

    #[test]
    fn mappings_and_groups_read_strings() {
        let c = obj(json!({"email": "a@x", "team": {"name": "blue"}, "n": 1,
                           "groups": ["g1", "", "g2"], "one": "solo"}));
        let m: BTreeMap<String, String> = [("email", "mail"), ("/team/name", "team"), ("x", "y")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let out = mapped_metadata(&c, &m).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out["team"], "blue");
        let bad: BTreeMap<String, String> = [("n".to_string(), "n".to_string())].into();
        assert!(mapped_metadata(&c, &bad).is_err());
        assert_eq!(groups(&c, "groups").unwrap(), vec!["g1", "g2"]);
        assert_eq!(groups(&c, "one").unwrap(), vec!["solo"]);
        assert!(groups(&c, "missing").is_err());
        assert!(groups(&c, "n").is_err());
    }
}
