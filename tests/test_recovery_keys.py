"""Recovery keys through the CLI on an awskms-sealed three-node cluster (moto as the KMS): `operator
init` hands them out, `operator generate-root` takes them, `operator rekey -target=recovery`
replaces them, and the old ones stop authorising. The decode step is run with the argument lists
hvac's own test helper (`tests/utils.decode_generated_root_token`) gives the Vault CLI."""
import json
import os
import subprocess

import pytest

from conftest import COFFER_BIN, Node, cli
from test_awskms import awskms_stanza, health, kms, wait_until  # noqa: F401  (kms is a fixture)


@pytest.fixture
def kms_cluster(tmp_path, kms):
    seal = awskms_stanza(kms)
    n1 = Node(tmp_path, "r1", extra_config=seal).start()
    n2 = Node(tmp_path, "r2", extra_config=seal).start()
    n3 = Node(tmp_path, "r3", extra_config=seal, retry_join=[n1.addr]).start()
    nodes = [n1, n2, n3]
    yield nodes
    for n in nodes:
        n.stop()


def run_json(node, *args, **kwargs):
    return json.loads(cli(node, *args, "-format=json", **kwargs).stdout)


def hvac_decode(node, encoded, otp, dashes="-"):
    """hvac's decode_generated_root_token: the same argv (with `dashes` before each flag) and
    the same reading of stdout."""
    d = dashes
    command = [COFFER_BIN, "operator", "generate-root", f"{d}address", node.addr, f"{d}tls-skip-verify",
               f"{d}decode", encoded, f"{d}otp", otp]
    env = dict(os.environ, HOME=str(node.workdir))
    env.pop("VAULT_FORMAT", None)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8", env=env)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    try:
        token = json.loads(stdout)["token"]
    except ValueError:
        token = stdout.replace("Root token:", "")
    return token.strip()


def generate_root(node, keys):
    """A root token from `keys` through the CLI, each share given a different Vault spelling."""
    otp = cli(node, "operator", "generate-root", "-generate-otp").stdout.strip()
    assert len(otp) == 28, otp
    started = run_json(node, "operator", "generate-root", "-init", f"-otp={otp}")
    assert started["started"] is True and started["required"] == len(keys), started
    nonce = started["nonce"]
    spellings = [
        lambda k: (["operator", "generate-root", f"-nonce={nonce}", k], None),
        lambda k: (["operator", "generate-root", "--nonce", nonce, k], None),
        lambda k: (["operator", "generate-root", k, "-nonce", nonce], None),  # flag after the key
        lambda k: (["operator", "generate-root", f"--nonce={nonce}", "-"], k),  # share on stdin
    ]
    last = None
    for i, key in enumerate(keys):
        args, stdin = spellings[i % len(spellings)](key)
        last = run_json(node, *args, stdin=stdin)
        assert last["progress"] == i + 1, last
    assert last["complete"] is True, last
    table = cli(node, "operator", "generate-root", "-status").stdout
    assert "Started" in table and "Progress" in table
    return hvac_decode(node, last["encoded_token"], otp)


def refused_generate_root(node, keys):
    """Start an attempt and give `keys`: the last must be refused with Vault's words."""
    nonce = run_json(node, "operator", "generate-root", "-init")["nonce"]
    for key in keys[:-1]:
        cli(node, "operator", "generate-root", f"-nonce={nonce}", key)
    refused = cli(node, "operator", "generate-root", f"-nonce={nonce}", keys[-1], check=False)
    cli(node, "operator", "generate-root", "-cancel")
    return refused


def test_recovery_keys_from_init_generate_a_root_token_and_are_rekeyed_through_the_cli(kms_cluster):
    n1, n2, n3 = kms_cluster
    assert cli(n1, "operator", "init", "-status", check=False).returncode == 2

    init = run_json(n1, "operator", "init", "-recovery-shares=5", "-recovery-threshold=3")
    assert init["unseal_keys_b64"] == [] and init["unseal_keys_hex"] == []
    assert (init["unseal_shares"], init["unseal_threshold"]) == (1, 1)
    assert (init["recovery_keys_shares"], init["recovery_keys_threshold"]) == (5, 3)
    recovery, root = init["recovery_keys_b64"], init["root_token"]
    assert len(recovery) == 5 and len(set(recovery)) == 5
    assert [bytes.fromhex(h) for h in init["recovery_keys_hex"]] == [
        __import__("base64").b64decode(k) for k in recovery
    ]
    assert cli(n1, "operator", "init", "-status").returncode == 0
    assert run_json(n1, "operator", "init", "-status") == {"initialized": True}

    # The cluster forms with nobody typing a key: node2 joins through the CLI, node3 by retry_join.
    joined = run_json(n2, "operator", "raft", "join", n1.addr)
    assert joined["joined"] is True
    for n in kms_cluster:
        wait_until(lambda: health(n) in (200, 429), what=f"{n.name} auto-unsealed")
    peers = run_json(n1, "operator", "raft", "list-peers", token=root)["data"]["config"]["servers"]
    assert len(peers) == 3, peers
    status = run_json(n3, "status", check=False)
    assert status["recovery_seal"] is True and (status["n"], status["t"]) == (5, 3), status

    # Three recovery keys make a root token; it works on every node.
    token = generate_root(n1, recovery[2:5])
    assert token and token != root
    for n in kms_cluster:
        assert run_json(n, "token", "lookup", token=token)["data"]["policies"] == ["root"]
    cli(n2, "secrets", "enable", "-path=secret", "-version=2", "kv", token=token)
    cli(n3, "kv", "put", "secret/app", "v=made-by-the-new-root", token=token)
    assert run_json(n1, "kv", "get", "secret/app", token=root)["data"]["data"] == {"v": "made-by-the-new-root"}

    # Rekey the recovery key: four new shares, two needed.
    started = run_json(n1, "operator", "rekey", "-target=recovery", "-init", "-key-shares=4", "-key-threshold=2")
    assert started["started"] is True and (started["n"], started["t"], started["required"]) == (4, 2, 3)
    nonce = started["nonce"]
    assert "Rekey Progress" in cli(n1, "operator", "rekey", "-target", "recovery", "-status").stdout
    steps = [
        run_json(n1, "operator", "rekey", "--target=recovery", f"-nonce={nonce}", recovery[0]),
        # No key and no nonce: the share is asked for and the nonce taken from the status.
        run_json(n1, "operator", "rekey", "-target=recovery", stdin=recovery[1] + "\n"),
        run_json(n1, "operator", "rekey", "-target=recovery", "-nonce", nonce, "-", stdin=recovery[2]),
    ]
    assert [s["progress"] for s in steps[:2]] == [1, 2]
    done = steps[2]
    assert done["complete"] is True, done
    new = done["keys_base64"]
    assert len(new) == 4 and not set(new) & set(recovery)
    status = run_json(n2, "status", check=False)
    assert (status["n"], status["t"]) == (4, 2), status

    # The old keys no longer authorise, with Vault's error; the new ones do.
    refused = refused_generate_root(n1, recovery[:2])
    assert refused.returncode == 2 and "recovery key does not match submitted values" in refused.stderr, refused.stderr
    token2 = generate_root(n1, new[1:3])
    assert run_json(n1, "token", "lookup", token=token2)["data"]["policies"] == ["root"]
    # A rekey authorised by old keys is refused too, with Vault's error for it.
    nonce = run_json(n1, "operator", "rekey", "-target=recovery", "-init", "-key-shares=3", "-key-threshold=2")["nonce"]
    cli(n1, "operator", "rekey", "-target=recovery", f"-nonce={nonce}", recovery[0])
    bad = cli(n1, "operator", "rekey", "-target=recovery", f"-nonce={nonce}", recovery[1], check=False)
    assert bad.returncode == 2
    assert "recovery key verification failed: recovery key does not match submitted values" in bad.stderr, bad.stderr
    assert cli(n1, "operator", "rekey", "-target=recovery", "-cancel").returncode == 0


def test_hvac_decode_helper_argv_works_with_one_or_two_dashes(tmp_path, kms):
    """hvac's helper passes `-address URL -tls-skip-verify -decode X -otp Y` (space-separated values,
    a bare boolean); harnesses built on it write the same with `--`."""
    n1 = Node(tmp_path, "h1", extra_config=awskms_stanza(kms)).start()
    try:
        hvac_helper_round_trip(n1)
    finally:
        n1.stop()


def hvac_helper_round_trip(n1):
    init = run_json(n1, "operator", "init", "-recovery-shares=1", "-recovery-threshold=1")
    otp = "BMjzW3wAsEzINXCM05Wbas3u9zSl"  # hvac's get_generate_root_otp() for Vault >= 1.10
    nonce = run_json(n1, "operator", "generate-root", "--init", "--otp", otp)["nonce"]
    done = run_json(n1, "operator", "generate-root", "--nonce", nonce, init["recovery_keys_b64"][0])
    one = hvac_decode(n1, done["encoded_token"], otp, "-")
    two = hvac_decode(n1, done["encoded_token"], otp, "--")
    assert one == two and one.startswith("hvs.")
    assert run_json(n1, "token", "lookup", token=one)["data"]["policies"] == ["root"]
