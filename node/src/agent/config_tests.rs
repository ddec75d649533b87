use super::*;

const HCL: &str = r#"
pid_file = "/tmp/agent.pid"
exit_after_auth = true
vault {
  address = "https://127.0.0.1:8200"
  tls_skip_verify = true
}
auto_auth {
  method "approle" {
    mount_path = "auth/apps"
    config = {
      role_id_file_path = "/etc/role-id"
      secret_id_file_path = "/etc/secret-id"
    }
  }
  sink "file" {
    config = {
      path = "/tmp/token"
      mode = 0600
    }
  }
}
template {
  contents = "{{ with secret \"secret/data/a\" }}{{ .Data.data.x }}{{ end }}"
  destination = "/tmp/a.txt"
  perms = "0640"
  command = "touch /tmp/rendered"
}
template {
  contents = "b"
  destination = "/tmp/b.txt"
  error_on_missing_key = true
}
template_config {
  static_secret_render_interval = "10s"
}
"#;

#[test]
fn hcl_config_with_labelled_blocks_reads_whole() {
    let c = parse(HCL, None).unwrap();
    assert_eq!(c.vault.address.as_deref(), Some("https://127.0.0.1:8200"));
    assert!(c.vault.tls_skip_verify && c.exit_after_auth);
    match &c.login {
        Login::AppRole {
            mount,
            role_id_file,
            secret_id_file,
        } => {
            assert_eq!(mount, "apps");
            assert_eq!(role_id_file, &PathBuf::from("/etc/role-id"));
            assert_eq!(secret_id_file, &PathBuf::from("/etc/secret-id"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.sinks,
        vec![Sink {
            path: "/tmp/token".into(),
            mode: 0o600
        }]
    );
    assert_eq!(c.templates.len(), 2);
    assert_eq!(c.templates[0].perms, 0o640);
    assert_eq!(
        c.templates[0].command.as_deref(),
        Some("touch /tmp/rendered")
    );
    assert_eq!(c.templates[0].name, "/tmp/a.txt");
    assert!(c.templates[1].error_on_missing_key && c.templates[1].perms == 0o644);
    assert_eq!(c.render_interval, Duration::from_secs(10));
    assert_eq!(c.pid_file, Some(PathBuf::from("/tmp/agent.pid")));
}

#[test]
fn the_injectors_json_config_reads() {
    let json = r#"{"auto_auth":{"method":{"type":"kubernetes","mount_path":"auth/kubernetes",
        "config":{"role":"app","token_path":"/var/run/secrets/kubernetes.io/serviceaccount/token"}},
        "sink":[{"type":"file","config":{"path":"/home/vault/.vault-token"}}]},
        "exit_after_auth":false,"pid_file":"/home/vault/.pid",
        "vault":{"address":"https://coffer:8200","tls_skip_verify":true,"ca_cert":""},
        "template":[{"destination":"/vault/secrets/x","contents":"{{ . }}","left_delimiter":"{{",
        "right_delimiter":"}}","command":"","error_on_missing_key":false}],
        "template_config":{"exit_on_retry_failure":true,"static_secret_render_interval":""}}"#;
    // The injector's empty interval is Vault Agent's default, 5 minutes.
    assert_eq!(
        parse(json, None).unwrap().render_interval,
        Duration::from_secs(300)
    );
    let c = parse(
        &json.replace(
            r#""static_secret_render_interval":"""#,
            r#""static_secret_render_interval":"7s""#,
        ),
        None,
    )
    .unwrap();
    assert_eq!(c.render_interval, Duration::from_secs(7));
    match &c.login {
        Login::Kubernetes { mount, role, .. } => {
            assert_eq!((mount.as_str(), role.as_str()), ("kubernetes", "app"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.vault.ca_cert, None);
    assert_eq!(c.sinks[0].mode, 0o640);
    assert_eq!(c.templates[0].command, None);
}

#[test]
fn missing_and_unknown_parts_are_config_errors() {
    assert!(parse("vault { address = \"x\" }", None).is_err());
    // HCL allows no nested block on one line: these are written out.
    let m = "auto_auth {\n  method \"ldap\" {\n    config = { username = \"x\" }\n  }\n}\n";
    let err = parse(m, None).unwrap_err().to_string();
    assert!(err.contains("\"ldap\" is not supported"), "{err}");
    let no_dest = "auto_auth {\n  method \"token_file\" {\n    config = { token_file_path = \"/t\" }\n  }\n}\ntemplate {\n  contents = \"x\"\n}\n";
    let err = parse(no_dest, None).unwrap_err().to_string();
    assert!(err.contains("destination is required"), "{err}");
}

#[test]
fn modes_read_as_vault_users_write_them() {
    assert_eq!(mode(&serde_json::json!("0640")).unwrap(), 0o640);
    assert_eq!(mode(&serde_json::json!(640)).unwrap(), 0o640);
    assert_eq!(mode(&serde_json::json!(600)).unwrap(), 0o600);
    assert_eq!(mode(&serde_json::json!(488)).unwrap(), 488);
    assert!(mode(&serde_json::json!("rw")).is_err());
    assert!(mode(&serde_json::json!("99999")).is_err());
}
