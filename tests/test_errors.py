"""Bad input gets Vault-shaped errors (`{"errors": [...]}` with Vault's status) and changes nothing;
sealed and uninitialised nodes answer as Vault 1.16 does."""
import pytest

from conftest import assert_vault_error, http


@pytest.fixture
def kv(unsealed):
    """An unsealed node with kv1/ (KV v1) holding kv1/a and secret/ (KV v2) holding secret/app."""
    node, root, keys = unsealed
    for body, path in (({"type": "kv"}, "kv1"), ({"type": "kv", "options": {"version": "2"}}, "secret")):
        assert http(node, "POST", f"sys/mounts/{path}", token=root, json=body).status_code == 204
    assert http(node, "PUT", "kv1/a", token=root, json={"v": "old"}).status_code == 204
    assert http(node, "PUT", "secret/data/app", token=root, json={"data": {"v": "old"}}).status_code == 200
    return node, root, keys


def kv1_a(node, root):
    r = http(node, "GET", "kv1/a", token=root)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def kv2_app(node, root):
    r = http(node, "GET", "secret/data/app", token=root)
    assert r.status_code == 200, r.text
    return r.json()["data"]["data"], r.json()["data"]["metadata"]["version"]


def mounts(node, root):
    r = http(node, "GET", "sys/mounts", token=root)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_unknown_path_is_404_with_an_errors_list(kv):
    node, root, _ = kv
    for method in ("GET", "PUT", "DELETE"):
        r = http(node, method, "no-such-mount/x", token=root, json={"a": "b"} if method == "PUT" else None)
        assert assert_vault_error(r, 404), f"{method}: a 404 for an unroutable path carries a message"
    assert r.headers["Content-Type"].startswith("application/json")
    assert "no-such-mount/" not in mounts(node, root)


def test_missing_secret_is_404_with_an_empty_errors_list(kv):
    node, root, _ = kv
    assert assert_vault_error(http(node, "GET", "kv1/missing", token=root), 404) == []
    assert assert_vault_error(http(node, "GET", "secret/data/missing", token=root), 404) == []


def test_malformed_json_body_is_400_and_writes_nothing(kv):
    node, root, _ = kv
    headers = {"Content-Type": "application/json"}
    for path in ("kv1/a", "kv1/new", "secret/data/app", "sys/policies/acl/p"):
        r = http(node, "PUT", path, token=root, data=b'{"v": "new"', headers=headers)
        assert_vault_error(r, 400)
    assert kv1_a(node, root) == {"v": "old"}
    assert http(node, "GET", "kv1/new", token=root).status_code == 404
    assert kv2_app(node, root) == ({"v": "old"}, 1)
    assert http(node, "GET", "sys/policies/acl/p", token=root).status_code == 404


def test_mount_with_non_string_type_is_400_and_mounts_nothing(kv):
    node, root, _ = kv
    # Vault decodes `type` weakly (123 -> "123", an unknown plugin); a missing type is refused too.
    for body in ({"type": 123}, {"type": {"name": "kv"}}, {}):
        assert_vault_error(http(node, "POST", "sys/mounts/m1", token=root, json=body), 400)
    assert "m1/" not in mounts(node, root)


def test_kv2_write_with_non_map_data_is_400_and_keeps_the_old_version(kv):
    node, root, _ = kv
    for body in ({"data": "x"}, {"data": ["v", "new"]}, {"data": {"v": "new"}, "options": "cas=1"},
                 {"data": {"v": "new"}, "options": {"cas": "abc"}}):
        assert_vault_error(http(node, "PUT", "secret/data/app", token=root, json=body), 400)
    assert kv2_app(node, root) == ({"v": "old"}, 1)
    assert_vault_error(http(node, "PUT", "secret/data/fresh", token=root, json={"data": "x"}), 400)
    assert http(node, "GET", "secret/metadata/fresh", token=root).status_code == 404
    assert_vault_error(http(node, "PUT", "secret/metadata/app", token=root, json={"max_versions": "abc"}), 400)
    assert http(node, "GET", "secret/metadata/app", token=root).json()["data"]["max_versions"] == 0


def test_kv1_write_with_a_non_object_body_is_400_and_keeps_the_old_value(kv):
    node, root, _ = kv
    for raw in (b'"a string"', b"[1, 2]", b"42"):
        r = http(node, "PUT", "kv1/a", token=root, data=raw, headers={"Content-Type": "application/json"})
        assert_vault_error(r, 400)
    assert kv1_a(node, root) == {"v": "old"}


def test_init_with_non_numeric_secret_shares_is_400_and_leaves_the_node_uninitialised(node):
    for body in ({"secret_shares": "abc", "secret_threshold": 1}, {"secret_shares": 3, "secret_threshold": "x"},
                 {"secret_shares": 1, "secret_threshold": 2}):
        assert_vault_error(http(node, "PUT", "sys/init", json=body), 400)
    assert http(node, "GET", "sys/init").json() == {"initialized": False}
    assert node.client().sys.read_seal_status()["initialized"] is False


def test_rekey_init_with_bad_fields_is_400_and_starts_nothing(kv):
    node, root, _ = kv
    for body in ({"secret_shares": "abc", "secret_threshold": 2}, {"secret_shares": 2, "secret_threshold": 3}):
        assert_vault_error(http(node, "PUT", "sys/rekey/init", token=root, json=body), 400)
    status = http(node, "GET", "sys/rekey/init", token=root).json()
    assert status["started"] is False and status["nonce"] == ""


def test_token_create_with_wrong_field_types_is_400_and_creates_nothing(kv):
    node, root, _ = kv
    before = http(node, "LIST", "auth/token/accessors", token=root).json()["data"]["keys"]
    for body in ({"ttl": "banana"}, {"num_uses": "abc"}, {"meta": "x=y"}, {"period": [1]}, {"explicit_max_ttl": "1 fortnight"}):
        assert_vault_error(http(node, "POST", "auth/token/create", token=root, json=body), 400)
    after = http(node, "LIST", "auth/token/accessors", token=root).json()["data"]["keys"]
    assert sorted(after) == sorted(before)


def test_missing_token_is_403_and_writes_nothing(kv):
    node, root, _ = kv
    assert assert_vault_error(http(node, "GET", "kv1/a"), 403)
    assert_vault_error(http(node, "PUT", "kv1/a", json={"v": "anon"}), 403)
    assert_vault_error(http(node, "POST", "sys/mounts/anon", json={"type": "kv"}), 403)
    assert_vault_error(http(node, "GET", "auth/token/lookup-self"), 403)
    assert kv1_a(node, root) == {"v": "old"}
    assert "anon/" not in mounts(node, root)


def test_bad_token_is_403_and_writes_nothing(kv):
    node, root, _ = kv
    bogus = "hvs.AAAAAAAAAAAAAAAAAAAAAAAA"
    assert assert_vault_error(http(node, "GET", "kv1/a", token=bogus), 403)
    assert_vault_error(http(node, "PUT", "kv1/a", token=bogus, json={"v": "bogus"}), 403)
    assert_vault_error(http(node, "PUT", "secret/data/app", token=bogus, json={"data": {"v": "bogus"}}), 403)
    assert_vault_error(http(node, "PUT", "sys/policies/acl/evil", token=bogus, json={"policy": 'path "*" { capabilities = ["sudo"] }'}), 403)
    assert_vault_error(http(node, "GET", "auth/token/lookup-self", token=bogus), 403)
    assert kv1_a(node, root) == {"v": "old"}
    assert kv2_app(node, root) == ({"v": "old"}, 1)
    assert http(node, "GET", "sys/policies/acl/evil", token=root).status_code == 404


SEALED_CALLS = [
    ("GET", "kv1/a", None),
    ("PUT", "kv1/a", {"v": "while-sealed"}),
    ("DELETE", "kv1/a", None),
    ("LIST", "kv1/", None),
    ("GET", "secret/data/app", None),
    ("PUT", "secret/data/app", {"data": {"v": "while-sealed"}}),
    ("GET", "sys/mounts", None),
    ("POST", "sys/mounts/new", {"type": "kv"}),
    ("GET", "sys/policies/acl/default", None),
    ("PUT", "sys/policies/acl/new", {"policy": 'path "x" { capabilities = ["read"] }'}),
    ("GET", "auth/token/lookup-self", None),
    ("POST", "auth/token/create", {}),
    ("GET", "sys/key-status", None),
    ("PUT", "sys/rotate", None),
    ("POST", "sys/capabilities-self", {"paths": ["kv1/a"]}),
    ("GET", "no-such-mount/x", None),
]


def test_sealed_node_answers_503_on_every_authenticated_path_and_changes_nothing(kv):
    node, root, keys = kv
    client = node.client(root)
    term = client.sys.get_encryption_key_status()["data"]["term"]
    assert http(node, "PUT", "sys/seal", token=root).status_code == 204
    for method, path, body in SEALED_CALLS:
        for token in (root, None, "hvs.bogus"):
            r = http(node, method, path, token=token, json=body)
            errors = assert_vault_error(r, 503)
            assert errors, f"{method} {path}: the 503 must say why"
    for key in keys[:3]:
        client.sys.submit_unseal_key(key)
    assert client.sys.is_sealed() is False
    assert kv1_a(node, root) == {"v": "old"}
    assert kv2_app(node, root) == ({"v": "old"}, 1)
    assert "new/" not in mounts(node, root)
    assert http(node, "GET", "sys/policies/acl/new", token=root).status_code == 404
    assert client.sys.get_encryption_key_status()["data"]["term"] == term


def test_sealed_node_answers_seal_status_health_init_and_leader(kv):
    node, root, _ = kv
    http(node, "PUT", "sys/seal", token=root)
    status = http(node, "GET", "sys/seal-status")
    assert status.status_code == 200
    body = status.json()
    assert (body["sealed"], body["initialized"], body["t"], body["n"], body["progress"]) == (True, True, 3, 5, 0)
    init = http(node, "GET", "sys/init")
    assert init.status_code == 200 and init.json() == {"initialized": True}
    health = http(node, "GET", "sys/health")
    assert health.status_code == 503
    assert health.json()["sealed"] is True and health.json()["initialized"] is True
    assert_vault_error(http(node, "GET", "sys/leader"), 503)


def test_rekey_and_generate_root_status_on_a_sealed_node_are_503(kv):
    node, root, _ = kv
    http(node, "PUT", "sys/seal", token=root)
    # Vault: RekeyThreshold / GenerateRootProgress return ErrSealed while sealed -> 503.
    assert_vault_error(http(node, "GET", "sys/rekey/init"), 503)
    assert_vault_error(http(node, "GET", "sys/generate-root/attempt"), 503)
    assert_vault_error(http(node, "PUT", "sys/generate-root/attempt", json={}), 503)


def test_health_status_codes_and_query_overrides(node):
    def code(query="", method="GET"):
        return http(node, method, f"sys/health{query}").status_code

    # Uninitialised: 501, or uninitcode.
    assert code() == 501
    assert code("?uninitcode=200") == 200
    assert code("?uninitcode=299&sealedcode=298") == 299
    assert code("?standbyok=true") == 501
    body = http(node, "GET", "sys/health").json()
    assert body["initialized"] is False and body["sealed"] is True
    assert http(node, "GET", "sys/init").json() == {"initialized": False}

    client = node.client()
    result = client.sys.initialize(secret_shares=1, secret_threshold=1)
    # Initialised but sealed: 503, or sealedcode; standbyok does not hide a sealed node.
    assert code() == 503
    assert code("?sealedcode=200") == 200
    assert code("?sealedcode=299&uninitcode=298") == 299
    assert code("?standbyok=true") == 503
    assert code("?activecode=200") == 503

    client.sys.submit_unseal_key(result["keys"][0])
    # Active: 200, or activecode; the sealed/uninit overrides no longer apply.
    assert code() == 200
    assert code("?activecode=299") == 299
    assert code("?sealedcode=500&uninitcode=500&standbyok=true") == 200
    body = http(node, "GET", "sys/health").json()
    assert body["initialized"] is True and body["sealed"] is False and body["standby"] is False
    assert_vault_error(http(node, "GET", "sys/health?activecode=abc"), 400)


def test_head_on_health_gives_the_status_without_a_body(node):
    r = http(node, "HEAD", "sys/health")
    assert r.status_code == 501 and r.content == b""
    assert http(node, "HEAD", "sys/health?uninitcode=204").status_code == 204
    client = node.client()
    result = client.sys.initialize(secret_shares=1, secret_threshold=1)
    assert http(node, "HEAD", "sys/health").status_code == 503
    client.sys.submit_unseal_key(result["keys"][0])
    r = http(node, "HEAD", "sys/health")
    assert r.status_code == 200 and r.content == b""
    assert http(node, "HEAD", "sys/health?activecode=299").status_code == 299


def test_list_method_and_get_with_list_true_both_list(kv):
    node, root, _ = kv
    for path in ("kv1/dir/x", "kv1/dir/y", "kv1/dir/sub/z"):
        http(node, "PUT", path, token=root, json={"n": "1"})
    http(node, "PUT", "secret/data/app2", token=root, json={"data": {"n": "1"}})
    cases = {
        "kv1/dir": ["sub/", "x", "y"],
        "kv1/dir/": ["sub/", "x", "y"],
        "kv1/": ["a", "dir/"],
        "secret/metadata/": ["app", "app2"],
        "auth/token/roles": ["r1"],
    }
    assert http(node, "POST", "auth/token/roles/r1", token=root, json={"allowed_policies": ["default"]}).status_code == 204
    for path, keys in cases.items():
        by_list = http(node, "LIST", path, token=root)
        by_get = http(node, "GET", path, token=root, params={"list": "true"})
        for r in (by_list, by_get):
            assert r.status_code == 200, (r.request.method, path, r.text)
            assert sorted(r.json()["data"]["keys"]) == keys, (r.request.method, path)
    # Listing where nothing is is a 404, both ways.
    assert http(node, "LIST", "kv1/nothing/", token=root).status_code == 404
    assert http(node, "GET", "kv1/nothing/", token=root, params={"list": "true"}).status_code == 404
    # A plain GET on a directory is a read, not a list.
    assert http(node, "GET", "kv1/dir", token=root).status_code == 404


def test_policy_listings_include_the_builtin_root_policy(kv):
    node, root, _ = kv
    http(node, "PUT", "sys/policies/acl/mine", token=root, json={"policy": 'path "x" { capabilities = ["read"] }'})
    # Vault's handlePoliciesList appends "root" for ACL policies on sys/policy and sys/policies/acl.
    legacy = http(node, "GET", "sys/policy", token=root).json()
    assert sorted(legacy["policies"]) == ["default", "mine", "root"]
    for method, params in (("LIST", None), ("GET", {"list": "true"})):
        r = http(node, method, "sys/policies/acl", token=root, params=params)
        assert r.status_code == 200, r.text
        assert sorted(r.json()["data"]["keys"]) == ["default", "mine", "root"], method


def test_policy_with_invalid_hcl_is_400_and_is_not_stored(kv):
    node, root, _ = kv
    bad = ['path "kv1/*" { capabilities = ', 'path "kv1/*" { capabilities = ["bogus"] }', "not hcl at all {{{"]
    for text in bad:
        assert_vault_error(http(node, "PUT", "sys/policies/acl/broken", token=root, json={"policy": text}), 400)
        assert_vault_error(http(node, "PUT", "sys/policy/broken2", token=root, json={"policy": text}), 400)
    assert http(node, "GET", "sys/policies/acl/broken", token=root).status_code == 404
    assert http(node, "GET", "sys/policy/broken2", token=root).status_code == 404
    listed = http(node, "LIST", "sys/policies/acl", token=root).json()["data"]["keys"]
    assert "broken" not in listed and "broken2" not in listed

    good = 'path "kv1/*" { capabilities = ["read"] }'
    assert http(node, "PUT", "sys/policies/acl/kept", token=root, json={"policy": good}).status_code == 204
    assert_vault_error(http(node, "PUT", "sys/policies/acl/kept", token=root, json={"policy": bad[0]}), 400)
    assert http(node, "GET", "sys/policies/acl/kept", token=root).json()["data"]["policy"] == good


def test_enabling_a_mount_at_a_used_path_is_400_and_keeps_the_existing_mount(kv):
    node, root, _ = kv
    before = mounts(node, root)["kv1/"]
    for path in ("kv1", "kv1/", "kv1/nested", "secret"):
        r = http(node, "POST", f"sys/mounts/{path}", token=root, json={"type": "kv", "options": {"version": "2"}})
        assert_vault_error(r, 400)
    after = mounts(node, root)
    assert after["kv1/"]["uuid"] == before["uuid"]
    assert (after["kv1/"].get("options") or {}).get("version", "1") == "1"
    assert "kv1/nested/" not in after
    assert kv1_a(node, root) == {"v": "old"}
    assert kv2_app(node, root) == ({"v": "old"}, 1)
    for reserved in ("sys", "auth/x"):
        assert_vault_error(http(node, "POST", f"sys/mounts/{reserved}", token=root, json={"type": "kv"}), 400)


def test_malformed_or_repeated_unseal_keys_do_not_count_toward_progress(kv):
    node, root, keys = kv
    http(node, "PUT", "sys/seal", token=root)
    for body in ({"key": "not hex or base64!"}, {"key": "abcd"}, {"key": 12}, {}):
        assert_vault_error(http(node, "PUT", "sys/unseal", json=body), 400)
    assert http(node, "GET", "sys/seal-status").json()["progress"] == 0
    first = http(node, "PUT", "sys/unseal", json={"key": keys[0]})
    assert first.status_code == 200 and first.json()["progress"] == 1
    # Vault ignores a share it already holds: same progress, no error.
    again = http(node, "PUT", "sys/unseal", json={"key": keys[0]})
    assert again.status_code == 200, again.text
    assert again.json()["progress"] == 1 and again.json()["sealed"] is True
    reset = http(node, "PUT", "sys/unseal", json={"reset": True})
    assert reset.status_code == 200 and reset.json()["progress"] == 0
    for key in keys[2:5]:
        last = http(node, "PUT", "sys/unseal", json={"key": key})
    assert last.json()["sealed"] is False
    assert kv1_a(node, root) == {"v": "old"}
