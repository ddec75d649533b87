"""Foundation acceptance: one node with raft storage, driven by hvac."""
import base64
import hvac
import pytest


def init_and_unseal(client: hvac.Client, shares=5, threshold=3):
    result = client.sys.initialize(secret_shares=shares, secret_threshold=threshold)
    keys, root = result["keys"], result["root_token"]
    assert len(keys) == shares
    for i, key in enumerate(keys[:threshold]):
        status = client.sys.submit_unseal_key(key)
        assert status["sealed"] == (i < threshold - 1)
    return keys, root


def test_init_unseal_kv_policy_rotate_restart(node):
    client = node.client()
    assert client.sys.is_initialized() is False
    keys, root = init_and_unseal(client)
    client.token = root
    assert client.sys.is_sealed() is False

    client.sys.enable_secrets_engine(backend_type="kv", path="secret", options={"version": "2"})
    secrets = {f"app/db{i}": {"user": f"u{i}", "password": f"p4ss-{i}"} for i in range(3)}
    secrets["other/x"] = {"k": "v"}
    for path, data in secrets.items():
        client.secrets.kv.v2.create_or_update_secret(path=path, secret=data, mount_point="secret")
    read = client.secrets.kv.v2.read_secret_version(path="app/db1", mount_point="secret")
    assert read["data"]["data"] == secrets["app/db1"]
    assert read["data"]["metadata"]["version"] == 1

    client.sys.create_or_update_policy(
        name="app-read", policy='path "secret/data/app/*" { capabilities = ["read"] }'
    )
    limited = client.auth.token.create(policies=["app-read"], ttl="1h")["auth"]["client_token"]
    app = node.client(limited)
    got = app.secrets.kv.v2.read_secret_version(path="app/db0", mount_point="secret")
    assert got["data"]["data"]["password"] == "p4ss-0"
    with pytest.raises(hvac.exceptions.Forbidden):
        app.secrets.kv.v2.read_secret_version(path="other/x", mount_point="secret")
    with pytest.raises(hvac.exceptions.Forbidden):
        app.secrets.kv.v2.create_or_update_secret(path="app/db0", secret={"x": "y"}, mount_point="secret")
    with pytest.raises(hvac.exceptions.Forbidden):
        app.sys.list_mounted_secrets_engines()

    term_before = client.sys.get_encryption_key_status()["data"]["term"]
    client.sys.rotate_encryption_key()
    assert client.sys.get_encryption_key_status()["data"]["term"] == term_before + 1
    secrets["app/after-rotate"] = {"n": "42"}
    client.secrets.kv.v2.create_or_update_secret(path="app/after-rotate", secret=secrets["app/after-rotate"], mount_point="secret")

    node.stop()
    node.start()
    client = node.client(root)
    assert client.sys.is_sealed() is True
    with pytest.raises(hvac.exceptions.VaultDown):
        client.secrets.kv.v2.read_secret_version(path="app/db0", mount_point="secret")
    for key in keys[2:5]:
        client.sys.submit_unseal_key(key)
    assert client.sys.is_sealed() is False
    for path, data in secrets.items():
        got = client.secrets.kv.v2.read_secret_version(path=path, mount_point="secret")
        assert got["data"]["data"] == data, path
    # The limited token survived the restart too, with the same reach.
    app = node.client(limited)
    assert app.secrets.kv.v2.read_secret_version(path="app/db2", mount_point="secret")["data"]["data"] == secrets["app/db2"]
    with pytest.raises(hvac.exceptions.Forbidden):
        app.secrets.kv.v2.read_secret_version(path="other/x", mount_point="secret")


def base64_forms(raw: bytes):
    """The base64 text of `raw` at each of the three byte alignments it could sit at inside a
    larger encoded blob, trimmed of the edge characters that depend on neighbouring bytes."""
    forms = []
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw).rstrip(b"=")
        start = (pad * 4 + 2) // 3  # characters touched by the padding bytes
        forms.append(encoded[start:-2])
    return forms


def test_no_plaintext_under_data_dir(node):
    client = node.client()
    _, root = init_and_unseal(client, shares=1, threshold=1)
    client.token = root
    client.sys.enable_secrets_engine(backend_type="kv", path="secret", options={"version": "2"})
    value = "correct-horse-battery-staple-7f3a9c"
    client.secrets.kv.v2.create_or_update_secret(path="plain/check", secret={"pw": value}, mount_point="secret")
    node.stop()  # flush RocksDB memtables to files
    needles = [value.encode(), root.encode(), *base64_forms(value.encode())]
    files = [p for p in node.data_dir.rglob("*") if p.is_file()]
    assert files, "the node wrote nothing to its data directory"
    for path in files:
        blob = path.read_bytes()
        for needle in needles:
            assert needle not in blob, f"{needle!r} found in {path}"
