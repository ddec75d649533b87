//! Request and response data serialised as an audit line logs them: every string replaced by
//! its hash as it is written (`hash.rs`), the value itself neither copied nor changed.
//!
//! As in Vault, a mount's `audit_non_hmac_*_keys` name values left in plain at any depth: a
//! list under such a key is kept whole, a map under it is not (its own keys decide).

use super::hash::Keyed;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

#[derive(Clone, Copy)]
enum Node<'a> {
    Value(&'a Value),
    Object(&'a Map<String, Value>),
}

/// A value with its strings hashed by `key` (none: the device logs raw), except under the keys
/// in `plain`.
pub struct Hashed<'a> {
    key: Option<&'a Keyed>,
    node: Node<'a>,
    plain: &'a [String],
    /// Under a key in `plain`: strings stay as they are.
    keep: bool,
}

impl<'a> Hashed<'a> {
    pub fn new(key: Option<&'a Keyed>, value: &'a Value, plain: &'a [String]) -> Hashed<'a> {
        Hashed {
            key,
            node: Node::Value(value),
            plain,
            keep: false,
        }
    }

    /// Request and response data: an object.
    pub fn object(
        key: Option<&'a Keyed>,
        map: &'a Map<String, Value>,
        plain: &'a [String],
    ) -> Hashed<'a> {
        Hashed {
            key,
            node: Node::Object(map),
            plain,
            keep: false,
        }
    }

    fn child(&self, value: &'a Value, keep: bool) -> Hashed<'a> {
        Hashed {
            key: self.key,
            node: Node::Value(value),
            plain: self.plain,
            keep,
        }
    }

    fn map<S: Serializer>(&self, map: &'a Map<String, Value>, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_map(Some(map.len()))?;
        for (k, v) in map {
            out.serialize_entry(k, &self.child(v, self.plain.contains(k)))?;
        }
        out.end()
    }
}

impl Serialize for Hashed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.node {
            Node::Object(map) | Node::Value(Value::Object(map)) => self.map(map, s),
            Node::Value(Value::Array(items)) => {
                let mut out = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&self.child(item, self.keep))?;
                }
                out.end()
            }
            Node::Value(Value::String(text)) => match self.key {
                Some(key) if !self.keep => s.serialize_str(&key.hash(text)),
                _ => s.serialize_str(text),
            },
            Node::Value(other) => other.serialize(s),
        }
    }
}

/// A response's `wrap_info` as Vault logs it: the wrapping token and the accessors hashed,
/// where and when it was made in plain.
pub struct WrapInfo<'a> {
    key: Option<&'a Keyed>,
    info: &'a Value,
}

impl<'a> WrapInfo<'a> {
    pub fn new(key: Option<&'a Keyed>, info: &'a Value) -> WrapInfo<'a> {
        WrapInfo { key, info }
    }
}

impl Serialize for WrapInfo<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const HASHED: [&str; 3] = ["token", "accessor", "wrapped_accessor"];
        let Value::Object(fields) = self.info else {
            // Not Vault's shape: every string hashed.
            return Hashed::new(self.key, self.info, &[]).serialize(s);
        };
        let mut out = s.serialize_map(Some(fields.len()))?;
        for (k, v) in fields {
            match (self.key, v) {
                (Some(key), Value::String(text))
                    if HASHED.contains(&k.as_str()) && !text.is_empty() =>
                {
                    out.serialize_entry(k, &key.hash(text))?
                }
                _ => out.serialize_entry(k, v)?,
            }
        }
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use super::super::hash::hash_value;
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// What the line holds for `value`: the same as hashing a copy in place (`hash.rs`).
    fn written(key: &Keyed, value: &Value, plain: &[String]) -> Value {
        serde_json::to_value(Hashed::new(Some(key), value, plain)).expect("serialisable")
    }

    #[test]
    fn strings_are_hashed_except_under_plain_keys_and_nothing_else_changes() {
        let key = b"k";
        let keyed = Keyed::new(key);
        let v = json!({"a": "1", "b": "2", "n": {"a": ["3"], "m": {"c": "4"}}, "a2": {"c": "5"}, "x": [1, true, null]});
        let out = written(&keyed, &v, &["a".into(), "a2".into()]);
        assert_eq!(out["a"], "1");
        assert_eq!(out["n"]["a"][0], "3");
        assert_eq!(out["b"], hash_value(key, "2"));
        assert_eq!(out["n"]["m"]["c"], hash_value(key, "4"));
        assert_eq!(out["a2"]["c"], hash_value(key, "5"));
        assert_eq!(out["x"], json!([1, true, null]));
        assert_eq!(
            serde_json::to_value(Hashed::new(None, &v, &[])).expect("serialisable"),
            v,
            "a raw device logs the value as it is"
        );
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-c]{0,3}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-c]{1,2}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// The rule stated plainly, on a copy: a string is hashed unless its nearest object key is
    /// plain; a list passes its parent's verdict down, an object's keys decide afresh.
    fn hash_in_place(key: &Keyed, value: &mut Value, plain: &[String], keep: bool) {
        match value {
            Value::String(s) if !keep => *s = key.hash(s),
            Value::Array(items) => items
                .iter_mut()
                .for_each(|v| hash_in_place(key, v, plain, keep)),
            Value::Object(map) => map
                .iter_mut()
                .for_each(|(k, v)| hash_in_place(key, v, plain, plain.contains(k))),
            _ => {}
        }
    }

    proptest! {
        /// Hashing while writing gives exactly what hashing a copy in place gives, for any
        /// value and any set of plain keys.
        #[test]
        fn written_matches_hashed_in_place(value in json_value(), plain in prop::collection::vec("[a-c]{1,2}", 0..3)) {
            let keyed = Keyed::new(b"device key");
            let mut in_place = value.clone();
            hash_in_place(&keyed, &mut in_place, &plain, false);
            prop_assert_eq!(written(&keyed, &value, &plain), in_place);
        }
    }
}
