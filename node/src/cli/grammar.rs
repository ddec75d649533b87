//! Vault's flag grammar (Go's `flag` package) rewritten into what clap parses.
//!
//! Vault accepts `-flag` and `--flag` alike, `-flag=value` and `-flag value` for flags that take
//! a value (the next word is the value even when it starts with a dash), and booleans bare or as
//! `-flag=true` / `-flag=false` (also `1`, `t`, `0`, `f`, ... as Go's `strconv.ParseBool`), but
//! never `-flag false`. `--` ends the flags. The rewrite looks each flag up in clap's own model of
//! the command being parsed (the subcommand reached so far, then its ancestors for the global
//! flags), so it needs no list of its own: it emits `--long=value`, `--long` or nothing (a false
//! boolean), and leaves unknown flags for clap to report. Vault stops reading flags at the first
//! positional argument and warns about later ones; Coffer reads them (a superset: no command
//! here takes a positional argument that starts with a dash, except `-` for stdin).

use clap::{Arg, ArgAction, Command};

/// Rewrite Vault-style arguments (`args[0]` is the program) for `cmd`'s clap parser.
pub fn normalize(cmd: &Command, args: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut built = cmd.clone();
    built.build();
    let mut scope: Vec<&Command> = vec![&built];
    let mut out = Vec::new();
    let mut args = args.into_iter();
    if let Some(program) = args.next() {
        out.push(program);
    }
    while let Some(arg) = args.next() {
        if arg == "--" {
            out.push(arg);
            out.extend(args);
            break;
        }
        let Some(flag) = as_flag(&arg) else {
            // A positional word: the next subcommand, or an argument of the current one.
            let current = scope[scope.len() - 1];
            if let Some(sub) = current.find_subcommand(&arg) {
                scope.push(sub);
            }
            out.push(arg);
            continue;
        };
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        let Some(found) = lookup(&scope, name) else {
            // Unknown here: clap reports it (or prints help for `-h`).
            out.push(if name.len() == 1 {
                format!("-{flag}")
            } else {
                format!("--{flag}")
            });
            continue;
        };
        let spelled = match found.get_long() {
            Some(long) => format!("--{long}"),
            None => format!("-{}", found.get_short().unwrap_or_default()),
        };
        if found.is_require_equals_set() {
            // An optional boolean (`-cas-required`, `-cas-required=false`): only `=` gives it a
            // value, and an unset flag stays distinguishable from a false one.
            match value.as_deref().map(|v| (v, go_bool(v))) {
                None => out.push(spelled),
                Some((_, Some(b))) => out.push(format!("{spelled}={b}")),
                Some((v, None)) => out.push(format!("{spelled}={v}")),
            }
        } else if found.get_action().takes_values() {
            match value.or_else(|| args.next()) {
                Some(v) => out.push(format!("{spelled}={v}")),
                None => out.push(spelled),
            }
        } else if is_boolean(found.get_action()) {
            match value.as_deref().map(go_bool) {
                None | Some(Some(true)) => out.push(spelled),
                Some(Some(false)) => {}
                // Not a boolean: let clap refuse the value.
                Some(None) => out.push(format!("{spelled}={}", value.unwrap_or_default())),
            }
        } else {
            out.push(spelled);
        }
    }
    out
}

/// The flag name (and `=value`) of a word that is a flag: `-x`, `-flag`, `--flag`; not `-`,
/// not a negative number such as `-5`, not `---flag`.
fn as_flag(arg: &str) -> Option<&str> {
    let rest = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'))?;
    let first = rest.chars().next()?;
    if first == '-' || first == '=' || first.is_ascii_digit() {
        return None;
    }
    Some(rest)
}

/// The argument `name` names in the innermost command of `scope` that knows it.
fn lookup<'a>(scope: &[&'a Command], name: &str) -> Option<&'a Arg> {
    let mut short = name.chars();
    let short = match (short.next(), short.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    };
    scope.iter().rev().find_map(|cmd| {
        cmd.get_arguments().find(|a| {
            a.get_long() == Some(name)
                || a.get_all_aliases()
                    .is_some_and(|aliases| aliases.contains(&name))
                || (short.is_some() && a.get_short() == short)
        })
    })
}

fn is_boolean(action: &ArgAction) -> bool {
    matches!(action, ArgAction::SetTrue | ArgAction::Count)
}

/// Go's `strconv.ParseBool`.
fn go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::cli::args::{normalize_args, Cli, Command, Operator};
    use clap::Parser;

    fn norm(args: &[&str]) -> Vec<String> {
        normalize_args(
            std::iter::once("coffer")
                .chain(args.iter().copied())
                .map(String::from),
        )[1..]
            .to_vec()
    }

    fn parse(args: &[&str]) -> Cli {
        let argv = normalize_args(
            std::iter::once("coffer")
                .chain(args.iter().copied())
                .map(String::from),
        );
        Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"))
    }

    fn generate_root(args: &[&str]) -> (Cli, crate::cli::args::GenerateRootArgs) {
        let mut cli = parse(args);
        match cli.command.take() {
            Some(Command::Operator(Operator::GenerateRoot(a))) => (cli, a),
            other => panic!("parsed {other:?}"),
        }
    }

    #[test]
    fn one_or_two_dashes_and_equals_or_space_mean_the_same() {
        let spellings: [&[&str]; 4] = [
            &["-nonce=abc", "-otp=xyz"],
            &["--nonce=abc", "--otp=xyz"],
            &["-nonce", "abc", "-otp", "xyz"],
            &["--nonce", "abc", "--otp=xyz"],
        ];
        for flags in spellings {
            let args: Vec<&str> = ["operator", "generate-root"]
                .iter()
                .chain(flags)
                .copied()
                .collect();
            let (_, a) = generate_root(&args);
            assert_eq!(
                (a.nonce.as_deref(), a.otp.as_deref()),
                (Some("abc"), Some("xyz")),
                "{flags:?}"
            );
        }
        let (_, a) = generate_root(&["operator", "generate-root", "--nonce", "abc", "-otp", "x"]);
        assert_eq!(
            (a.nonce.as_deref(), a.otp.as_deref()),
            (Some("abc"), Some("x"))
        );
    }

    #[test]
    fn a_spaced_value_is_taken_even_when_it_starts_with_a_dash() {
        assert_eq!(
            norm(&["operator", "generate-root", "-otp", "-abc", "-init"]),
            ["operator", "generate-root", "--otp=-abc", "--init"]
        );
        let (_, a) = generate_root(&["operator", "generate-root", "-otp", "-abc", "-init"]);
        assert_eq!(a.otp.as_deref(), Some("-abc"));
        assert!(a.init);
    }

    #[test]
    fn booleans_are_bare_or_take_a_go_boolean_after_equals() {
        for (flag, want) in [
            ("-init", true),
            ("--init", true),
            ("-init=true", true),
            ("--init=1", true),
            ("-init=T", true),
            ("-init=false", false),
            ("--init=0", false),
            ("-init=F", false),
        ] {
            let (_, a) = generate_root(&["operator", "generate-root", flag]);
            assert_eq!(a.init, want, "{flag}");
        }
        // A boolean never takes the next word: it stays a positional argument.
        let (_, a) = generate_root(&["operator", "generate-root", "-status", "false"]);
        assert!(a.status);
        assert_eq!(a.key.as_deref(), Some("false"));
        // Not a boolean: clap refuses it.
        let argv = normalize_args(
            ["coffer", "operator", "generate-root", "-init=maybe"].map(String::from),
        );
        assert!(Cli::try_parse_from(argv).is_err());
    }

    #[test]
    fn flags_may_follow_positional_arguments() {
        let (_, a) = generate_root(&["operator", "generate-root", "KEY", "-nonce=n1"]);
        assert_eq!(
            (a.key.as_deref(), a.nonce.as_deref()),
            (Some("KEY"), Some("n1"))
        );
        let cli = parse(&["read", "secret/x", "-format", "json"]);
        assert_eq!(cli.format.as_deref(), Some("json"));
    }

    #[test]
    fn global_flags_work_at_any_depth() {
        let (cli, a) = generate_root(&[
            "operator",
            "generate-root",
            "--tls-skip-verify",
            "-address",
            "https://127.0.0.1:8200",
            "-decode",
            "ZW5j",
            "-otp",
            "BMjzW3wAsEzINXCM05Wbas3u9zSl",
        ]);
        assert!(cli.tls_skip_verify);
        assert_eq!(cli.address.as_deref(), Some("https://127.0.0.1:8200"));
        assert_eq!(a.decode.as_deref(), Some("ZW5j"));
        let cli = parse(&["-address=http://a:1", "status", "--tls-skip-verify=false"]);
        assert!(!cli.tls_skip_verify);
        assert_eq!(cli.address.as_deref(), Some("http://a:1"));
    }

    #[test]
    fn vault_single_letter_aliases() {
        let cli = parse(&[
            "operator",
            "rekey",
            "-init",
            "-n",
            "7",
            "-t=4",
            "-target=recovery",
        ]);
        match cli.command {
            Some(Command::Operator(Operator::Rekey(a))) => {
                assert_eq!((a.key_shares, a.key_threshold), (7, 4));
                assert_eq!(a.target, "recovery");
            }
            other => panic!("parsed {other:?}"),
        }
    }

    #[test]
    fn dashes_that_are_not_flags_are_untouched() {
        assert_eq!(
            norm(&["kv", "put", "a", "x=-1", "-", "-5"]),
            ["kv", "put", "a", "x=-1", "-", "-5"]
        );
        // After `--` nothing is a flag.
        assert_eq!(
            norm(&["operator", "unseal", "--", "-init"]),
            ["operator", "unseal", "--", "-init"]
        );
        // Help stays help; unknown flags reach clap, which reports them.
        assert_eq!(norm(&["operator", "-h"]), ["operator", "--help"]);
        assert_eq!(norm(&["status", "-bogus=1"]), ["status", "--bogus=1"]);
        let argv = normalize_args(["coffer", "status", "-bogus"].map(String::from));
        assert!(Cli::try_parse_from(argv).is_err());
    }
}
