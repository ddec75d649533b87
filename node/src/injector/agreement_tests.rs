//! The injector and the agent agree: the seed app's annotations, read by the injector into the
//! config it hands the agent, parse in `coffer agent`, and its template renders the walk-through's
//! file exactly.

use super::{agent_config, annotations};
use crate::agent::config::parse;
use crate::agent::template::{Compiled, Fetched, Rendered, SecretCall};
use crate::plugin_client::Login;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

const SEED_APP: &str = include_str!("../../../tests/fixtures/seed-app.yaml");

fn seed_annotations() -> BTreeMap<String, String> {
    let doc = serde_yaml_ng::Deserializer::from_str(SEED_APP)
        .next()
        .expect("the Deployment is the first document");
    let deployment: serde_json::Value =
        serde::Deserialize::deserialize(doc).expect("the fixture is YAML");
    let annotations = &deployment["spec"]["template"]["metadata"]["annotations"];
    serde_json::from_value(annotations.clone()).expect("annotations are strings")
}

#[test]
fn the_injected_config_of_the_seed_app_parses_and_renders_its_file() {
    let defaults = annotations::Defaults {
        agent_image: "coffer:1".into(),
        vault_address: "https://coffer.vault.svc:8200".into(),
        auth_path: "auth/kubernetes".into(),
    };
    let spec = annotations::read(&seed_annotations(), &defaults).unwrap();
    for exit_after_auth in [true, false] {
        let json = serde_json::to_string(&agent_config::build(&spec, exit_after_auth)).unwrap();
        let config = parse(&json, None).unwrap();
        assert_eq!(config.exit_after_auth, exit_after_auth);
        assert!(config.vault.tls_skip_verify);
        assert_eq!(
            config.vault.address.as_deref(),
            Some("https://coffer.vault.svc:8200")
        );
        match &config.login {
            Login::Kubernetes {
                mount,
                role,
                jwt_file,
            } => {
                assert_eq!(
                    (mount.as_str(), role.as_str()),
                    ("kubernetes", "basic-secret-role")
                );
                assert_eq!(jwt_file.to_str(), Some(agent_config::TOKEN_PATH));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            config.sinks[0].path.to_str(),
            Some("/home/vault/.vault-token")
        );
        assert_eq!(config.render_interval, Duration::from_secs(300));
        let stanza = &config.templates[0];
        assert_eq!(
            stanza.destination.to_str(),
            Some("/vault/secrets/helloworld")
        );
        let template = Compiled::new(&stanza.name, &stanza.text, false).unwrap();
        let call = SecretCall {
            path: "secret/basic-secret/helloworld".into(),
            params: vec![],
        };
        let kv1 = json!({"lease_duration": 2764800, "renewable": false,
            "data": {"username": "dbuser", "password": "sUp3rS3cUr3P@ssw0rd"}});
        let fetched: Fetched = [(call, kv1)].into();
        assert_eq!(
            template.render(&fetched).unwrap(),
            Rendered::Done(
                "{\n  \"username\" : \"dbuser\",\n  \"password\" : \"sUp3rS3cUr3P@ssw0rd\"\n}\n"
                    .into()
            )
        );
    }
}
