"""Rate limit quotas (`sys/quotas/rate-limit/<name>`, `sys/quotas/config`): Vault's fields and
checks, the most specific quota governing a request, Vault's 429 body, and quotas kept through the
barrier across a restart."""
from conftest import assert_vault_error, http


def exhaust(node, token, path, allowed):
    """`allowed` reads of `path` succeed, the next is Vault's 429."""
    for i in range(allowed):
        r = http(node, "GET", path, token=token)
        assert r.status_code in (200, 404), (i, r.status_code, r.text)
    r = http(node, "GET", path, token=token)
    assert r.status_code == 429, r.text
    assert r.json() == {"errors": [f'request path "{path}": rate limit quota exceeded']}


def test_rate_limit_quotas_by_mount_and_path_and_their_api(unsealed):
    node, root, _keys = unsealed
    client = node.client(root)
    client.sys.enable_secrets_engine(backend_type="kv", path="kv")
    http(node, "PUT", "kv/a", token=root, json={"v": "1"})

    client.sys.create_or_update_quota(name="kv-mount", path="kv", rate=3, interval="60s", block_interval="2m")
    client.sys.create_or_update_quota(name="kv-special", path="kv/special", rate=1, interval="1m")
    read = client.sys.read_quota("kv-mount")["data"]
    assert read == {"type": "rate-limit", "name": "kv-mount", "path": "kv/", "role": "", "rate": 3,
                    "interval": 60, "block_interval": 120, "inheritable": False}
    assert client.sys.read_quota("kv-special")["data"]["path"] == "kv/special"
    assert sorted(client.sys.list_quotas()["data"]["keys"]) == ["kv-mount", "kv-special"]

    exhaust(node, root, "kv/a", 3)
    # The path quota governs its own prefix, with its own bucket; other mounts have none.
    exhaust(node, root, "kv/special/x", 1)
    for _ in range(5):
        assert http(node, "GET", "sys/mounts", token=root).status_code == 200
    # Unauthenticated requests count too (quotas run before the token is checked).
    assert http(node, "GET", "kv/a").status_code == 429

    client.sys.delete_quota("kv-mount")
    assert http(node, "GET", "kv/a", token=root).status_code == 200
    assert_vault_error(http(node, "GET", "sys/quotas/rate-limit/kv-mount", token=root), 404)

    for body, message in [
        ({"rate": 0}, "'rate' is invalid"),
        ({"rate": 1, "path": "nowhere"}, 'invalid mount path "nowhere/"'),
        ({"rate": 1, "path": "kv/special"}, 'quota rule with similar properties exists under the name "kv-special"'),
    ]:
        errors = assert_vault_error(http(node, "POST", "sys/quotas/rate-limit/bad", token=root, json=body), 400)
        assert errors == [message]


def test_global_quota_survives_a_restart_and_spares_exempt_paths(unsealed):
    node, root, keys = unsealed
    client = node.client(root)
    r = http(node, "POST", "sys/quotas/config", token=root,
             json={"rate_limit_exempt_paths": ["sys/capabilities-self"]})
    assert r.status_code == 204, r.text
    config = http(node, "GET", "sys/quotas/config", token=root).json()["data"]
    assert config["rate_limit_exempt_paths"] == ["sys/capabilities-self"]
    assert config["enable_rate_limit_response_headers"] is False
    client.sys.create_or_update_quota(name="global", rate=2, interval="1h")

    node.stop()
    node.start()
    for key in keys[:3]:
        node.client().sys.submit_unseal_key(key)
    exhaust(node, root, "sys/mounts", 2)
    assert http(node, "GET", "cubbyhole/x", token=root).status_code == 429, "a global quota covers every mount"
    assert http(node, "GET", "sys/health").status_code == 200, "Vault's exempt paths stay open"
    r = http(node, "POST", "sys/capabilities-self", token=root, json={"paths": ["x"]})
    assert r.status_code == 200, "a configured exempt path stays open"
