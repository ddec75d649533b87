"""The userpass and approle auth methods through hvac and the CLI, as Vault 1.16 answers them:
logins need no token, give orphan tokens with the user's or role's policies and TTLs, and bad
credentials are 400s; secret IDs honour their use limits and TTLs; passwords and secret IDs never
reach the data directory in plain; `auth list` shows the methods and disabling one removes its
data and logs its users out."""
import json
import time

import hvac
import pytest

from conftest import assert_vault_error, cli, http, init_and_unseal

READ_KV = 'path "kv1/*" { capabilities = ["read", "list"] }'


@pytest.fixture
def env(unsealed):
    """An unsealed node with kv1/s, a read-kv policy, and userpass and approle enabled."""
    node, root, _ = unsealed
    client = node.client(root)
    client.sys.enable_secrets_engine(backend_type="kv", path="kv1")
    client.secrets.kv.v1.create_or_update_secret(path="s", secret={"v": "secret-value"}, mount_point="kv1")
    client.sys.create_or_update_policy("read-kv", READ_KV)
    client.sys.enable_auth_method("userpass")
    client.sys.enable_auth_method("approle")
    return node, client


def can_read(node, token) -> bool:
    r = http(node, "GET", "kv1/s", token=token)
    assert r.status_code in (200, 403), r.text
    return r.status_code == 200


def lookup(node, token):
    r = http(node, "GET", "auth/token/lookup-self", token=token)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def add_user(client, name="bob", password="pw-bob-1", **fields):
    fields.setdefault("token_policies", ["read-kv"])
    client.auth.userpass.create_or_update_user(username=name, password=password, **fields)


# --- userpass -------------------------------------------------------------------------------


def test_userpass_login_gives_an_orphan_token_with_the_users_policies_ttl_and_metadata(env):
    node, root = env
    add_user(root, token_ttl="1h", token_max_ttl="2h")
    anonymous = node.client()
    auth = anonymous.auth.userpass.login(username="bob", password="pw-bob-1")["auth"]
    assert auth["policies"] == ["default", "read-kv"]
    assert auth["token_policies"] == ["default", "read-kv"]
    assert auth["lease_duration"] == 3600
    assert auth["renewable"] is True
    assert auth["orphan"] is True
    assert auth["metadata"] == {"username": "bob"}
    assert auth["token_type"] == "service"
    assert anonymous.token == auth["client_token"], "hvac uses the token the login answered"

    data = lookup(node, auth["client_token"])
    assert data["path"] == "auth/userpass/login/bob"
    assert data["meta"] == {"username": "bob"}
    assert data["display_name"] == "userpass-bob"
    assert data["orphan"] is True
    assert 3590 <= data["ttl"] <= 3600
    assert can_read(node, auth["client_token"])

    # Renewal goes no further than token_max_ttl (2h) from creation.
    renewed = http(node, "POST", "auth/token/renew-self", token=auth["client_token"], json={"increment": "5h"})
    assert renewed.status_code == 200, renewed.text
    assert 7100 <= renewed.json()["auth"]["lease_duration"] <= 7200


def test_userpass_bad_credentials_are_400_invalid_username_or_password(env):
    node, root = env
    add_user(root)
    for user, password in [("bob", "wrong"), ("nobody", "pw-bob-1")]:
        r = http(node, "POST", f"auth/userpass/login/{user}", json={"password": password})
        assert assert_vault_error(r, 400) == ["invalid username or password"]
    assert assert_vault_error(http(node, "POST", "auth/userpass/login/bob", json={}), 400) == ["missing password"]
    with pytest.raises(hvac.exceptions.InvalidRequest):
        node.client().auth.userpass.login(username="bob", password="wrong")


def test_userpass_manages_users_and_only_authorised_tokens_may(env):
    node, root = env
    add_user(root, name="Alice", password="first-pw", token_ttl="10m")
    user = root.auth.userpass.read_user("alice")["data"]
    assert user["token_policies"] == ["read-kv"]
    assert user["token_ttl"] == 600
    assert "password" not in user and "password_hash" not in user
    assert root.auth.userpass.list_user()["data"]["keys"] == ["alice"]

    root.auth.userpass.update_password_on_user(username="alice", password="second-pw")
    assert http(node, "POST", "auth/userpass/login/alice", json={"password": "first-pw"}).status_code == 400
    token = node.client().auth.userpass.login(username="ALICE", password="second-pw")["auth"]["client_token"]

    # Management paths are not login paths: no token, or a token without a policy for them, is 403.
    assert_vault_error(http(node, "GET", "auth/userpass/users/alice"), 403)
    assert_vault_error(http(node, "GET", "auth/userpass/users/alice", token=token), 403)
    assert_vault_error(http(node, "POST", "auth/userpass/users/mallory", token=token, json={"password": "x"}), 403)

    root.auth.userpass.delete_user("alice")
    assert http(node, "GET", "auth/userpass/users/alice", token=root.token).status_code == 404
    assert http(node, "POST", "auth/userpass/login/alice", json={"password": "second-pw"}).status_code == 400
    assert_vault_error(http(node, "POST", "auth/userpass/users/nopw", token=root.token, json={}), 400)


def test_acl_tells_creating_a_user_from_updating_one(env):
    node, root = env
    add_user(root, name="existing")
    root.sys.create_or_update_policy("updater", 'path "auth/userpass/users/*" { capabilities = ["update"] }')
    root.sys.create_or_update_policy("creator", 'path "auth/userpass/users/*" { capabilities = ["create"] }')
    updater = root.auth.token.create(policies=["updater"])["auth"]["client_token"]
    creator = root.auth.token.create(policies=["creator"])["auth"]["client_token"]
    body = {"password": "new-pw"}
    assert http(node, "POST", "auth/userpass/users/existing", token=updater, json=body).status_code == 204
    assert_vault_error(http(node, "POST", "auth/userpass/users/newcomer", token=updater, json=body), 403)
    assert_vault_error(http(node, "POST", "auth/userpass/users/existing", token=creator, json=body), 403)
    assert http(node, "POST", "auth/userpass/users/newcomer", token=creator, json=body).status_code == 204
    assert node.client().auth.userpass.login(username="newcomer", password="new-pw")["auth"]["client_token"]


def test_token_bound_cidrs_limit_where_a_login_and_its_token_work(env):
    node, root = env
    add_user(root, name="far", token_bound_cidrs=["10.0.0.0/8"])
    assert_vault_error(http(node, "POST", "auth/userpass/login/far", json={"password": "pw-bob-1"}), 403)
    add_user(root, name="near", token_bound_cidrs=["127.0.0.0/8"])
    token = node.client().auth.userpass.login(username="near", password="pw-bob-1")["auth"]["client_token"]
    assert lookup(node, token)["bound_cidrs"] == ["127.0.0.0/8"]
    assert can_read(node, token)


# --- approle --------------------------------------------------------------------------------


def make_role(client, name="web", **fields):
    fields.setdefault("token_policies", ["read-kv"])
    client.auth.approle.create_or_update_approle(role_name=name, **fields)
    role_id = client.auth.approle.read_role_id(role_name=name)["data"]["role_id"]
    return role_id


def approle_login(node, role_id, secret_id):
    return http(node, "POST", "auth/approle/login", json={"role_id": role_id, "secret_id": secret_id})


def test_approle_login_with_role_id_and_secret_id(env):
    node, root = env
    role_id = make_role(root, token_ttl="10m", token_max_ttl="30m")
    role = root.auth.approle.read_role("web")["data"]
    assert role["bind_secret_id"] is True
    assert role["token_policies"] == ["read-kv"]
    assert role["token_ttl"] == 600
    generated = root.auth.approle.generate_secret_id(role_name="web", metadata={"team": "payments"})["data"]
    assert set(generated) >= {"secret_id", "secret_id_accessor", "secret_id_ttl", "secret_id_num_uses"}

    anonymous = node.client()
    auth = anonymous.auth.approle.login(role_id=role_id, secret_id=generated["secret_id"])["auth"]
    assert auth["policies"] == ["default", "read-kv"]
    assert auth["lease_duration"] == 600
    assert auth["metadata"] == {"role_name": "web", "team": "payments"}
    assert auth["orphan"] is True
    data = lookup(node, auth["client_token"])
    assert data["path"] == "auth/approle/login"
    assert data["meta"] == {"role_name": "web", "team": "payments"}
    assert can_read(node, auth["client_token"])

    # The role ID can be set, and the old one stops working.
    root.auth.approle.update_role_id(role_name="web", role_id="custom-role-id")
    assert approle_login(node, role_id, generated["secret_id"]).status_code == 400
    assert approle_login(node, "custom-role-id", generated["secret_id"]).status_code == 200


def test_approle_bad_credentials_are_400(env):
    node, root = env
    role_id = make_role(root)
    secret_id = root.auth.approle.generate_secret_id(role_name="web")["data"]["secret_id"]
    for rid, sid in [(role_id, "not-the-secret-id"), ("not-the-role-id", secret_id)]:
        errors = assert_vault_error(approle_login(node, rid, sid), 400)
        assert "secret id" in errors[0].lower(), errors
    assert assert_vault_error(approle_login(node, role_id, ""), 400) == ["missing secret_id"]
    assert assert_vault_error(http(node, "POST", "auth/approle/login", json={}), 400) == ["missing role_id"]
    with pytest.raises(hvac.exceptions.InvalidRequest):
        node.client().auth.approle.login(role_id=role_id, secret_id="nope")
    assert approle_login(node, role_id, secret_id).status_code == 200, "the real secret ID still works"


def test_secret_id_num_uses_are_honoured(env):
    node, root = env
    role_id = make_role(root, secret_id_num_uses=2)
    secret = root.auth.approle.generate_secret_id(role_name="web")["data"]
    assert secret["secret_id_num_uses"] == 2
    assert approle_login(node, role_id, secret["secret_id"]).status_code == 200
    left = root.auth.approle.read_secret_id(role_name="web", secret_id=secret["secret_id"])["data"]
    assert left["secret_id_num_uses"] == 1
    assert left["secret_id_accessor"] == secret["secret_id_accessor"]
    assert approle_login(node, role_id, secret["secret_id"]).status_code == 200
    assert_vault_error(approle_login(node, role_id, secret["secret_id"]), 400)
    gone = http(node, "LIST", "auth/approle/role/web/secret-id", token=root.token)
    assert gone.status_code == 404, "a used-up secret ID's accessor is gone too"
    # A secret ID may ask for fewer uses than the role allows, never more.
    assert_vault_error(
        http(node, "POST", "auth/approle/role/web/secret-id", token=root.token, json={"num_uses": 3}), 400
    )


def test_secret_id_ttl_expires_the_secret_id(env):
    node, root = env
    role_id = make_role(root, secret_id_ttl="2s")
    secret = root.auth.approle.generate_secret_id(role_name="web")["data"]
    assert secret["secret_id_ttl"] == 2
    issued = time.monotonic()
    first = approle_login(node, role_id, secret["secret_id"])
    if time.monotonic() - issued < 1.5:
        assert first.status_code == 200, first.text
    deadline = time.monotonic() + 15
    while True:
        r = approle_login(node, role_id, secret["secret_id"])
        if r.status_code == 400:
            break
        assert r.status_code == 200, r.text
        assert time.monotonic() < deadline, "the secret ID never expired"
        time.sleep(0.2)
    assert time.monotonic() - issued >= 1.9, "it expired before its TTL"
    looked = http(node, "POST", "auth/approle/role/web/secret-id/lookup", token=root.token,
                  json={"secret_id": secret["secret_id"]})
    assert looked.status_code == 204
    assert_vault_error(
        http(node, "POST", "auth/approle/role/web/secret-id", token=root.token, json={"ttl": "1h"}), 400
    )


def test_secret_ids_list_lookup_and_destroy_by_value_and_accessor(env):
    node, root = env
    role_id = make_role(root)
    a = root.auth.approle.generate_secret_id(role_name="web", cidr_list=["127.0.0.1/32"])["data"]
    b = root.auth.approle.generate_secret_id(role_name="web")["data"]
    keys = root.auth.approle.list_secret_id_accessors(role_name="web")["data"]["keys"]
    assert sorted(keys) == sorted([a["secret_id_accessor"], b["secret_id_accessor"]])
    by_accessor = root.auth.approle.read_secret_id_accessor(
        role_name="web", secret_id_accessor=a["secret_id_accessor"])["data"]
    assert by_accessor["cidr_list"] == ["127.0.0.1/32"]
    assert approle_login(node, role_id, a["secret_id"]).status_code == 200

    root.auth.approle.destroy_secret_id(role_name="web", secret_id=a["secret_id"])
    root.auth.approle.destroy_secret_id_accessor(role_name="web", secret_id_accessor=b["secret_id_accessor"])
    for sid in (a["secret_id"], b["secret_id"]):
        assert_vault_error(approle_login(node, role_id, sid), 400)

    far = root.auth.approle.generate_secret_id(role_name="web", cidr_list=["10.0.0.0/8"])["data"]
    errors = assert_vault_error(approle_login(node, role_id, far["secret_id"]), 400)
    assert "cidr" in errors[0].lower(), errors


def test_roles_without_bind_secret_id_need_a_cidr_and_then_log_in_with_role_id_alone(env):
    node, root = env
    assert_vault_error(
        http(node, "POST", "auth/approle/role/open", token=root.token, json={"bind_secret_id": False}), 400
    )
    role_id = make_role(root, name="open", bind_secret_id=False, secret_id_bound_cidrs=["127.0.0.0/8"])
    auth = node.client().auth.approle.login(role_id=role_id)["auth"]
    assert auth["metadata"] == {"role_name": "open"}
    root.auth.approle.delete_role("open")
    assert_vault_error(http(node, "POST", "auth/approle/login", json={"role_id": role_id}), 400)


# --- storage, mount table, CLI -------------------------------------------------------------


def test_passwords_secret_ids_and_tokens_never_reach_disk_in_plain(node):
    from test_single_node import base64_forms

    root, _ = init_and_unseal(node, shares=1, threshold=1)
    client = node.client(root)
    client.sys.enable_auth_method("userpass")
    client.sys.enable_auth_method("approle")
    password = "plain-password-4c9e1a77d2"
    client.auth.userpass.create_or_update_user(username="bob", password=password)
    user_token = node.client().auth.userpass.login(username="bob", password=password)["auth"]["client_token"]
    client.auth.approle.create_or_update_approle(role_name="web")
    role_id = client.auth.approle.read_role_id(role_name="web")["data"]["role_id"]
    secret_id = client.auth.approle.generate_secret_id(role_name="web")["data"]["secret_id"]
    app_token = node.client().auth.approle.login(role_id=role_id, secret_id=secret_id)["auth"]["client_token"]
    node.stop()  # flush RocksDB memtables to files
    needles = [s.encode() for s in (password, secret_id, role_id, user_token, app_token)]
    needles += [*base64_forms(password.encode()), *base64_forms(secret_id.encode())]
    files = [p for p in node.data_dir.rglob("*") if p.is_file()]
    assert files, "the node wrote nothing to its data directory"
    for path in files:
        blob = path.read_bytes()
        for needle in needles:
            assert needle not in blob, f"{needle!r} found in {path}"


def test_auth_list_shows_methods_and_unknown_types_are_refused(env):
    node, root = env
    methods = root.sys.list_auth_methods()["data"]
    assert methods["userpass/"]["type"] == "userpass"
    assert methods["approle/"]["type"] == "approle"
    assert methods["token/"]["type"] == "token"
    listed = json.loads(cli(node, "auth", "list", "-format=json", token=root.token).stdout)
    assert {k: v["type"] for k, v in listed.items()} == {"token/": "token", "userpass/": "userpass", "approle/": "approle"}
    table = cli(node, "auth", "list", token=root.token).stdout
    assert "userpass/" in table and "approle/" in table
    errors = assert_vault_error(http(node, "POST", "sys/auth/weird", token=root.token, json={"type": "nope"}), 400)
    assert "nope" in errors[0]
    assert "weird/" not in root.sys.list_auth_methods()["data"]


def test_disabling_a_method_removes_its_data_and_revokes_its_tokens(env):
    node, root = env
    root.sys.enable_auth_method("userpass", path="team")
    add_user(root, name="carol", password="pw-carol", mount_point="team")
    token = node.client().auth.userpass.login(username="carol", password="pw-carol", mount_point="team")["auth"]["client_token"]
    add_user(root)  # a user of the other userpass mount, which must survive
    other = node.client().auth.userpass.login(username="bob", password="pw-bob-1")["auth"]["client_token"]
    assert can_read(node, token)

    cli(node, "auth", "disable", "team", token=root.token)
    assert "team/" not in root.sys.list_auth_methods()["data"]
    assert_vault_error(http(node, "GET", "auth/token/lookup-self", token=token), 403)
    assert can_read(node, other)

    root.sys.enable_auth_method("userpass", path="team")
    assert http(node, "GET", "auth/team/users/carol", token=root.token).status_code == 404
    assert http(node, "POST", "auth/team/login/carol", json={"password": "pw-carol"}).status_code == 400


def test_cli_enables_tunes_writes_and_logs_in_with_userpass_and_approle(env, tmp_path):
    node, root = env
    cli(node, "auth", "enable", "-path=people", "userpass", token=root.token)
    cli(node, "auth", "tune", "-default-lease-ttl=20m", "-max-lease-ttl=40m", "people/", token=root.token)
    tune = http(node, "GET", "sys/auth/people/tune", token=root.token).json()["data"]
    assert (tune["default_lease_ttl"], tune["max_lease_ttl"]) == (1200, 2400)

    pw_file = tmp_path / "pw.txt"
    pw_file.write_text("file-password")
    cli(node, "write", "auth/people/users/dave", f"password=@{pw_file}", "token_policies=read-kv", token=root.token)
    cli(node, "write", "auth/people/users/erin", "password=-", "policies=read-kv", token=root.token, stdin="stdin-password")
    read = json.loads(cli(node, "read", "-format=json", "auth/people/users/erin", token=root.token).stdout)
    assert read["data"]["token_policies"] == ["read-kv"]

    out = cli(node, "login", "-method=userpass", "-path=people", "username=dave", "password=file-password")
    assert "Success" in out.stdout and "token_meta_username" in out.stdout
    stored = (node.workdir / ".vault-token").read_text().strip()
    looked = json.loads(cli(node, "token", "lookup", "-format=json").stdout)["data"]
    assert looked["id"] == stored
    assert looked["path"] == "auth/people/login/dave"
    assert looked["meta"] == {"username": "dave"}
    assert looked["creation_ttl"] == 1200, "the mount's tuned default TTL applies"
    erin = json.loads(cli(node, "login", "-format=json", "-no-store", "-method=userpass", "-path=people",
                          "username=erin", "password=stdin-password").stdout)
    assert erin["auth"]["policies"] == ["default", "read-kv"]
    assert (node.workdir / ".vault-token").read_text().strip() == stored, "-no-store keeps the old token"
    bad = cli(node, "login", "-method=userpass", "-path=people", "username=dave", "password=nope", check=False)
    assert bad.returncode == 2 and "invalid username or password" in bad.stderr

    role_id = make_role(root)
    secret_id = root.auth.approle.generate_secret_id(role_name="web")["data"]["secret_id"]
    token = cli(node, "login", "-method=approle", "-token-only", f"role_id={role_id}", f"secret_id={secret_id}").stdout.strip()
    assert lookup(node, token)["meta"] == {"role_name": "web"}
    assert (node.workdir / ".vault-token").read_text().strip() == token


def test_logins_through_a_standby_are_forwarded_with_the_clients_address(tmp_path):
    from conftest import Node
    from test_cluster import health, unseal, wait_until

    n1, n2 = Node(tmp_path, "node1").start(), Node(tmp_path, "node2").start()
    try:
        init = n1.client().sys.initialize(secret_shares=1, secret_threshold=1)
        keys, root = init["keys"], init["root_token"]
        unseal(n1, keys)
        wait_until(lambda: health(n1) == 200, what="node1 active")
        assert n2.client().sys.join_raft_cluster(leader_api_addr=n1.addr)["joined"] is True
        unseal(n2, keys)
        wait_until(lambda: health(n2) == 429, what="node2 standby")

        admin = n2.client(root)  # everything below goes through the standby
        admin.sys.enable_auth_method("approle")
        admin.sys.enable_auth_method("userpass")
        role_id = make_role(admin)
        local = admin.auth.approle.generate_secret_id(role_name="web", cidr_list=["127.0.0.1/32"])["data"]
        auth = n2.client().auth.approle.login(role_id=role_id, secret_id=local["secret_id"])["auth"]
        assert lookup(n1, auth["client_token"])["path"] == "auth/approle/login"
        far = admin.auth.approle.generate_secret_id(role_name="web", cidr_list=["10.0.0.0/8"])["data"]
        assert_vault_error(approle_login(n2, role_id, far["secret_id"]), 400)
        add_user(admin, name="far", token_bound_cidrs=["10.0.0.0/8"])
        assert_vault_error(http(n2, "POST", "auth/userpass/login/far", json={"password": "pw-bob-1"}), 403)
    finally:
        n2.stop()
        n1.stop()
