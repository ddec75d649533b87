//! The `seal` blocks: one, or two during a seal migration (Vault's rule: the old seal
//! `disabled = "true"`, the new one enabled; `auto_unseal::from_config` checks which is which).
//! HCL hands two blocks over as one object with two labels, or as a list; the same label twice
//! as a list under the label. All arrive here as (label, fields); their order carries no meaning
//! (serde_json's maps sort labels), only `disabled` does.

use super::ConfigError;
use serde_json::{Map, Value};

/// A stanza: its type label and its raw fields.
pub type SealBlock = (String, Map<String, Value>);

/// The first and the second `seal` block.
pub fn parse(value: &Value) -> Result<(Option<SealBlock>, Option<SealBlock>), ConfigError> {
    let mut blocks = Vec::new();
    collect(value, &mut blocks)?;
    if blocks.len() > 2 {
        return Err(ConfigError::Invalid(
            "at most two seal blocks are allowed (the second, disabled, for a migration)".into(),
        ));
    }
    let mut blocks = blocks.into_iter();
    let first = blocks
        .next()
        .ok_or_else(|| ConfigError::Invalid("seal block needs a type label".into()))?;
    Ok((Some(first), blocks.next()))
}

fn collect(value: &Value, out: &mut Vec<SealBlock>) -> Result<(), ConfigError> {
    match value {
        Value::Array(items) => items.iter().try_for_each(|item| collect(item, out)),
        Value::Object(labels) if !labels.is_empty() => {
            for (label, body) in labels {
                match body {
                    Value::Object(fields) => out.push((label.clone(), fields.clone())),
                    Value::Array(bodies) => {
                        for body in bodies {
                            let fields = body.as_object().ok_or_else(|| not_a_block(label))?;
                            out.push((label.clone(), fields.clone()));
                        }
                    }
                    _ => return Err(not_a_block(label)),
                }
            }
            Ok(())
        }
        _ => Err(ConfigError::Invalid(
            "seal block needs exactly one type label".into(),
        )),
    }
}

fn not_a_block(label: &str) -> ConfigError {
    ConfigError::Invalid(format!("seal \"{label}\" must be a block"))
}

#[cfg(test)]
mod tests {
    use crate::config::ServerConfig;

    const BASE: &str = "storage \"inmem\" {}\nlistener \"tcp\" { tls_disable = true }\n";

    #[test]
    fn one_or_two_seal_blocks() {
        let cfg = ServerConfig::parse(&format!(
            "{BASE}seal \"transit\" {{\n address = \"https://u:8200\"\n key_name = \"k\"\n}}"
        ))
        .unwrap();
        let (kind, fields) = cfg.seal.unwrap();
        assert_eq!(kind, "transit");
        assert_eq!(fields["key_name"], "k");
        assert!(cfg.other_seal.is_none());

        let two = ServerConfig::parse(&format!(
            "{BASE}seal \"transit\" {{\n disabled = \"true\"\n}}\nseal \"awskms\" {{\n kms_key_id = \"k\"\n}}"
        ))
        .unwrap();
        let mut kinds = [two.seal.unwrap().0, two.other_seal.unwrap().0];
        kinds.sort();
        assert_eq!(kinds, ["awskms".to_string(), "transit".to_string()]);

        let json = ServerConfig::parse(
            r#"{"storage": {"inmem": {}}, "listener": {"tcp": {"tls_disable": true}},
                "seal": [{"awskms": {"disabled": "true"}}, {"awskms": {"kms_key_id": "new"}}]}"#,
        )
        .unwrap();
        assert_eq!(json.other_seal.unwrap().1["kms_key_id"], "new");
    }

    #[test]
    fn three_blocks_or_a_bare_value_are_refused() {
        let three = format!("{BASE}seal \"a\" {{}}\nseal \"b\" {{}}\nseal \"c\" {{}}");
        assert!(ServerConfig::parse(&three).is_err());
        let bare = r#"{"storage": {"inmem": {}}, "listener": {"tcp": {}}, "seal": "awskms"}"#;
        assert!(ServerConfig::parse(bare).is_err());
        let not_block =
            r#"{"storage": {"inmem": {}}, "listener": {"tcp": {}}, "seal": {"awskms": 1}}"#;
        assert!(ServerConfig::parse(not_block).is_err());
    }
}
