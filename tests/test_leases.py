"""`sys/leases/*` through hvac: a token's lease is looked up, listed, renewed and revoked by its lease
id; revoking a lease revokes the token and its children; revoke-prefix needs sudo. Secret leases,
from a PKI role with `generate_lease`: looked up, listed, revoked (the serial goes into the CRL),
expired by the active node (also after a failover), and revoked with the token that asked."""
import time

import hvac
import pytest
from cryptography import x509

from conftest import Node, assert_vault_error, cli, http, init_and_unseal
from test_cluster import cluster, form, health, wait_until  # noqa: F401 (fixture)


def lease_of(token_auth):
    return f"auth/token/create/{token_auth['accessor']}"


def alive(node, token):
    return http(node, "GET", "auth/token/lookup-self", token=token).status_code == 200


def test_token_leases_lookup_list_renew_revoke(unsealed):
    node, root, _keys = unsealed
    client = node.client(root)
    auth = client.auth.token.create(ttl="1h", policies=["default"])["auth"]
    token, lease_id = auth["client_token"], lease_of(auth)

    listed = client.sys.list_leases(prefix="auth/token/create")["data"]["keys"]
    assert auth["accessor"] in listed
    top = client.sys.list_leases(prefix="auth/")["data"]["keys"]
    assert "token/" in top

    info = client.sys.read_lease(lease_id=lease_id)["data"]
    assert info["id"] == lease_id
    assert info["renewable"] is True
    assert 3500 < info["ttl"] <= 3600
    assert token not in str(info), "a lease never shows the token"

    renewed = client.sys.renew_lease(lease_id=lease_id, increment=7200)
    assert renewed["lease_id"] == lease_id
    assert renewed["lease_duration"] == 7200
    assert client.sys.read_lease(lease_id=lease_id)["data"]["ttl"] > 7000

    # Unknown or malformed lease ids: Vault's 400, nothing changes.
    assert_vault_error(http(node, "PUT", "sys/leases/lookup", token=root, json={"lease_id": "auth/token/create/nope"}), 400)
    assert_vault_error(http(node, "PUT", "sys/leases/renew", token=root, json={}), 400)
    assert alive(node, token)

    client.sys.revoke_lease(lease_id=lease_id)
    assert not alive(node, token)
    assert_vault_error(http(node, "PUT", "sys/leases/lookup", token=root, json={"lease_id": lease_id}), 400)


def test_revoking_a_lease_revokes_children_and_prefix_needs_sudo(unsealed):
    node, root, _keys = unsealed
    client = node.client(root)
    client.sys.create_or_update_policy(
        name="maker", policy='path "auth/token/create" { capabilities = ["update"] }\n'
                             'path "sys/leases/*" { capabilities = ["update"] }')
    parent = client.auth.token.create(ttl="1h", policies=["maker"])["auth"]
    child = node.client(parent["client_token"]).auth.token.create(ttl="30m", policies=["default"])["auth"]
    other = client.auth.token.create(ttl="1h")["auth"]
    assert alive(node, child["client_token"])

    # Without sudo: revoke-prefix refused, everything still alive.
    assert_vault_error(http(node, "PUT", "sys/leases/revoke-prefix/auth/token/create",
                            token=parent["client_token"]), 403)
    assert alive(node, other["client_token"])

    client.sys.revoke_lease(lease_id=lease_of(parent))
    assert not alive(node, parent["client_token"])
    assert not alive(node, child["client_token"]), "a child outlived its parent's lease"
    assert alive(node, other["client_token"])

    client.sys.revoke_prefix(prefix="auth/token/create")
    assert not alive(node, other["client_token"])
    assert alive(node, root), "the root token's lease is not under auth/token/create"
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.sys.list_leases(prefix="auth/token/create")

    tidy = http(node, "PUT", "sys/leases/tidy", token=root)
    assert tidy.status_code == 202, tidy.text


def leased_pki(client, mount="pki", max_ttl="87600h"):
    """pki mounted at `mount` with a root CA and a role `web` that leases what it issues."""
    client.sys.enable_secrets_engine(backend_type="pki", path=mount)
    client.sys.tune_mount_configuration(path=mount, max_lease_ttl="87600h")
    client.secrets.pki.generate_root(type="internal", common_name="Lease Root", mount_point=mount,
                                     extra_params={"ttl": "87600h"})
    client.sys.tune_mount_configuration(path=mount, max_lease_ttl=max_ttl)
    client.secrets.pki.create_or_update_role(
        "web", {"allowed_domains": "example.com", "allow_subdomains": True, "generate_lease": True},
        mount_point=mount)


def issue(client, mount="pki", ttl="1h"):
    return client.secrets.pki.generate_certificate("web", "a.example.com", mount_point=mount,
                                                   extra_params={"ttl": ttl})


def in_crl(client, serial, mount="pki"):
    crl = x509.load_pem_x509_crl(client.secrets.pki.read_crl(mount_point=mount).encode())
    return crl.get_revoked_certificate_by_serial_number(serial) is not None


def serial_of(issued):
    return x509.load_pem_x509_certificate(issued["data"]["certificate"].encode()).serial_number


def test_pki_generate_lease_gives_a_lease_hvac_reads_lists_and_revokes(unsealed):
    node, root, _keys = unsealed
    client = node.client(root)
    leased_pki(client)
    assert client.secrets.pki.read_role("web")["data"]["generate_lease"] is True
    issued = issue(client)
    lease_id = issued["lease_id"]
    assert lease_id.startswith("pki/issue/web/"), lease_id
    assert 3500 < issued["lease_duration"] <= 3600
    assert issued["renewable"] is False

    info = client.sys.read_lease(lease_id=lease_id)["data"]
    assert set(info) == {"id", "issue_time", "expire_time", "last_renewal", "renewable", "ttl"}
    assert info["id"] == lease_id and info["renewable"] is False and info["last_renewal"] is None
    assert 3500 < info["ttl"] <= 3600
    assert "serial" not in str(info), "the engine's internal data is not shown"
    assert lease_id.rsplit("/", 1)[1] in client.sys.list_leases(prefix="pki/issue/web")["data"]["keys"]
    assert "issue/" in client.sys.list_leases(prefix="pki")["data"]["keys"]
    # Token leases are still listed beside them.
    assert "auth/" in client.sys.list_leases(prefix="")["data"]["keys"]

    errors = assert_vault_error(http(node, "PUT", "sys/leases/renew", token=root, json={"lease_id": lease_id}), 400)
    assert errors == ["lease is not renewable"]

    serial = serial_of(issued)
    assert not in_crl(client, serial)
    client.sys.revoke_lease(lease_id=lease_id)
    assert in_crl(client, serial), "revoking the lease revokes the certificate"
    assert_vault_error(http(node, "PUT", "sys/leases/lookup", token=root, json={"lease_id": lease_id}), 400)

    # The CLI, as Vault's: lookup, revoke (legacy path aside), then nothing left.
    other = issue(client)["lease_id"]
    looked = cli(node, "lease", "lookup", "-format=json", other, token=root).stdout
    assert other in looked
    out = cli(node, "lease", "revoke", other, token=root).stdout
    assert "All revocation operations queued successfully!" in out or "Success" in out
    wait_until(lambda: http(node, "PUT", "sys/leases/lookup", token=root, json={"lease_id": other}).status_code == 400,
               timeout=20, what="the CLI's revocation")
    third = issue(client)
    cli(node, "lease", "revoke", "-prefix", "pki/issue/web", token=root)
    assert in_crl(client, serial_of(third))
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.sys.list_leases(prefix="pki/issue/web")


def test_short_lease_expires_by_itself_and_a_revoked_token_takes_its_leases(unsealed):
    node, root, _keys = unsealed
    client = node.client(root)
    leased_pki(client, max_ttl="3s")
    issued = issue(client, ttl="1h")
    assert issued["lease_duration"] <= 3, "capped by the mount's max_lease_ttl"
    serial = serial_of(issued)
    wait_until(lambda: in_crl(client, serial), timeout=30, what="the expired lease's certificate in the CRL")
    assert_vault_error(http(node, "PUT", "sys/leases/lookup", token=root,
                            json={"lease_id": issued["lease_id"]}), 400)

    client.sys.tune_mount_configuration(path="pki", max_lease_ttl="1h")
    user = client.auth.token.create(policies=["root"], ttl="1h")["auth"]
    mine = issue(node.client(user["client_token"]))
    client.auth.token.revoke(user["client_token"])
    wait_until(lambda: in_crl(client, serial_of(mine)), timeout=30, what="the token's lease revoked with it")
    assert_vault_error(http(node, "PUT", "sys/leases/lookup", token=root,
                            json={"lease_id": mine["lease_id"]}), 400)


def test_lease_issued_before_a_failover_expires_on_the_new_active_node_once(cluster):
    n1, n2, n3 = cluster
    _keys, root = form(cluster)
    client = n1.client(root)
    leased_pki(client, max_ttl="8s")
    issued = issue(client)
    lease_id, serial = issued["lease_id"], serial_of(issued)
    issued_at = time.monotonic()
    n1.kill()
    survivors = [n2, n3]
    active = wait_until(lambda: next((n for n in survivors if health(n) == 200), None), what="a new active node")
    # Nobody sends the new active node a request: it takes over and expires the lease by itself.
    def revoked():
        return "lease expired and was revoked" in active.log.read_text() and lease_id in active.log.read_text()
    wait_until(revoked, timeout=40, what="the new active node expiring the lease")
    assert time.monotonic() - issued_at < 8 + 25, "the lease outlived its TTL by far"
    assert in_crl(active.client(root), serial)
    assert_vault_error(http(active, "PUT", "sys/leases/lookup", token=root, json={"lease_id": lease_id}), 400)
    revocations = sum(
        line.count(lease_id)
        for n in cluster
        for line in n.log.read_text().splitlines()
        if "lease expired and was revoked" in line
    )
    assert revocations == 1, f"revoked {revocations} times"
