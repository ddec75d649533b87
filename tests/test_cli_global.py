"""Vault 1.16's global CLI flags on every command, in both `-flag=v` and `-flag v` spellings:
-address, -tls-skip-verify, -ca-cert, -namespace, -format, -field, -output-curl-string."""
import json
import os
import subprocess

from conftest import COFFER_BIN, cli


def run(node, *args, token=None, addr="http://127.0.0.1:1"):
    """The CLI with VAULT_ADDR pointing nowhere: only -address can reach `node`."""
    env = dict(os.environ, VAULT_ADDR=addr, HOME=str(node.workdir))
    env.pop("VAULT_TOKEN", None)
    if token:
        env["VAULT_TOKEN"] = token
    return subprocess.run([COFFER_BIN, *args], env=env, capture_output=True, text=True, timeout=60)


def test_generate_root_takes_tls_and_address_flags_after_the_subcommand(unsealed):
    node, root, _keys = unsealed
    out = run(node, "operator", "generate-root", "-tls-skip-verify", "-init", "-address", node.addr, "-format=json")
    assert out.returncode == 0, out.stderr
    status = json.loads(out.stdout)
    assert status["started"] is True and status["nonce"]
    out = run(node, "operator", "generate-root", "-cancel", f"-address={node.addr}", "-tls-skip-verify=true")
    assert out.returncode == 0, out.stderr
    # -ca-cert is read in both spellings (a missing file is a usage error, exit 1).
    for flags in (["-ca-cert", "/nonexistent.pem"], ["-ca-cert=/nonexistent.pem"]):
        bad = run(node, "status", *flags, "-address", node.addr)
        assert bad.returncode == 1 and "/nonexistent.pem" in bad.stderr, bad


def enable_kv(node, root):
    cli(node, "secrets", "enable", "-path=secret", "-version=2", "kv", token=root)


def test_format_and_field_in_both_spellings(unsealed):
    node, root, _keys = unsealed
    enable_kv(node, root)
    cli(node, "kv", "put", "secret/g", "user=alice", "n=2", token=root)
    for args in (["-format", "json"], ["-format=json"]):
        body = json.loads(cli(node, "kv", "get", *args, "secret/g", token=root).stdout)
        assert body["data"]["data"] == {"user": "alice", "n": "2"}
    for args in (["-field", "user"], ["-field=user"]):
        # Vault prints a raw field without a trailing newline when stdout is not a terminal.
        assert cli(node, "kv", "get", *args, "secret/g", token=root).stdout == "alice"
    assert cli(node, "read", "-field=user", "secret/data/g", token=root, check=False).returncode == 1
    assert cli(node, "read", "-field", "data", "-format=json", "secret/data/g", token=root).stdout.startswith("{")
    missing = cli(node, "kv", "get", "-field=nope", "secret/g", token=root, check=False)
    assert missing.returncode == 1 and 'Field "nope" not present in secret' in missing.stderr


def test_output_curl_string_prints_the_request_and_sends_nothing(unsealed):
    node, root, _keys = unsealed
    enable_kv(node, root)
    out = cli(node, "kv", "put", "-output-curl-string", "-namespace", "team1", "secret/c", "a=it's", token=root)
    line = out.stdout.strip()
    assert line.startswith("curl -X PUT "), line
    assert '-H "X-Vault-Token: $(coffer print token)"' in line and root not in line
    assert '-H "X-Vault-Namespace: team1"' in line
    assert f"""-d '{{"data":{{"a":"it'"'"'s"}},"options":{{}}}}' {node.addr}/v1/secret/data/c""" in line
    # Nothing was written.
    assert cli(node, "kv", "get", "secret/c", token=root, check=False).returncode == 2

    out = cli(node, "read", "-output-curl-string=true", "-tls-skip-verify", "sys/mounts", token=root)
    assert out.stdout.strip().startswith("curl --insecure -H ")
    assert out.stdout.strip().endswith(f"{node.addr}/v1/sys/mounts")
    patch = cli(node, "kv", "patch", "-output-curl-string", "secret/c", "a=1", token=root).stdout
    assert patch.startswith("curl -X PATCH ") and "Content-Type: application/merge-patch+json" in patch


def test_namespace_is_accepted_everywhere_and_print_token(unsealed):
    node, root, _keys = unsealed
    enable_kv(node, root)
    assert cli(node, "status", "-namespace=root", check=False).returncode == 0
    cli(node, "kv", "put", "-namespace", "admin", "secret/n", "a=1", token=root)
    assert cli(node, "kv", "list", "-ns=admin", "secret/", token=root).stdout.split() == ["Keys", "----", "n"]
    assert cli(node, "print", "token", token=root).stdout.strip() == root
    cli(node, "login", root)
    assert cli(node, "print", "token").stdout.strip() == root
