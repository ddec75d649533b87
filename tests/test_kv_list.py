"""LIST on KV paths written without the trailing slash, as clients send them (`vault kv list
secret/foo`, hvac's list_secrets): Vault treats a list path as a folder prefix, appending the
`/` before the ACL check, so a policy on `secret/foo/` grants both forms."""
import pytest

from conftest import http


@pytest.fixture
def kv(unsealed):
    node, root, _ = unsealed
    client = node.client(root)
    client.sys.enable_secrets_engine("kv", path="kv1", options={"version": "1"})
    client.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
    http(node, "PUT", "kv1/test-list/a", token=root, json={"n": "1"})
    http(node, "PUT", "kv1/test-list/sub/b", token=root, json={"n": "1"})
    http(node, "PUT", "secret/data/foo/a", token=root, json={"data": {"n": "1"}})
    http(node, "PUT", "secret/data/foo/sub/b", token=root, json={"data": {"n": "1"}})
    client.sys.create_or_update_policy(
        "lister", 'path "kv1/test-list/" { capabilities = ["list"] }\n'
                  'path "secret/metadata/foo/" { capabilities = ["list"] }')
    token = client.auth.token.create(policies=["lister"])["auth"]["client_token"]
    return node, token


def test_list_without_a_trailing_slash_lists_the_folder(kv):
    node, token = kv
    for path in ("kv1/test-list", "secret/metadata/foo"):
        for form in (path, path + "/"):
            for method, params in (("LIST", None), ("GET", {"list": "true"})):
                r = http(node, method, form, token=token, params=params)
                assert r.status_code == 200, (method, form, r.text)
                assert r.json()["data"]["keys"] == ["a", "sub/"], (method, form)
    client = node.client(token)
    assert client.secrets.kv.v1.list_secrets(path="test-list", mount_point="kv1")["data"]["keys"] == ["a", "sub/"]
    assert client.secrets.kv.v2.list_secrets(path="foo", mount_point="secret")["data"]["keys"] == ["a", "sub/"]
    # The policy names the folder only: the folder's parent stays out of reach.
    assert http(node, "LIST", "kv1", token=token).status_code == 403
