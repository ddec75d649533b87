use super::*;
use serde_json::json;

fn kv2(path: &str, data: serde_json::Value) -> (SecretCall, serde_json::Value) {
    let call = SecretCall {
        path: path.into(),
        params: Vec::new(),
    };
    (
        call,
        json!({"request_id": "r", "lease_id": "", "lease_duration": 0, "renewable": false,
                   "data": {"data": data, "metadata": {"version": 1}}}),
    )
}

/// Render to the end, answering each needed secret from `store`.
fn render_all(t: &Compiled, store: &Fetched) -> Result<String, AgentError> {
    let mut fetched = Fetched::new();
    for _ in 0..8 {
        match t.render(&fetched)? {
            Rendered::Done(s) => return Ok(s),
            Rendered::Needs(calls) => {
                for c in calls {
                    let body = store
                        .get(&c)
                        .cloned()
                        .expect("a secret the test did not store");
                    fetched.insert(c, body);
                }
            }
        }
    }
    panic!("did not settle");
}

#[test]
fn the_seed_apps_template_renders_with_trimming() {
    let text = r#"{{- with secret "secret/data/basic-secret/helloworld" -}}
{"username": "{{ .Data.data.username }}", "password": "{{ .Data.data.password }}"}
{{- end }}"#;
    let t = Compiled::new("helloworld", text, false).unwrap();
    let store: Fetched = [kv2(
        "secret/data/basic-secret/helloworld",
        json!({"username": "dbuser", "password": "a63e8938dcc0"}),
    )]
    .into();
    assert_eq!(
        t.render(&Fetched::new()).unwrap(),
        Rendered::Needs(vec![SecretCall {
            path: "secret/data/basic-secret/helloworld".into(),
            params: vec![]
        }])
    );
    assert_eq!(
        render_all(&t, &store).unwrap(),
        r#"{"username": "dbuser", "password": "a63e8938dcc0"}"#
    );
}

#[test]
fn range_index_if_and_the_json_and_base64_functions() {
    let text = r#"{{ with secret "kv/app" }}{{ range $k, $v := .Data }}{{ $k }}={{ $v }};{{ end }}
{{ index .Data "b" }} {{ if .Data.a }}yes{{ else }}no{{ end }}
{{ toJSON .Data }}
{{ toJSONPretty .Data }}
{{ base64Encode "hi" }} {{ "aGk=" | base64Decode }}{{ end }}"#;
    let t = Compiled::new("t", text, false).unwrap();
    let store: Fetched = [(
        SecretCall {
            path: "kv/app".into(),
            params: vec![],
        },
        json!({"data": {"b": "2", "a": "1"}}),
    )]
    .into();
    let out = render_all(&t, &store).unwrap();
    assert_eq!(out, "a=1;b=2;\n2 yes\n{\"a\":\"1\",\"b\":\"2\"}\n{\n  \"a\": \"1\",\n  \"b\": \"2\"\n}\naGk= hi");
}

#[test]
fn secret_with_parameters_is_a_distinct_call() {
    let text =
        r#"{{ with secret "transit/encrypt/k" "plaintext=aGk=" }}{{ .Data.ciphertext }}{{ end }}"#;
    let t = Compiled::new("t", text, false).unwrap();
    let Rendered::Needs(calls) = t.render(&Fetched::new()).unwrap() else {
        panic!()
    };
    assert_eq!(
        calls[0].params,
        vec![("plaintext".to_string(), "aGk=".to_string())]
    );
}

#[test]
fn an_unknown_function_names_the_template_and_line() {
    let err = Compiled::new("app.ctmpl", "line one\n{{ nosuch \"x\" }}", false)
        .err()
        .unwrap();
    let msg = err.to_string();
    assert!(
        msg.contains("app.ctmpl") && msg.contains(":2:") && msg.contains("nosuch"),
        "{msg}"
    );
}

#[test]
fn a_missing_key_is_an_error_only_when_asked() {
    let text = r#"{{ with secret "kv/app" }}{{ .Data.nope }}{{ end }}"#;
    let store: Fetched = [(
        SecretCall {
            path: "kv/app".into(),
            params: vec![],
        },
        json!({"data": {}}),
    )]
    .into();
    let lenient = Compiled::new("t", text, false).unwrap();
    assert_eq!(render_all(&lenient, &store).unwrap(), "<no value>");
    let strict = Compiled::new("t", text, true).unwrap();
    assert!(matches!(
        render_all(&strict, &store),
        Err(AgentError::MissingKey { .. })
    ));
}

#[test]
fn to_json_escapes_as_gos_json_marshal_does() {
    let text = r#"{{ with secret "kv/app" }}{{ toJSON .Data }}|{{ toJSONPretty .Data }}{{ end }}"#;
    let t = Compiled::new("t", text, false).unwrap();
    let store: Fetched = [(
        SecretCall {
            path: "kv/app".into(),
            params: vec![],
        },
        json!({"data": {"url": "a<b>&c\u{2028}", "n": 3}}),
    )]
    .into();
    assert_eq!(
        render_all(&t, &store).unwrap(),
        "{\"n\":3,\"url\":\"a\\u003cb\\u003e\\u0026c\\u2028\"}|{\n  \"n\": 3,\n  \"url\": \"a\\u003cb\\u003e\\u0026c\\u2028\"\n}"
    );
}
