use super::*;

fn view() -> IdentityView {
    let alias = AliasView {
        id: "alias-1".into(),
        name: "uid-a".into(),
        metadata: [("service_account_namespace".to_owned(), "team-a".to_owned())].into(),
        custom_metadata: [("tier".to_owned(), "gold".to_owned())].into(),
    };
    IdentityView {
        entity_id: "ent-1".into(),
        entity_name: "alice".into(),
        metadata: [("team".to_owned(), "blue".to_owned())].into(),
        aliases: [("auth_kubernetes_1".to_owned(), alias)].into(),
        groups: vec![GroupView {
            id: "g-1".into(),
            name: "ops.team".into(),
            metadata: [("env".to_owned(), "prod".to_owned())].into(),
        }],
    }
}

fn filled(path: &str) -> Option<String> {
    render(&parse_template(path).expect("parses"), Some(&view()))
}

#[test]
fn every_vault_parameter_resolves() {
    let cases = [
        ("a/{{identity.entity.id}}/b", "a/ent-1/b"),
        ("a/{{ identity.entity.name }}", "a/alice"),
        ("{{identity.entity.metadata.team}}/*", "blue/*"),
        ("x/{{identity.entity.aliases.auth_kubernetes_1.id}}", "x/alias-1"),
        ("x/{{identity.entity.aliases.auth_kubernetes_1.name}}", "x/uid-a"),
        (
            "secret/data/{{identity.entity.aliases.auth_kubernetes_1.metadata.service_account_namespace}}/*",
            "secret/data/team-a/*",
        ),
        (
            "x/{{identity.entity.aliases.auth_kubernetes_1.custom_metadata.tier}}",
            "x/gold",
        ),
        ("g/{{identity.groups.ids.g-1.name}}", "g/ops.team"),
        ("g/{{identity.groups.names.ops.team.id}}", "g/g-1"),
        ("g/{{identity.groups.ids.g-1.metadata.env}}", "g/prod"),
        ("g/{{identity.groups.names.ops.team.metadata.env}}", "g/prod"),
        (
            "{{identity.entity.name}}-{{identity.entity.id}}",
            "alice-ent-1",
        ),
    ];
    for (path, want) in cases {
        assert_eq!(filled(path).as_deref(), Some(want), "{path}");
    }
}

#[test]
fn a_missing_value_or_entity_leaves_the_rule_unresolved() {
    for path in [
        "a/{{identity.entity.metadata.nope}}",
        "a/{{identity.entity.aliases.auth_other.name}}",
        "a/{{identity.entity.aliases.auth_kubernetes_1.metadata.nope}}",
        "a/{{identity.groups.ids.g-2.name}}",
        "a/{{identity.groups.names.nobody.id}}",
    ] {
        assert_eq!(filled(path), None, "{path}");
    }
    let pieces = parse_template("a/{{identity.entity.id}}").unwrap();
    assert_eq!(render(&pieces, None), None);
    let empty = IdentityView::default();
    assert_eq!(render(&pieces, Some(&empty)), None, "an empty id is no id");
}

#[test]
fn syntax_errors_are_named() {
    use TemplateError::*;
    let cases = [
        ("a/{{identity.entity.id", Unbalanced),
        ("a/identity.entity.id}}", Unbalanced),
        ("a/{{ {{identity.entity.id}} }}", Unbalanced),
        ("a/{{}}", Empty),
        (
            "a/{{identity.entity.ids}}",
            UnknownParameter("identity.entity.ids".into()),
        ),
        (
            "a/{{identity.foo}}",
            UnknownParameter("identity.foo".into()),
        ),
        (
            "a/{{identity.entity.metadata.}}",
            UnknownParameter("identity.entity.metadata.".into()),
        ),
        (
            "a/{{identity.entity.aliases.acc}}",
            UnknownParameter("identity.entity.aliases.acc".into()),
        ),
        (
            "a/{{identity.entity.aliases.acc.other}}",
            UnknownParameter("identity.entity.aliases.acc.other".into()),
        ),
        (
            "a/{{identity.groups.ids.g.id}}",
            UnknownParameter("identity.groups.ids.g.id".into()),
        ),
        (
            "a/{{identity.groups.names..id}}",
            UnknownParameter("identity.groups.names..id".into()),
        ),
    ];
    for (path, want) in cases {
        assert_eq!(parse_template(path), Err(want), "{path}");
    }
}

#[test]
fn plain_paths_are_one_text_piece() {
    assert!(!is_templated("secret/data/*"));
    assert!(is_templated("a/{{x}}") && is_templated("a/}}"));
    assert_eq!(
        parse_template("secret/data/*").unwrap(),
        vec![Piece::Text("secret/data/*".into())]
    );
}
