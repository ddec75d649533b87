"""The cubbyhole engine: mounted by default, private to each token, gone with the token."""
import time

from conftest import assert_vault_error, http


def cubby_read(node, token, path):
    return http(node, "GET", f"cubbyhole/{path}", token=token)


def cubby_write(node, token, path, data):
    return http(node, "POST", f"cubbyhole/{path}", token=token, json=data)


def cubby_list(node, token):
    return http(node, "LIST", "cubbyhole/", token=token)


def new_token(client, **kw):
    return client.auth.token.create(**kw)["auth"]["client_token"]


def test_cubbyhole_is_mounted_by_default_and_cannot_be_removed(unsealed):
    node, root, _ = unsealed
    client = node.client(root)
    mounts = client.sys.list_mounted_secrets_engines()["data"]
    assert mounts["cubbyhole/"]["type"] == "cubbyhole"
    assert_vault_error(http(node, "DELETE", "sys/mounts/cubbyhole", token=root), 400)
    assert_vault_error(http(node, "POST", "sys/mounts/cubbyhole", token=root, json={"type": "kv"}), 400)
    assert_vault_error(
        http(node, "POST", "sys/remount", token=root, json={"from": "cubbyhole", "to": "elsewhere"}), 400)
    assert client.sys.list_mounted_secrets_engines()["data"]["cubbyhole/"]["uuid"] == mounts["cubbyhole/"]["uuid"]


def test_each_token_has_its_own_cubbyhole(unsealed):
    node, root, _ = unsealed
    client = node.client(root)
    # Tokens with only the default policy may use their own cubbyhole.
    a, b = new_token(client, ttl="1h"), new_token(client, ttl="1h")
    assert cubby_write(node, a, "app/secret", {"pw": "alpha"}).status_code == 204
    assert cubby_write(node, a, "top", {"n": "1"}).status_code == 204
    assert cubby_read(node, a, "app/secret").json()["data"] == {"pw": "alpha"}
    assert cubby_list(node, a).json()["data"]["keys"] == ["app/", "top"]

    assert cubby_read(node, b, "app/secret").status_code == 404
    assert cubby_list(node, b).status_code == 404
    assert cubby_write(node, b, "app/secret", {"pw": "bravo"}).status_code == 204
    assert cubby_read(node, b, "app/secret").json()["data"] == {"pw": "bravo"}
    assert cubby_read(node, a, "app/secret").json()["data"] == {"pw": "alpha"}
    # Root has a cubbyhole of its own too, and sees neither.
    assert cubby_read(node, root, "app/secret").status_code == 404

    assert http(node, "DELETE", "cubbyhole/app/secret", token=a).status_code == 204
    assert cubby_read(node, a, "app/secret").status_code == 404
    assert cubby_read(node, b, "app/secret").json()["data"] == {"pw": "bravo"}
    # hvac's generic read/write reach the same place.
    node.client(b).write("cubbyhole/via-hvac", k="v")
    assert node.client(b).read("cubbyhole/via-hvac")["data"] == {"k": "v"}


def test_bad_writes_and_anonymous_requests_are_refused(unsealed):
    node, root, _ = unsealed
    assert_vault_error(cubby_write(node, root, "empty", {}), 400)
    assert cubby_read(node, root, "empty").status_code == 404
    assert_vault_error(cubby_read(node, None, "x"), 403)


def test_a_revoked_token_takes_its_cubbyhole_with_it(unsealed):
    node, root, _ = unsealed
    client = node.client(root)
    # A token id chosen by root can be issued again after revocation: the new token must find
    # an empty cubbyhole, not the old one's entries.
    token_id = "hvs.cubbyhole-revoke-check-0001"
    new_token(client, id=token_id, ttl="1h")
    assert cubby_write(node, token_id, "kept", {"v": "1"}).status_code == 204
    client.auth.token.revoke(token_id)
    assert_vault_error(cubby_read(node, token_id, "kept"), 403)
    new_token(client, id=token_id, ttl="1h")
    assert cubby_read(node, token_id, "kept").status_code == 404
    assert cubby_list(node, token_id).status_code == 404


def test_children_revoked_with_their_parent_lose_their_cubbyholes(unsealed):
    node, root, _ = unsealed
    client = node.client(root)
    client.sys.create_or_update_policy(name="mint", policy='path "auth/token/create" { capabilities = ["update"] }')
    parent = new_token(client, policies=["mint"], ttl="1h")
    child = node.client(parent).auth.token.create(policies=["default"], ttl="1h")["auth"]["client_token"]
    assert cubby_write(node, child, "c", {"v": "child"}).status_code == 204
    client.auth.token.revoke(parent)
    assert_vault_error(cubby_read(node, child, "c"), 403)
    new_token(client, id=child, ttl="1h")  # the same id again, issued by root
    assert cubby_read(node, child, "c").status_code == 404


def test_an_expired_token_loses_its_cubbyhole(unsealed):
    node, root, _ = unsealed
    client = node.client(root)
    token_id = "hvs.cubbyhole-expiry-check-0001"
    new_token(client, id=token_id, ttl="2s")
    assert cubby_write(node, token_id, "short", {"v": "lived"}).status_code == 204
    deadline = time.monotonic() + 30
    while cubby_read(node, token_id, "short").status_code != 403:
        assert time.monotonic() < deadline, "the token did not expire"
        time.sleep(0.2)
    new_token(client, id=token_id, ttl="1h")
    assert cubby_read(node, token_id, "short").status_code == 404
