"""The `coffer` CLI as an operator uses it, against a fresh node, compared with Vault 1.16's CLI:
same commands, flags, `-format=json` output and exit codes (0 success, 1 usage, 2 API error /
sealed / nothing found)."""
import base64
import json
import re
import subprocess

import hvac
import pytest

from conftest import COFFER_BIN, cli


def init_via_cli(node, shares=5, threshold=3):
    out = cli(node, "operator", "init", f"-key-shares={shares}", f"-key-threshold={threshold}", "-format=json")
    return json.loads(out.stdout)


def unseal_via_cli(node, keys):
    statuses = []
    for key in keys:
        statuses.append(json.loads(cli(node, "operator", "unseal", "-format=json", key).stdout))
    return statuses


@pytest.fixture
def ready(node):
    """A node initialised and unsealed through the CLI: (node, root_token, init_output)."""
    init = init_via_cli(node)
    unseal_via_cli(node, init["unseal_keys_b64"][:3])
    return node, init["root_token"], init


def test_version_flag_and_command_print_coffer_version_and_vault_api_version(tmp_path):
    for args in (["-version"], ["version"]):
        out = subprocess.run([COFFER_BIN, *args], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        line = out.stdout.strip().splitlines()[0]
        assert line.startswith("Coffer v"), line
        assert re.search(r"Vault API (v)?1\.\d+(\.\d+)?", line), line


def test_status_exits_2_while_sealed_and_0_once_unsealed(node):
    fresh = cli(node, "status", "-format=json", check=False)
    assert fresh.returncode == 2, fresh.stderr
    status = json.loads(fresh.stdout)
    assert status["initialized"] is False
    assert status["sealed"] is True

    init = init_via_cli(node)
    sealed = cli(node, "status", "-format=json", check=False)
    assert sealed.returncode == 2
    status = json.loads(sealed.stdout)
    assert (status["initialized"], status["sealed"], status["n"], status["t"]) == (True, True, 5, 3)

    unseal_via_cli(node, init["unseal_keys_b64"][:3])
    unsealed = cli(node, "status", "-format=json", check=False)
    assert unsealed.returncode == 0, unsealed.stderr
    assert json.loads(unsealed.stdout)["sealed"] is False
    # The table form has the same exit code.
    assert cli(node, "status", check=False).returncode == 0


def test_operator_init_json_has_b64_and_hex_keys_and_a_working_root_token(node):
    init = init_via_cli(node, shares=5, threshold=3)
    b64, hexes = init["unseal_keys_b64"], init["unseal_keys_hex"]
    assert len(b64) == len(hexes) == 5
    assert len(set(b64)) == 5
    for b, h in zip(b64, hexes):
        assert base64.b64decode(b) == bytes.fromhex(h)
    assert init["unseal_shares"] == 5 and init["unseal_threshold"] == 3
    assert init["root_token"]

    # The hex forms unseal just as well as the base64 ones.
    unseal_via_cli(node, hexes[2:5])
    lookup = json.loads(cli(node, "token", "lookup", "-format=json", token=init["root_token"]).stdout)
    assert lookup["data"]["policies"] == ["root"]

    again = cli(node, "operator", "init", "-key-shares=1", "-key-threshold=1", check=False)
    assert again.returncode == 2, "initialising twice must fail as an API error"
    assert "initialized" in again.stderr.lower()


def test_operator_unseal_counts_progress_then_unseals_at_threshold(node):
    init = init_via_cli(node)
    s1, s2, s3 = unseal_via_cli(node, init["unseal_keys_b64"][:3])
    assert (s1["sealed"], s1["progress"], s1["t"]) == (True, 1, 3)
    assert (s2["sealed"], s2["progress"]) == (True, 2)
    assert s3["sealed"] is False
    assert node.client().sys.is_sealed() is False


def test_login_stores_the_token_in_vault_token_file_for_later_commands(ready):
    node, root, _ = ready
    token_file = node.workdir / ".vault-token"
    assert not token_file.exists()

    bad = cli(node, "login", "hvs.not-a-real-token", check=False)
    assert bad.returncode == 2, "logging in with an invalid token must fail"
    assert not token_file.exists(), "a rejected token must not be stored"

    out = cli(node, "login", root)
    assert "Success" in out.stdout
    assert token_file.read_text().strip() == root

    # No VAULT_TOKEN from here on: the CLI uses ~/.vault-token.
    lookup = json.loads(cli(node, "token", "lookup", "-format=json").stdout)
    assert lookup["data"]["id"] == root
    assert lookup["data"]["policies"] == ["root"]
    cli(node, "secrets", "enable", "-path=kv1", "kv")
    cli(node, "write", "kv1/x", "a=b")
    assert json.loads(cli(node, "read", "-format=json", "kv1/x").stdout)["data"] == {"a": "b"}


def test_secrets_enable_list_and_disable(ready):
    node, root, _ = ready
    out = cli(node, "secrets", "enable", "-path=kv1", "kv", token=root)
    assert "kv1/" in out.stdout
    cli(node, "secrets", "enable", "-version=2", "-path=secret", "kv", token=root)

    mounts = json.loads(cli(node, "secrets", "list", "-format=json", token=root).stdout)
    assert mounts["kv1/"]["type"] == "kv"
    assert mounts["secret/"]["type"] == "kv"
    assert mounts["secret/"]["options"]["version"] == "2"
    assert (mounts["kv1/"].get("options") or {}).get("version", "1") == "1"
    assert mounts["sys/"]["type"] == "system"

    taken = cli(node, "secrets", "enable", "-path=kv1", "kv", token=root, check=False)
    assert taken.returncode == 2, "enabling a second engine at a used path must fail"

    cli(node, "write", "kv1/keep", "v=1", token=root)
    out = cli(node, "secrets", "disable", "kv1", token=root)
    assert "Success" in out.stdout
    mounts = json.loads(cli(node, "secrets", "list", "-format=json", token=root).stdout)
    assert "kv1/" not in mounts and "secret/" in mounts

    # Disabling removes the engine's data: a new mount at the same path starts empty.
    cli(node, "secrets", "enable", "-path=kv1", "kv", token=root)
    assert cli(node, "read", "kv1/keep", token=root, check=False).returncode == 2


def test_kv_v2_put_get_versions_list_metadata_and_delete(ready):
    node, root, _ = ready
    cli(node, "secrets", "enable", "-version=2", "-path=secret", "kv", token=root)

    first = json.loads(cli(node, "kv", "put", "-format=json", "secret/app/db", "user=u1", "pass=p1", token=root).stdout)
    assert first["data"]["version"] == 1
    second = json.loads(cli(node, "kv", "put", "-format=json", "secret/app/db", "user=u2", "pass=p2", token=root).stdout)
    assert second["data"]["version"] == 2
    cli(node, "kv", "put", "secret/app/other", "x=y", token=root)

    got = json.loads(cli(node, "kv", "get", "-format=json", "secret/app/db", token=root).stdout)
    assert got["data"]["data"] == {"user": "u2", "pass": "p2"}
    assert got["data"]["metadata"]["version"] == 2
    old = json.loads(cli(node, "kv", "get", "-format=json", "-version=1", "secret/app/db", token=root).stdout)
    assert old["data"]["data"] == {"user": "u1", "pass": "p1"}
    table = cli(node, "kv", "get", "secret/app/db", token=root).stdout
    assert re.search(r"^pass\s+p2$", table, re.M) and re.search(r"^user\s+u2$", table, re.M), table

    assert json.loads(cli(node, "kv", "list", "-format=json", "secret/", token=root).stdout) == ["app/"]
    assert sorted(json.loads(cli(node, "kv", "list", "-format=json", "secret/app", token=root).stdout)) == ["db", "other"]

    meta = json.loads(cli(node, "kv", "metadata", "get", "-format=json", "secret/app/db", token=root).stdout)
    assert meta["data"]["current_version"] == 2
    assert set(meta["data"]["versions"]) == {"1", "2"}

    out = cli(node, "kv", "delete", "secret/app/db", token=root)
    assert "Success" in out.stdout
    meta = json.loads(cli(node, "kv", "metadata", "get", "-format=json", "secret/app/db", token=root).stdout)
    assert meta["data"]["versions"]["2"]["deletion_time"], "kv delete soft-deletes the latest version"
    assert not meta["data"]["versions"]["1"]["deletion_time"]
    with pytest.raises(hvac.exceptions.InvalidPath):
        node.client(root).secrets.kv.v2.read_secret_version(path="app/db", mount_point="secret", raise_on_deleted_version=True)
    assert cli(node, "kv", "get", "-format=json", "secret/app/missing", token=root, check=False).returncode == 2


def test_kv_put_with_stale_cas_fails_and_keeps_the_value(ready):
    node, root, _ = ready
    cli(node, "secrets", "enable", "-version=2", "-path=secret", "kv", token=root)
    cli(node, "kv", "put", "secret/c", "v=1", token=root)
    cli(node, "kv", "put", "secret/c", "v=2", token=root)

    stale = cli(node, "kv", "put", "-cas=1", "secret/c", "v=stale", token=root, check=False)
    assert stale.returncode != 0, "a check-and-set mismatch must fail"
    assert "check-and-set" in stale.stderr
    got = json.loads(cli(node, "kv", "get", "-format=json", "secret/c", token=root).stdout)
    assert got["data"]["data"] == {"v": "2"} and got["data"]["metadata"]["version"] == 2

    create_only = cli(node, "kv", "put", "-cas=0", "secret/c", "v=again", token=root, check=False)
    assert create_only.returncode != 0, "-cas=0 on an existing secret must fail"

    ok = json.loads(cli(node, "kv", "put", "-format=json", "-cas=2", "secret/c", "v=3", token=root).stdout)
    assert ok["data"]["version"] == 3


def test_kv_v1_put_get_list_and_delete(ready):
    node, root, _ = ready
    cli(node, "secrets", "enable", "-path=kv1", "kv", token=root)
    out = cli(node, "kv", "put", "kv1/app/x", "a=1", "b=two", token=root)
    assert "Success" in out.stdout
    cli(node, "kv", "put", "kv1/app/y", "c=3", token=root)

    got = json.loads(cli(node, "kv", "get", "-format=json", "kv1/app/x", token=root).stdout)
    assert got["data"] == {"a": "1", "b": "two"}, "KV v1 data is not wrapped in data/metadata"
    assert sorted(json.loads(cli(node, "kv", "list", "-format=json", "kv1/app", token=root).stdout)) == ["x", "y"]

    cli(node, "kv", "delete", "kv1/app/x", token=root)
    gone = cli(node, "kv", "get", "kv1/app/x", token=root, check=False)
    assert gone.returncode == 2
    assert json.loads(cli(node, "kv", "list", "-format=json", "kv1/app", token=root).stdout) == ["y"]


def test_kv_metadata_get_on_a_v1_mount_is_refused_with_exit_1(ready):
    node, root, _ = ready
    cli(node, "secrets", "enable", "-path=kv1", "kv", token=root)
    cli(node, "kv", "put", "kv1/x", "a=1", token=root)
    out = cli(node, "kv", "metadata", "get", "kv1/x", token=root, check=False)
    # Vault: `Metadata not supported on KV Version 1`, exit 1, nothing on stdout.
    assert out.returncode == 1, (out.returncode, out.stdout)
    assert "Metadata not supported on KV Version 1" in out.stderr
    assert "a" not in out.stdout.split()


def test_policy_write_from_file_and_stdin_read_list_delete(ready):
    node, root, _ = ready
    cli(node, "secrets", "enable", "-version=2", "-path=secret", "kv", token=root)
    cli(node, "kv", "put", "secret/app/db", "pw=s3cret", token=root)

    file_policy = 'path "secret/data/app/*" {\n  capabilities = ["read"]\n}\n'
    path = node.workdir / "app-read.hcl"
    path.write_text(file_policy)
    out = cli(node, "policy", "write", "app-read", str(path), token=root)
    assert "app-read" in out.stdout
    stdin_policy = 'path "secret/data/app/*" { capabilities = ["create", "update", "read"] }\n'
    cli(node, "policy", "write", "app-write", "-", token=root, stdin=stdin_policy)

    assert cli(node, "policy", "read", "app-read", token=root).stdout.strip() == file_policy.strip()
    assert cli(node, "policy", "read", "app-write", token=root).stdout.strip() == stdin_policy.strip()
    names = json.loads(cli(node, "policy", "list", "-format=json", token=root).stdout)
    assert {"app-read", "app-write", "default", "root"} <= set(names)

    # The policies are enforced as written.
    reader = json.loads(cli(node, "token", "create", "-policy=app-read", "-format=json", token=root).stdout)["auth"]["client_token"]
    got = json.loads(cli(node, "kv", "get", "-format=json", "secret/app/db", token=reader).stdout)
    assert got["data"]["data"] == {"pw": "s3cret"}
    denied = cli(node, "kv", "put", "secret/app/db", "pw=hacked", token=reader, check=False)
    assert denied.returncode == 2 and "permission denied" in denied.stderr
    writer = json.loads(cli(node, "token", "create", "-policy=app-write", "-format=json", token=root).stdout)["auth"]["client_token"]
    cli(node, "kv", "put", "secret/app/db", "pw=rotated", token=writer)

    out = cli(node, "policy", "delete", "app-read", token=root)
    assert "app-read" in out.stdout
    assert "app-read" not in json.loads(cli(node, "policy", "list", "-format=json", token=root).stdout)
    assert cli(node, "policy", "read", "app-read", token=root, check=False).returncode == 2
    # A token holding a deleted policy loses what it granted.
    assert cli(node, "kv", "get", "secret/app/db", token=reader, check=False).returncode == 2


def test_policy_read_json_prints_the_policy_field(ready):
    node, root, _ = ready
    text = 'path "kv1/*" { capabilities = ["read"] }\n'
    cli(node, "policy", "write", "p", "-", token=root, stdin=text)
    out = json.loads(cli(node, "policy", "read", "-format=json", "p", token=root).stdout)
    # Vault prints {"policy": "<rules>"}.
    assert out.get("policy", "").strip() == text.strip(), out


def test_token_create_lookup_by_token_and_accessor_then_revoke(ready):
    node, root, _ = ready
    cli(node, "policy", "write", "x", "-", token=root, stdin='path "kv1/*" { capabilities = ["read"] }')
    created = json.loads(cli(node, "token", "create", "-policy=x", "-ttl=1h", "-format=json", token=root).stdout)
    auth = created["auth"]
    token, accessor = auth["client_token"], auth["accessor"]
    assert sorted(auth["policies"]) == ["default", "x"]
    assert auth["lease_duration"] == 3600
    assert auth["renewable"] is True

    by_token = json.loads(cli(node, "token", "lookup", "-format=json", token, token=root).stdout)["data"]
    assert by_token["id"] == token and by_token["accessor"] == accessor
    assert sorted(by_token["policies"]) == ["default", "x"]
    assert 3500 < by_token["ttl"] <= 3600

    self_lookup = json.loads(cli(node, "token", "lookup", "-format=json", token=token).stdout)["data"]
    assert self_lookup["accessor"] == accessor

    by_accessor = json.loads(cli(node, "token", "lookup", "-format=json", "-accessor", accessor, token=root).stdout)["data"]
    assert by_accessor["accessor"] == accessor
    assert by_accessor["id"] == "", "a lookup by accessor must not reveal the token"
    assert sorted(by_accessor["policies"]) == ["default", "x"]

    out = cli(node, "token", "revoke", token, token=root)
    assert "Success" in out.stdout
    assert cli(node, "token", "lookup", token, token=root, check=False).returncode == 2
    assert cli(node, "token", "lookup", token=token, check=False).returncode == 2


def test_generic_write_read_list_delete_with_file_and_stdin_values(ready):
    node, root, _ = ready
    cli(node, "secrets", "enable", "-path=kv1", "kv", token=root)
    value_file = node.workdir / "value.txt"
    value_file.write_text("line one\nline two\n")

    out = cli(node, "write", "kv1/a", f"k=@{value_file}", "plain=v", token=root)
    assert "Success" in out.stdout
    cli(node, "write", "kv1/b", "k=-", token=root, stdin="from stdin")
    cli(node, "write", "kv1/dir/c", "n=1", token=root)

    a = json.loads(cli(node, "read", "-format=json", "kv1/a", token=root).stdout)
    assert a["data"] == {"k": "line one\nline two\n", "plain": "v"}
    b = json.loads(cli(node, "read", "-format=json", "kv1/b", token=root).stdout)
    assert b["data"] == {"k": "from stdin"}
    table = cli(node, "read", "kv1/b", token=root).stdout
    assert re.search(r"^k\s+from stdin$", table, re.M), table

    assert sorted(json.loads(cli(node, "list", "-format=json", "kv1/", token=root).stdout)) == ["a", "b", "dir/"]
    assert json.loads(cli(node, "list", "-format=json", "kv1/dir", token=root).stdout) == ["c"]

    out = cli(node, "delete", "kv1/a", token=root)
    assert "Success" in out.stdout
    missing = cli(node, "read", "kv1/a", token=root, check=False)
    assert missing.returncode == 2
    assert cli(node, "list", "kv1/nothing-here", token=root, check=False).returncode == 2
    bad_pair = cli(node, "write", "kv1/z", "no-equals-sign", token=root, check=False)
    assert bad_pair.returncode != 0
    assert cli(node, "read", "kv1/z", token=root, check=False).returncode == 2


def test_rekey_replaces_the_unseal_keys(ready):
    node, root, init = ready
    old_keys = init["unseal_keys_b64"]
    started = json.loads(cli(node, "operator", "rekey", "-init", "-key-shares=3", "-key-threshold=2", "-format=json", token=root).stdout)
    assert started["started"] is True
    assert (started["n"], started["t"], started["required"]) == (3, 2, 3)
    nonce = started["nonce"]
    assert nonce

    results = [
        json.loads(cli(node, "operator", "rekey", "-format=json", f"-nonce={nonce}", key, token=root).stdout)
        for key in old_keys[:3]
    ]
    assert [r.get("progress") for r in results[:2]] == [1, 2]
    done = results[2]
    assert done["complete"] is True
    new_keys = done["keys_base64"]
    assert len(new_keys) == 3 and len(done["keys"]) == 3
    assert not set(new_keys) & set(old_keys)
    status = json.loads(cli(node, "status", "-format=json").stdout)
    assert (status["n"], status["t"]) == (3, 2)

    cli(node, "operator", "seal", token=root)
    assert cli(node, "status", check=False).returncode == 2

    cli(node, "operator", "unseal", old_keys[0], check=False)
    wrong = cli(node, "operator", "unseal", old_keys[1], check=False)
    assert wrong.returncode == 2, "a threshold of old keys must be rejected"
    assert cli(node, "status", check=False).returncode == 2, "old keys must not unseal"

    s1, s2 = unseal_via_cli(node, new_keys[1:3])
    assert s1["sealed"] is True and s1["progress"] == 1
    assert s2["sealed"] is False
    assert cli(node, "status", check=False).returncode == 0
    assert json.loads(cli(node, "token", "lookup", "-format=json", token=root).stdout)["data"]["policies"] == ["root"]


def test_generate_root_with_otp_decodes_to_a_working_root_token(ready):
    node, root, init = ready
    attempt = json.loads(cli(node, "operator", "generate-root", "-init", "-format=json", token=root).stdout)
    otp, nonce = attempt["otp"], attempt["nonce"]
    assert otp and nonce
    assert attempt["started"] is True and attempt["required"] == 3

    updates = [
        json.loads(cli(node, "operator", "generate-root", "-format=json", f"-nonce={nonce}", key).stdout)
        for key in init["unseal_keys_b64"][1:4]
    ]
    assert [u["progress"] for u in updates] == [1, 2, 3]
    assert updates[1]["complete"] is False
    assert updates[2]["complete"] is True
    encoded = updates[2]["encoded_token"]
    assert encoded

    decoded = cli(node, "operator", "generate-root", f"-decode={encoded}", f"-otp={otp}").stdout.strip()
    assert decoded and decoded != root
    as_json = json.loads(cli(node, "operator", "generate-root", f"-decode={encoded}", f"-otp={otp}", "-format=json").stdout)
    assert as_json["token"] == decoded
    lookup = json.loads(cli(node, "token", "lookup", "-format=json", token=decoded).stdout)["data"]
    assert lookup["policies"] == ["root"]
    cli(node, "policy", "write", "made-by-new-root", "-", token=decoded, stdin='path "x/*" { capabilities = ["read"] }')


def test_operator_rotate_increments_the_key_term_and_data_still_reads(ready):
    node, root, _ = ready
    cli(node, "secrets", "enable", "-path=kv1", "kv", token=root)
    cli(node, "write", "kv1/before", "v=old-term", token=root)
    before = json.loads(cli(node, "operator", "key-status", "-format=json", token=root).stdout)
    term = before["term"]
    assert term >= 1

    out = cli(node, "operator", "rotate", token=root)
    assert "Success" in out.stdout
    after = json.loads(cli(node, "operator", "key-status", "-format=json", token=root).stdout)
    assert after["term"] == term + 1
    table = cli(node, "operator", "key-status", token=root).stdout
    assert str(term + 1) in table

    cli(node, "write", "kv1/after", "v=new-term", token=root)
    assert json.loads(cli(node, "read", "-format=json", "kv1/before", token=root).stdout)["data"] == {"v": "old-term"}
    assert json.loads(cli(node, "read", "-format=json", "kv1/after", token=root).stdout)["data"] == {"v": "new-term"}


def test_operator_key_status_json_is_vaults_flat_key_status(ready):
    node, root, _ = ready
    status = json.loads(cli(node, "operator", "key-status", "-format=json", token=root).stdout)
    # Vault prints api.KeyStatus as is: {"term", "install_time", "encryptions"}, no response envelope.
    assert set(status) == {"term", "install_time", "encryptions"}, sorted(status)
    rotated = json.loads(cli(node, "operator", "rotate", "-format=json", token=root).stdout)
    assert set(rotated) == {"term", "install_time", "encryptions"}, sorted(rotated)
    assert rotated["term"] == status["term"] + 1
