"""The database secrets engine against a real PostgreSQL (Debian's package, started here on a
temp dir and a loopback port, SCRAM passwords so logins are really checked): connections with
verify_connection, dynamic roles and their credentials (checked with `psql`), static roles and
their rotation (by request and on schedule), root rotation, and the root and generated passwords
never in clear in a read, the audit log or the server log. Driven through hvac's
`client.secrets.database.*`."""
import glob
import os
import pwd
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import hvac
import pytest

from conftest import Node, assert_vault_error, free_port, health, http, init_and_unseal, wait_until
from test_cluster import cluster, form  # noqa: F401 (fixture)

SUPERUSER_PW = "pg-super-" + secrets.token_hex(8)
ROOT_PW = "coffer-root-" + secrets.token_hex(8)
ROTATOR_PW = "rotator-" + secrets.token_hex(8)
STATIC_PW = "static-initial-" + secrets.token_hex(8)
CREATE = ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"]


def pg_bin(name: str) -> str:
    """A PostgreSQL server binary from Debian's versioned directory (the newest installed)."""
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))
    assert dirs, "PostgreSQL is not installed (scripts/setup.sh installs Debian's postgresql)"
    return os.path.join(dirs[-1], name)


def as_postgres(args):
    """PostgreSQL refuses to run as root: drop to Debian's `postgres` user when we are root."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class Postgres:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="coffer-pg-"))
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.data = self.dir / "data"
        self.port = free_port()
        pwfile = self.dir / "pw"
        pwfile.write_text(SUPERUSER_PW + "\n")
        if os.geteuid() == 0:
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        subprocess.run(
            as_postgres([pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "scram-sha-256",
                         f"--pwfile={pwfile}"]),
            check=True, capture_output=True,
        )
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        subprocess.run(
            as_postgres([pg_bin("pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start"]),
            check=True, capture_output=True,
        )

    def stop(self):
        subprocess.run(as_postgres([pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def psql(self, user: str, password: str, sql: str = "select 1") -> subprocess.CompletedProcess:
        """`psql` as `user` with `password` over TCP (so SCRAM checks the password)."""
        env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="10")
        return subprocess.run(
            ["psql", "-w", "-h", "127.0.0.1", "-p", str(self.port), "-U", user, "-d", "postgres", "-tAc", sql],
            env=env, capture_output=True, text=True, timeout=30,
        )

    def admin(self, sql: str) -> str:
        result = self.psql("postgres", SUPERUSER_PW, sql)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def has_role(self, user: str) -> bool:
        """Whether `user` exists in PostgreSQL (pg_roles), whatever its password or expiry."""
        return self.admin(f"SELECT count(*) FROM pg_roles WHERE rolname = '{user}'") == "1"

    def valid_until(self, user: str) -> float:
        """`user`'s VALID UNTIL as seconds since the epoch."""
        return float(self.admin(f"SELECT extract(epoch FROM rolvaliduntil) FROM pg_roles WHERE rolname = '{user}'"))

    def url(self) -> str:
        return f"postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{self.port}/postgres?sslmode=disable"


@pytest.fixture(scope="module")
def pg():
    """PostgreSQL with Coffer's root user, a user for root rotation and a static user."""
    pg = Postgres()
    pg.admin(f"CREATE ROLE vaultroot WITH LOGIN SUPERUSER PASSWORD '{ROOT_PW}'")
    pg.admin(f"CREATE ROLE rotator WITH LOGIN SUPERUSER PASSWORD '{ROTATOR_PW}'")
    pg.admin(f"CREATE ROLE static_app WITH LOGIN PASSWORD '{STATIC_PW}'")
    yield pg
    pg.stop()


@pytest.fixture(scope="module")
def env(pg, tmp_path_factory):
    """The PostgreSQL of `pg` and one unsealed node with `database/` mounted and a file audit
    device: (pg, node, root token, client, audit log path)."""
    workdir = tmp_path_factory.mktemp("database")
    node = Node(workdir).start()
    root, _ = init_and_unseal(node)
    client = node.client(root)
    audit = workdir / "audit.log"
    client.sys.enable_audit_device(device_type="file", path="file", options={"file_path": str(audit)})
    client.sys.enable_secrets_engine(backend_type="database", path="database")
    yield pg, node, root, client, audit
    node.stop()


def configure(client, pg, name="pg", user="vaultroot", password=ROOT_PW, **kw):
    return client.secrets.database.configure(
        name=name, plugin_name="postgresql-database-plugin", allowed_roles=kw.pop("allowed_roles", ["*"]),
        connection_url=pg.url(), username=user, password=password, **kw,
    )


def test_config_verifies_the_connection_and_never_shows_the_password(env):
    pg, node, root, client, _ = env
    bad = http(node, "POST", "database/config/broken", token=root, json={
        "plugin_name": "postgresql-database-plugin", "connection_url": pg.url(),
        "username": "vaultroot", "password": "wrong-password", "allowed_roles": "*"})
    assert_vault_error(bad, 400)
    assert "error verifying connection" in bad.json()["errors"][0]
    assert http(node, "GET", "database/config/broken", token=root).status_code == 404, "nothing stored"
    # Not verified when asked not to: stored although the password is wrong.
    unverified = http(node, "POST", "database/config/later", token=root, json={
        "plugin_name": "postgresql-database-plugin", "connection_url": pg.url(),
        "username": "vaultroot", "password": "wrong-password", "verify_connection": False})
    assert unverified.status_code == 204, unverified.text
    client.secrets.database.delete_connection(name="later")

    configure(client, pg)
    read = client.secrets.database.read_connection(name="pg")["data"]
    assert read["plugin_name"] == "postgresql-database-plugin"
    assert read["allowed_roles"] == ["*"]
    assert read["connection_details"]["connection_url"] == pg.url()
    assert read["connection_details"]["username"] == "vaultroot"
    assert "password" not in read["connection_details"]
    assert ROOT_PW not in str(read)
    assert "pg" in client.secrets.database.list_connections()["data"]["keys"]
    assert client.secrets.database.reset_connection(name="pg").status_code == 204
    # Mount type and plugin catalog.
    assert client.sys.list_mounted_secrets_engines()["data"]["database/"]["type"] == "database"
    catalog = http(node, "GET", "sys/plugins/catalog/database", token=root).json()["data"]
    assert "postgresql-database-plugin" in catalog["keys"]


def test_dynamic_credentials_are_distinct_working_logins(env):
    pg, node, root, client, _ = env
    configure(client, pg)
    client.secrets.database.create_role(
        name="app", db_name="pg", creation_statements=CREATE, default_ttl="1h", max_ttl="24h")
    role = client.secrets.database.read_role(name="app")["data"]
    assert role["db_name"] == "pg" and role["creation_statements"] == CREATE
    assert role["default_ttl"] == 3600 and role["max_ttl"] == 86400
    assert "app" in client.secrets.database.list_roles()["data"]["keys"]

    first = client.secrets.database.generate_credentials(name="app")
    second = client.secrets.database.generate_credentials(name="app")
    for reply in (first, second):
        assert set(reply) >= {"lease_id", "lease_duration", "renewable", "data"}
        assert reply["lease_duration"] == 3600 and reply["renewable"] is True
        user = reply["data"]["username"]
        assert re.fullmatch(r"v-root-app-[A-Za-z0-9]{20}-\d{10}", user), user
        password = reply["data"]["password"]
        assert len(password) == 20 and re.fullmatch(r"[A-Za-z0-9-]+", password)
        result = pg.psql(user, password)
        assert result.returncode == 0 and result.stdout.strip() == "1", result.stderr
        assert pg.psql(user, "not-" + password).returncode != 0, "the password is checked"
        valid_until = pg.admin(f"SELECT rolvaliduntil IS NOT NULL FROM pg_roles WHERE rolname = '{user}'")
        assert valid_until == "t", "{{expiration}} was filled in"
    assert first["data"]["username"] != second["data"]["username"]
    assert first["data"]["password"] != second["data"]["password"]

    # A role the connection does not allow is refused; an unknown role is a 400.
    configure(client, pg, name="narrow", allowed_roles=["other"])
    client.secrets.database.create_role(name="blocked", db_name="narrow", creation_statements=CREATE)
    assert_vault_error(http(node, "GET", "database/creds/blocked", token=root), 400)
    assert_vault_error(http(node, "GET", "database/creds/nope", token=root), 400)
    client.secrets.database.delete_role(name="blocked")
    client.secrets.database.delete_connection(name="narrow")
    assert http(node, "GET", "database/roles/blocked", token=root).status_code == 404


def test_static_role_rotates_and_the_old_password_stops_working(env):
    pg, node, root, client, _ = env
    configure(client, pg)
    client.secrets.database.create_static_role(
        name="static", db_name="pg", username="static_app",
        rotation_statements=["ALTER ROLE \"{{name}}\" WITH PASSWORD '{{password}}';"], rotation_period=86400)
    assert pg.psql("static_app", STATIC_PW).returncode != 0, "written roles rotate at once"
    creds = client.secrets.database.get_static_credentials(name="static")["data"]
    assert creds["username"] == "static_app" and creds["rotation_period"] == 86400
    assert 0 < creds["ttl"] <= 86400 and creds["last_vault_rotation"]
    assert pg.psql("static_app", creds["password"]).returncode == 0
    read = client.secrets.database.read_static_role(name="static")["data"]
    assert read["username"] == "static_app" and "password" not in read
    assert "static" in client.secrets.database.list_static_roles()["data"]["keys"]

    client.secrets.database.rotate_static_role_credentials(name="static")
    rotated = client.secrets.database.get_static_credentials(name="static")["data"]
    assert rotated["password"] != creds["password"]
    assert pg.psql("static_app", rotated["password"]).returncode == 0
    assert pg.psql("static_app", creds["password"]).returncode != 0, "the old password stops working"

    # On schedule: a 5 s period rotates without a request, on the active node's timer.
    client.secrets.database.create_static_role(
        name="static", db_name="pg", username="static_app",
        rotation_statements=["ALTER ROLE \"{{name}}\" WITH PASSWORD '{{password}}';"], rotation_period=5)
    before = client.secrets.database.get_static_credentials(name="static")["data"]["password"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = client.secrets.database.get_static_credentials(name="static")["data"]["password"]
        if now != before:
            break
        time.sleep(0.5)
    assert now != before, "the static role did not rotate on schedule"
    assert pg.psql("static_app", now).returncode == 0
    client.secrets.database.delete_static_role(name="static")
    assert http(node, "GET", "database/static-roles/static", token=root).status_code == 404


def test_rotate_root_makes_the_old_root_password_fail(env):
    pg, node, root, client, _ = env
    configure(client, pg, name="rot", user="rotator", password=ROTATOR_PW)
    assert pg.psql("rotator", ROTATOR_PW).returncode == 0
    assert client.secrets.database.rotate_root_credentials(name="rot").status_code == 204
    assert pg.psql("rotator", ROTATOR_PW).returncode != 0, "the old root password stops working"
    # The engine holds the new one: it still makes users through this connection.
    client.secrets.database.create_role(name="after-rotate", db_name="rot", creation_statements=CREATE)
    made = client.secrets.database.generate_credentials(name="after-rotate")["data"]
    assert pg.psql(made["username"], made["password"]).returncode == 0
    read = client.secrets.database.read_connection(name="rot")["data"]
    assert "password" not in read["connection_details"]


def test_passwords_never_appear_in_clear_in_audit_or_log(env):
    pg, node, root, client, audit = env
    configure(client, pg)
    client.secrets.database.create_role(name="audited", db_name="pg", creation_statements=CREATE)
    made = client.secrets.database.generate_credentials(name="audited")["data"]
    text = audit.read_text()
    assert "database/creds/audited" in text
    assert "hmac-sha256:" in text
    for secret in (ROOT_PW, ROTATOR_PW, made["password"]):
        assert secret not in text, "a password is in the audit log in clear"
        assert secret not in node.log.read_text(), "a password is in the server log"


def lookup_status(node, root, lease_id):
    return http(node, "PUT", "sys/leases/lookup", token=root, json={"lease_id": lease_id}).status_code


def test_revoking_one_lease_drops_exactly_that_role(env):
    pg, node, root, client, _ = env
    configure(client, pg)
    client.secrets.database.create_role(
        name="pair", db_name="pg", creation_statements=CREATE, default_ttl="1h", max_ttl="24h")
    first = client.secrets.database.generate_credentials(name="pair")
    second = client.secrets.database.generate_credentials(name="pair")
    gone, kept = first["data"], second["data"]
    assert pg.has_role(gone["username"]) and pg.has_role(kept["username"])

    client.sys.revoke_lease(lease_id=first["lease_id"])
    assert not pg.has_role(gone["username"]), "the revoked lease's role is dropped"
    assert pg.psql(gone["username"], gone["password"]).returncode != 0
    assert pg.has_role(kept["username"]), "the other lease's role is untouched"
    result = pg.psql(kept["username"], kept["password"])
    assert result.returncode == 0 and result.stdout.strip() == "1", result.stderr
    assert lookup_status(node, root, first["lease_id"]) == 400
    assert lookup_status(node, root, second["lease_id"]) == 200
    keys = client.sys.list_leases(prefix="database/creds/pair")["data"]["keys"]
    assert keys == [second["lease_id"].rsplit("/", 1)[1]]
    # Revoking it again is a no-op, as Vault's (204: nothing left to revoke), and drops nothing else.
    again = http(node, "PUT", "sys/leases/revoke", token=root, json={"lease_id": first["lease_id"]})
    assert again.status_code == 204, again.text
    assert pg.has_role(kept["username"])
    client.sys.revoke_lease(lease_id=second["lease_id"])
    assert not pg.has_role(kept["username"])


def test_hvac_reads_renews_lists_and_revokes_a_database_lease(env):
    pg, node, root, client, _ = env
    configure(client, pg)
    client.secrets.database.create_role(
        name="renewed", db_name="pg", creation_statements=CREATE, default_ttl="10m", max_ttl="1h")
    made = client.secrets.database.generate_credentials(name="renewed")
    lease_id, user = made["lease_id"], made["data"]["username"]
    assert lease_id.startswith("database/creds/renewed/"), lease_id
    assert made["lease_duration"] == 600 and made["renewable"] is True

    info = client.sys.read_lease(lease_id=lease_id)["data"]
    assert set(info) == {"id", "issue_time", "expire_time", "last_renewal", "renewable", "ttl"}
    assert info["id"] == lease_id and info["renewable"] is True and info["last_renewal"] is None
    assert 590 < info["ttl"] <= 600
    assert user not in str(info) and made["data"]["password"] not in str(info), "internal data is not shown"
    assert lease_id.rsplit("/", 1)[1] in client.sys.list_leases(prefix="database/creds/renewed")["data"]["keys"]
    assert "creds/" in client.sys.list_leases(prefix="database")["data"]["keys"]

    before = pg.valid_until(user)
    renewed = client.sys.renew_lease(lease_id=lease_id, increment=1800)
    assert renewed["lease_id"] == lease_id and renewed["renewable"] is True
    assert 1790 < renewed["lease_duration"] <= 1800
    after = client.sys.read_lease(lease_id=lease_id)["data"]
    assert after["last_renewal"] is not None and 1790 < after["ttl"] <= 1800
    assert pg.valid_until(user) >= before + 1100, "the renewal pushed the role's VALID UNTIL"
    # Never past the role's max TTL, counted from issue.
    capped = client.sys.renew_lease(lease_id=lease_id, increment=7200)
    assert 3500 < capped["lease_duration"] <= 3600
    assert pg.psql(user, made["data"]["password"]).returncode == 0

    client.sys.revoke_lease(lease_id=lease_id)
    assert not pg.has_role(user)
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.sys.list_leases(prefix="database/creds/renewed")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.sys.read_lease(lease_id=lease_id)


def test_a_five_second_lease_drops_its_role_at_expiry(env):
    pg, node, root, client, _ = env
    configure(client, pg)
    client.secrets.database.create_role(
        name="short", db_name="pg", creation_statements=CREATE, default_ttl="5s", max_ttl="1m")
    made = client.secrets.database.generate_credentials(name="short")
    user = made["data"]["username"]
    assert made["lease_duration"] == 5
    assert pg.has_role(user)
    wait_until(lambda: not pg.has_role(user), timeout=30, what="the expired lease's role dropped")
    assert lookup_status(node, root, made["lease_id"]) == 400


def test_a_five_second_lease_is_dropped_after_the_active_node_is_killed(pg, cluster):
    n1, n2, n3 = cluster
    _keys, root = form(cluster)
    client = n1.client(root)
    client.sys.enable_secrets_engine(backend_type="database", path="database")
    configure(client, pg)
    client.secrets.database.create_role(
        name="failover", db_name="pg", creation_statements=CREATE, default_ttl="5s", max_ttl="1m")
    made = client.secrets.database.generate_credentials(name="failover")
    user, lease_id = made["data"]["username"], made["lease_id"]
    assert pg.has_role(user)
    n1.kill()
    survivors = [n2, n3]
    active = wait_until(lambda: next((n for n in survivors if health(n) == 200), None), what="a new active node")
    # Nobody asks the new active node anything about the lease: it expires it by itself.
    wait_until(lambda: not pg.has_role(user), timeout=30, what="the new active node dropping the role")
    assert lookup_status(active, root, lease_id) == 400
    revocations = sum(
        line.count(lease_id)
        for n in cluster
        for line in n.log.read_text().splitlines()
        if "lease expired and was revoked" in line
    )
    assert revocations == 1, f"revoked {revocations} times"
