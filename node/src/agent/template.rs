//! Templates in consul-template's dialect of Go's text/template, rendered by the `gtmpl-ng`
//! crate (Go's lexer, parser and executor, trim markers, `with`/`range`/`if`/`index`), with
//! the functions Vault Agent users write: `secret`, `toJSON`, `toJSONPretty`, `base64Encode`,
//! `base64Decode`.
//!
//! `secret` cannot call Coffer from inside the executor (its functions are plain `fn`s), so a
//! render is consul-template's two-phase one: a pass answers `secret` from the secrets already
//! fetched and notes the ones it lacked ([`Rendered::Needs`]); the caller fetches those and
//! renders again, until a pass needs nothing new. A secret is its path and its `k=v` write
//! parameters (`secret "transit/encrypt/k" "plaintext=..."` is a write). Pure: no I/O.

use super::error::AgentError;
use base64::Engine as _;
use gtmpl_ng::{Context, Func, FuncError, Number, NumberKind, Template, Value};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

/// One `secret` call: the path, and the write parameters (none for a read).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretCall {
    pub path: String,
    pub params: Vec<(String, String)>,
}

/// Fetched secrets, as Coffer answered them (the whole JSON body).
pub type Fetched = HashMap<SecretCall, serde_json::Value>;

/// What a render pass produced.
#[derive(Debug, PartialEq)]
pub enum Rendered {
    Done(String),
    /// Secrets the pass lacked: fetch them and render again.
    Needs(Vec<SecretCall>),
}

/// A parsed template.
pub struct Compiled {
    name: String,
    template: Template,
    error_on_missing_key: bool,
}

thread_local! {
    /// The secrets a pass on this thread may use, and those it asked for and lacked.
    static PASS: RefCell<(Fetched, Vec<SecretCall>)> = RefCell::new((HashMap::new(), Vec::new()));
}

const FUNCS: [(&str, Func); 5] = [
    ("secret", secret),
    ("toJSON", to_json),
    ("toJSONPretty", to_json_pretty),
    ("base64Encode", base64_encode),
    ("base64Decode", base64_decode),
];

impl Compiled {
    /// Parse `text`; an unknown function or a syntax error names the template and line.
    pub fn new(name: &str, text: &str, error_on_missing_key: bool) -> Result<Self, AgentError> {
        let mut template = Template::with_name(name);
        template.add_funcs(&FUNCS);
        template.parse(text).map_err(|e| AgentError::Template {
            name: name.to_string(),
            message: e.to_string(),
        })?;
        Ok(Compiled {
            name: name.to_string(),
            template,
            error_on_missing_key,
        })
    }

    /// One pass with the secrets in `fetched`.
    pub fn render(&self, fetched: &Fetched) -> Result<Rendered, AgentError> {
        PASS.with(|p| *p.borrow_mut() = (fetched.clone(), Vec::new()));
        let out = self.template.render(&Context::empty());
        let (_, mut needs) = PASS.with(|p| std::mem::take(&mut *p.borrow_mut()));
        if !needs.is_empty() {
            needs.sort();
            needs.dedup();
            return Ok(Rendered::Needs(needs));
        }
        let out = out.map_err(|e| AgentError::Template {
            name: self.name.clone(),
            message: e.to_string(),
        })?;
        // Go prints a missing map key as "<no value>"; with missingkey=error it stops instead.
        if self.error_on_missing_key && out.contains("<no value>") {
            return Err(AgentError::MissingKey {
                name: self.name.clone(),
            });
        }
        Ok(Rendered::Done(out))
    }
}

/// consul-template's secret: `{RequestID, LeaseID, LeaseDuration, Renewable, Data, Warnings}`.
fn secret_value(body: &serde_json::Value) -> Value {
    let field = |k: &str| body.get(k).cloned().unwrap_or(serde_json::Value::Null);
    let mut m = HashMap::new();
    m.insert("RequestID".to_string(), from_json(&field("request_id")));
    m.insert("LeaseID".to_string(), from_json(&field("lease_id")));
    m.insert(
        "LeaseDuration".to_string(),
        from_json(&field("lease_duration")),
    );
    m.insert("Renewable".to_string(), from_json(&field("renewable")));
    m.insert("Data".to_string(), from_json(&field("data")));
    m.insert("Warnings".to_string(), from_json(&field("warnings")));
    Value::Map(m)
}

fn secret(args: &[Value]) -> Result<Value, FuncError> {
    let Some(Value::String(path)) = args.first() else {
        return Err(FuncError::AtLeastXArgs("secret".into(), 1));
    };
    let mut params = Vec::new();
    for a in &args[1..] {
        let Value::String(kv) = a else {
            return Err(FuncError::Generic(format!(
                "secret {path}: parameters are \"key=value\" strings"
            )));
        };
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| FuncError::Generic(format!("secret {path}: {kv:?} is not key=value")))?;
        params.push((k.to_string(), v.to_string()));
    }
    let call = SecretCall {
        path: path.trim_matches('/').to_string(),
        params,
    };
    PASS.with(|p| {
        let mut pass = p.borrow_mut();
        match pass.0.get(&call) {
            Some(body) => Ok(secret_value(body)),
            None => {
                pass.1.push(call);
                Ok(Value::NoValue)
            }
        }
    })
}

fn one_arg<'a>(name: &str, args: &'a [Value]) -> Result<&'a Value, FuncError> {
    match args {
        [v] => Ok(v),
        _ => Err(FuncError::ExactlyXArgs(name.into(), 1)),
    }
}

fn to_json(args: &[Value]) -> Result<Value, FuncError> {
    let v = to_json_value(one_arg("toJSON", args)?);
    Ok(Value::String(go_escaped(&v.to_string())))
}

fn to_json_pretty(args: &[Value]) -> Result<Value, FuncError> {
    let v = to_json_value(one_arg("toJSONPretty", args)?);
    serde_json::to_string_pretty(&v)
        .map(|s| Value::String(go_escaped(&s)))
        .map_err(|e| FuncError::Generic(e.to_string()))
}

/// Go's `json.Marshal` escapes `<`, `>`, `&`, U+2028 and U+2029 inside strings (they occur
/// nowhere else in JSON text), so consul-template's `toJSON` writes `"a\u0026b"` for `a&b`.
fn go_escaped(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

fn base64_encode(args: &[Value]) -> Result<Value, FuncError> {
    match one_arg("base64Encode", args)? {
        Value::String(s) => Ok(Value::String(
            base64::engine::general_purpose::STANDARD.encode(s),
        )),
        _ => Err(FuncError::UnableToConvertFromValue),
    }
}

fn base64_decode(args: &[Value]) -> Result<Value, FuncError> {
    let Value::String(s) = one_arg("base64Decode", args)? else {
        return Err(FuncError::UnableToConvertFromValue);
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|e| FuncError::Generic(format!("base64Decode: {e}")))?;
    String::from_utf8(raw)
        .map(Value::String)
        .map_err(|_| FuncError::Generic("base64Decode: not UTF-8 text".into()))
}

/// A JSON answer as a template value.
pub fn from_json(v: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::Nil,
        J::Bool(b) => Value::Bool(*b),
        J::String(s) => Value::String(s.clone()),
        J::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Value::Number(Number::from(u)),
            (_, Some(i), _) => Value::Number(Number::from(i)),
            (_, _, f) => Value::Number(Number::from(f.unwrap_or(0.0))),
        },
        J::Array(items) => Value::Array(items.iter().map(from_json).collect()),
        J::Object(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), from_json(v))).collect()),
    }
}

/// A template value as JSON, map keys sorted (Go's `json.Marshal`).
fn to_json_value(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::NoValue | Value::Nil | Value::Function(_) => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::String(s) => J::String(s.clone()),
        Value::Number(n) => match n.kind() {
            NumberKind::Unsigned(u) => J::from(u),
            NumberKind::Signed(i) => J::from(i),
            NumberKind::Float(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
        },
        Value::Array(items) => J::Array(items.iter().map(to_json_value).collect()),
        Value::Map(m) | Value::Object(m) => {
            let sorted: BTreeMap<&String, J> =
                m.iter().map(|(k, v)| (k, to_json_value(v))).collect();
            J::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
    }
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
