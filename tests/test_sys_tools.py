"""`sys/tools/random` and `sys/tools/hash`: Vault's stateless helpers, with its argument rules
(URL segments for source and byte count, 1..=128 KiB, hex/base64) and algorithms."""
import base64
import hashlib

from conftest import assert_vault_error, http


def test_random_bytes_follow_vaults_url_and_body_rules(unsealed):
    node, root, _keys = unsealed

    def random(path, **body):
        r = http(node, "POST", f"sys/tools/{path}", token=root, json=body)
        assert r.status_code == 200, r.text
        return r.json()

    # The installed hvac has no sys/tools calls: raw HTTP, body fields as Vault documents them.
    assert len(bytes.fromhex(random("random", bytes=48, format="hex")["data"]["random_bytes"])) == 48
    default = random("random")["data"]["random_bytes"]
    assert len(base64.b64decode(default)) == 32, "32 bytes, base64, by default"
    assert len(base64.b64decode(random("random/17")["data"]["random_bytes"])) == 17
    assert len(bytes.fromhex(random("random/all/9", format="hex")["data"]["random_bytes"])) == 9
    seal = random("random/seal", bytes=5)
    assert len(base64.b64decode(seal["data"]["random_bytes"])) == 5
    assert seal["warnings"] == ["no seal/entropy augmentation available, using platform entropy source"]
    assert random("random")["data"]["random_bytes"] != default
    big = random(f"random/{128 * 1024}")["data"]["random_bytes"]
    assert len(base64.b64decode(big)) == 128 * 1024

    for path, body, message in [
        ("random/0", {}, '"bytes" cannot be less than 1'),
        (f"random/{128 * 1024 + 1}", {}, '"bytes" should be less than 131072'),
        ("random", {"format": "pem"}, 'unsupported encoding format "pem"; must be "hex" or "base64"'),
        ("random/lava/8", {}, 'unsupported entropy source "lava"'),
        ("random/lava", {}, "error parsing url-set byte count"),
    ]:
        errors = assert_vault_error(http(node, "POST", f"sys/tools/{path}", token=root, json=body), 400)
        assert message in errors[0], errors
    assert_vault_error(http(node, "GET", "sys/tools/random", token=root), 405)
    assert_vault_error(http(node, "POST", "sys/tools/randomness", token=root, json={}), 404)


def test_hash_tool_answers_every_vault_algorithm(unsealed):
    node, root, _keys = unsealed
    data = b"the quick brown fox"
    b64 = base64.b64encode(data).decode()
    expected = {
        "sha2-224": hashlib.sha224, "sha2-256": hashlib.sha256, "sha2-384": hashlib.sha384,
        "sha2-512": hashlib.sha512, "sha3-224": hashlib.sha3_224, "sha3-256": hashlib.sha3_256,
        "sha3-384": hashlib.sha3_384, "sha3-512": hashlib.sha3_512,
    }
    for alg, fn in expected.items():
        r = http(node, "POST", f"sys/tools/hash/{alg}", token=root, json={"input": b64})
        assert r.status_code == 200, r.text
        assert r.json()["data"]["sum"] == fn(data).hexdigest(), alg
        r = http(node, "POST", "sys/tools/hash", token=root,
                 json={"input": b64, "algorithm": alg, "format": "base64"})
        assert base64.b64decode(r.json()["data"]["sum"]) == fn(data).digest(), alg
    r = http(node, "POST", "sys/tools/hash", token=root, json={"input": b64})
    assert r.json()["data"]["sum"] == hashlib.sha256(data).hexdigest(), "sha2-256 and hex by default"

    for path, body, message in [
        ("hash/md5", {"input": b64}, "unsupported hash algorithm md5"),
        ("hash", {"input": b64, "format": "pem"}, 'unsupported encoding format pem; must be "hex" or "base64"'),
        ("hash", {"input": "!!not base64"}, "unable to decode input as base64"),
    ]:
        errors = assert_vault_error(http(node, "POST", f"sys/tools/{path}", token=root, json=body), 400)
        assert message in errors[0], errors
