"""Every JSON reply names the type of the mount that answered in `mount_type`, as Vault's do."""
from conftest import http


def test_replies_carry_the_answering_mounts_type(unsealed):
    node, root, _keys = unsealed
    client = node.client(root)
    client.sys.enable_secrets_engine(backend_type="kv", path="kv2", options={"version": "2"})
    client.sys.enable_secrets_engine(backend_type="kv", path="kv1")
    client.sys.enable_secrets_engine(backend_type="transit", path="transit")
    client.sys.enable_auth_method(method_type="userpass", path="userpass")
    client.secrets.kv.v2.create_or_update_secret(path="a", secret={"x": "1"}, mount_point="kv2")
    http(node, "PUT", "kv1/a", token=root, json={"x": "1"})
    http(node, "PUT", "auth/userpass/users/u", token=root, json={"password": "pw"})
    http(node, "POST", "transit/keys/k", token=root, json={})

    for method, path, body, kind in [
        ("GET", "kv2/data/a", None, "kv"),
        ("GET", "kv1/a", None, "kv"),
        ("GET", "transit/keys/k", None, "transit"),
        ("GET", "auth/token/lookup-self", None, "token"),
        ("GET", "auth/userpass/users/u", None, "userpass"),
        ("POST", "auth/userpass/login/u", {"password": "pw"}, "userpass"),
        ("GET", "sys/mounts", None, "system"),
    ]:
        r = http(node, method, path, token=root, json=body)
        assert r.status_code == 200, (path, r.text)
        assert r.json()["mount_type"] == kind, (path, r.json().get("mount_type"))
