"""Response wrapping: X-Vault-Wrap-TTL on any request, sys/wrapping/{wrap,unwrap,lookup,rewrap},
single use, expiry, the response-wrapping policy, and the CLI's -wrap-ttl and unwrap."""
import json
import time

import hvac
import pytest

from conftest import assert_vault_error, cli, http

SECRET = {"user": "app", "password": "s3cr3t-wrapped-9d2f"}


@pytest.fixture
def kv(unsealed):
    """An unsealed node with KV v2 at secret/ holding `SECRET` at secret/app."""
    node, root, _ = unsealed
    client = node.client(root)
    client.sys.enable_secrets_engine(backend_type="kv", path="secret", options={"version": "2"})
    client.secrets.kv.v2.create_or_update_secret(path="app", secret=SECRET, mount_point="secret")
    return node, root, client


def wrapped_read(client, path="secret/data/app", ttl="60s"):
    resp = client.read(path, wrap_ttl=ttl)
    assert resp["data"] is None, "a wrapped answer carries no data"
    return resp["wrap_info"]


def lookup(node, token):
    return http(node, "POST", "sys/wrapping/lookup", json={"token": token})


def test_wrapped_kv_read_unwraps_once(kv):
    node, root, client = kv
    info = wrapped_read(client, ttl="5m")
    assert info["token"].startswith("hvs.") and info["accessor"]
    assert info["ttl"] == 300
    assert info["creation_path"] == "secret/data/app"
    assert info["creation_time"]
    unwrapped = client.sys.unwrap(info["token"])
    assert unwrapped["data"]["data"] == SECRET
    assert unwrapped["data"]["metadata"]["version"] == 1
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.sys.unwrap(info["token"])
    assert_vault_error(lookup(node, info["token"]), 400)


def test_the_wrapping_token_unwraps_itself_once(kv):
    node, root, client = kv
    token = wrapped_read(client)["token"]
    wrapper = node.client(token)
    assert wrapper.sys.unwrap()["data"]["data"] == SECRET
    r = http(node, "POST", "sys/wrapping/unwrap", token=token)
    assert r.status_code in (400, 403), r.text
    assert r.json()["errors"]


def test_lookup_needs_no_token_and_does_not_use_the_wrapping_token(kv):
    node, root, client = kv
    info = wrapped_read(client, ttl="120")
    r = lookup(node, info["token"])
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["creation_path"] == "secret/data/app"
    assert data["creation_ttl"] == 120
    assert data["creation_time"] == info["creation_time"]
    assert lookup(node, info["token"]).status_code == 200, "lookup can be repeated"
    # As an admin sees it: a single-use orphan token with the response-wrapping policy.
    seen = client.auth.token.lookup(info["token"])["data"]
    assert seen["policies"] == ["response-wrapping"]
    assert seen["num_uses"] == 1
    assert 0 < seen["ttl"] <= 120
    out = cli(node, "token", "lookup", "-format=json", info["token"], token=root)
    assert json.loads(out.stdout)["data"]["policies"] == ["response-wrapping"]
    assert client.sys.unwrap(info["token"])["data"]["data"] == SECRET
    assert_vault_error(lookup(node, "hvs.not-a-wrapping-token"), 400)
    assert_vault_error(lookup(node, root), 400)


def test_rewrap_moves_the_answer_to_a_new_token(kv):
    node, root, client = kv
    old = wrapped_read(client, ttl="90s")
    r = http(node, "POST", "sys/wrapping/rewrap", token=root, json={"token": old["token"]})
    assert r.status_code == 200, r.text
    new = r.json()["wrap_info"]
    assert new["token"] != old["token"]
    assert new["ttl"] == 90 and new["creation_path"] == "secret/data/app"
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.sys.unwrap(old["token"])
    # Rewrapping with the wrapping token itself as the client token works too.
    r = http(node, "POST", "sys/wrapping/rewrap", token=new["token"])
    assert r.status_code == 200, r.text
    newest = r.json()["wrap_info"]["token"]
    assert client.sys.unwrap(newest)["data"]["data"] == SECRET


def test_wrap_arbitrary_data(kv):
    node, root, client = kv
    payload = {"api_key": "k-123", "nested": {"a": [1, 2]}}
    info = client.sys.wrap(payload=payload, ttl="60s")["wrap_info"]
    assert info["creation_path"] == "sys/wrapping/wrap"
    assert client.sys.unwrap(info["token"])["data"] == payload
    # Without a wrapping TTL there is nothing to wrap into.
    assert_vault_error(http(node, "POST", "sys/wrapping/wrap", token=root, json=payload), 400)
    # Any token with the default policy may wrap.
    user = client.auth.token.create(ttl="1h")["auth"]["client_token"]
    info = node.client(user).sys.wrap(payload={"x": "y"}, ttl=30)["wrap_info"]
    assert node.client(user).sys.unwrap(info["token"])["data"] == {"x": "y"}


def test_an_expired_wrapping_token_fails(kv):
    node, root, client = kv
    info = wrapped_read(client, ttl="2s")
    deadline = time.monotonic() + 30
    while lookup(node, info["token"]).status_code == 200:
        assert time.monotonic() < deadline, "the wrapping token did not expire"
        time.sleep(0.2)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.sys.unwrap(info["token"])


def test_the_wrapping_token_reaches_nothing_but_the_wrapping_endpoints(kv):
    node, root, client = kv
    token = wrapped_read(client)["token"]
    wrapper = node.client(token)
    with pytest.raises(hvac.exceptions.Forbidden):
        wrapper.secrets.kv.v2.read_secret_version(path="app", mount_point="secret")
    with pytest.raises(hvac.exceptions.Forbidden):
        wrapper.auth.token.lookup_self()
    # The policy is built in: nobody can widen it.
    assert_vault_error(http(node, "PUT", "sys/policies/acl/response-wrapping", token=root,
                            json={"policy": 'path "*" { capabilities = ["read"] }'}), 400)
    # The refused requests did not use the token up.
    assert client.sys.unwrap(token)["data"]["data"] == SECRET


def test_wrapped_token_creation_reports_the_wrapped_accessor(kv):
    node, root, client = kv
    info = client.auth.token.create(policies=["default"], ttl="1h", wrap_ttl="60s")["wrap_info"]
    unwrapped = client.sys.unwrap(info["token"])
    assert info["wrapped_accessor"] == unwrapped["auth"]["accessor"]
    made = unwrapped["auth"]["client_token"]
    assert node.client(made).auth.token.lookup_self()["data"]["accessor"] == info["wrapped_accessor"]


def test_policies_bound_the_wrapping_ttl(kv):
    node, root, client = kv
    client.sys.create_or_update_policy(name="wrapped-only", policy='''
path "secret/data/app" {
    capabilities = ["read"]
    min_wrapping_ttl = "10s"
    max_wrapping_ttl = "90s"
}''')
    token = client.auth.token.create(policies=["wrapped-only"], ttl="1h")["auth"]["client_token"]
    reader = node.client(token)
    with pytest.raises(hvac.exceptions.Forbidden):
        reader.secrets.kv.v2.read_secret_version(path="app", mount_point="secret")
    with pytest.raises(hvac.exceptions.Forbidden):
        reader.read("secret/data/app", wrap_ttl="5m")
    info = wrapped_read(reader, ttl="60s")
    assert client.sys.unwrap(info["token"])["data"]["data"] == SECRET


def test_bad_wrap_ttl_header_is_a_400(kv):
    node, root, _ = kv
    for value in ("soon", "-5s"):
        r = http(node, "GET", "secret/data/app", token=root, headers={"X-Vault-Wrap-TTL": value})
        assert_vault_error(r, 400)


def test_cli_wrap_ttl_and_unwrap(kv):
    node, root, client = kv
    table = cli(node, "read", "-wrap-ttl=5m", "secret/data/app", token=root).stdout
    assert "wrapping_token:" in table and "wrapping_token_creation_path:" in table
    assert SECRET["password"] not in table
    out = cli(node, "read", "-format=json", "-wrap-ttl=5m", "secret/data/app", token=root).stdout
    token = json.loads(out)["wrap_info"]["token"]
    unwrapped = json.loads(cli(node, "unwrap", "-format=json", token, token=root).stdout)
    assert unwrapped["data"]["data"] == SECRET
    assert cli(node, "unwrap", token, token=root, check=False).returncode != 0, "only once"

    out = cli(node, "write", "-format=json", "-wrap-ttl=60s", "sys/wrapping/wrap", "foo=bar", token=root).stdout
    token = json.loads(out)["wrap_info"]["token"]
    # No TOKEN argument: the wrapping token is the client's token.
    unwrapped = json.loads(cli(node, "unwrap", "-format=json", token=token).stdout)
    assert unwrapped["data"] == {"foo": "bar"}
