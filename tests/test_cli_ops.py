"""Operator and lease commands as Vault 1.16's CLI prints them: `status` with its HA and Raft
rows, `operator raft list-peers` (Node/Address/State/Voter), `operator raft autopilot
state|get-config|set-config`, `secrets tune` / `auth tune` flags, `lease renew|revoke|lookup`,
`token capabilities`."""
import json
import re

from conftest import cli, http


def rows(table):
    """A `Key  Value` table as a dict."""
    out = {}
    for line in table.splitlines()[2:]:
        key, _, value = re.split(r"(\s{4,})", line.strip(), maxsplit=1)
        out[key] = value
    return out


def test_status_shows_ha_and_raft_rows(unsealed):
    node, _root, _keys = unsealed
    table = cli(node, "status").stdout
    r = rows(table)
    assert r["HA Enabled"] == "true"
    assert r["HA Cluster"] == f"http://127.0.0.1:{node.cluster_port}"
    assert r["HA Mode"] == "active"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", r["Active Since"]), r
    assert int(r["Raft Committed Index"]) > 0 and int(r["Raft Applied Index"]) > 0
    keys = list(r)
    assert keys.index("HA Enabled") < keys.index("HA Cluster") < keys.index("HA Mode") < keys.index("Active Since") < keys.index("Raft Committed Index") < keys.index("Raft Applied Index")

    s = json.loads(cli(node, "status", "-format=json").stdout)
    assert (s["ha_enabled"], s["is_self"], s["leader_cluster_address"]) == (True, True, r["HA Cluster"])
    assert s["raft_committed_index"] > 0 and s["raft_applied_index"] > 0 and s["active_time"]


def test_list_peers_table_and_autopilot(unsealed):
    node, root, _keys = unsealed
    table = cli(node, "operator", "raft", "list-peers", token=root).stdout.splitlines()
    assert re.fullmatch(r"Node\s{4,}Address\s{4,}State\s{4,}Voter", table[0]), table
    assert re.fullmatch(r"----\s{4,}-------\s{4,}-----\s{4,}-----", table[1]), table
    (server,) = http(node, "GET", "sys/storage/raft/configuration", token=root).json()["data"]["config"]["servers"]
    assert table[2].split() == [server["node_id"], server["address"], "leader", "true"], table
    # Vault prints a peer's cluster address as host:port, without a scheme.
    assert server["address"] == f"127.0.0.1:{node.cluster_port}", server
    # Columns line up: each header starts where its values start.
    assert table[0].index("Address") == table[2].index(server["address"])
    assert table[0].index("State") == table[2].index("leader")

    state = cli(node, "operator", "raft", "autopilot", "state", token=root).stdout
    assert re.search(r"^Healthy:\s+true$", state, re.M), state
    me = server["node_id"]
    assert re.search(rf"^Leader:\s+{me}$", state, re.M), state
    assert f"Voters:\n   {me}\n" in state and f"Servers:\n   {me}\n" in state
    assert re.search(r"^      Status:\s+leader$", state, re.M), state
    js = json.loads(cli(node, "operator", "raft", "autopilot", "state", "-format=json", token=root).stdout)
    assert js["leader"] == me and js["voters"] == [me]

    cli(node, "operator", "raft", "autopilot", "set-config", "-cleanup-dead-servers",
        "-max-trailing-logs", "500", "-min-quorum=3", "-dead-server-last-contact-threshold=2h", token=root)
    cfg = rows(cli(node, "operator", "raft", "autopilot", "get-config", token=root).stdout)
    assert (cfg["Cleanup Dead Servers"], cfg["Max Trailing Logs"], cfg["Min Quorum"]) == ("true", "500", "3")
    assert cfg["Dead Server Last Contact Threshold"] == "2h0m0s"
    cli(node, "operator", "raft", "autopilot", "set-config", "-cleanup-dead-servers=false", token=root)
    cfg = json.loads(cli(node, "operator", "raft", "autopilot", "get-config", "-format=json", token=root).stdout)
    assert (cfg["cleanup_dead_servers"], cfg["max_trailing_logs"]) == (False, 500)


def test_secrets_and_auth_tune(unsealed):
    node, root, _keys = unsealed
    cli(node, "secrets", "enable", "-path=kvx", "-version=2", "kv", token=root)
    out = cli(node, "secrets", "tune", "-default-lease-ttl=1h", "-max-lease-ttl", "2h",
              "-description=tuned kv", "-listing-visibility=unauth",
              "-audit-non-hmac-request-keys=a,b", "-passthrough-request-headers", "X-Foo", "kvx/", token=root).stdout
    assert out.strip() == "Success! Tuned the secrets engine at: kvx/"
    tune = http(node, "GET", "sys/mounts/kvx/tune", token=root).json()["data"]
    assert (tune["default_lease_ttl"], tune["max_lease_ttl"], tune["description"]) == (3600, 7200, "tuned kv")
    # -field reads one value raw; a TTL-like key in the table reads as a duration.
    assert cli(node, "read", "-field=max_lease_ttl", "sys/mounts/kvx/tune", token=root).stdout == "7200"
    assert rows(cli(node, "read", "sys/mounts/kvx/tune", token=root).stdout)["max_lease_ttl"] == "2h"

    cli(node, "auth", "enable", "userpass", token=root)
    out = cli(node, "auth", "tune", "-default-lease-ttl", "30m", "-max-lease-ttl=90m",
              "-description", "people", "userpass", token=root).stdout
    assert out.strip() == "Success! Tuned the auth method at: userpass/"
    tune = http(node, "GET", "sys/auth/userpass/tune", token=root).json()["data"]
    assert (tune["default_lease_ttl"], tune["max_lease_ttl"], tune["description"]) == (1800, 5400, "people")
    listed = cli(node, "secrets", "list", token=root).stdout.splitlines()
    assert re.fullmatch(r"Path\s+Type\s+Accessor\s+Description", listed[0]), listed
    assert any(re.fullmatch(r"kvx/\s+kv\s+\S+\s+tuned kv", l) for l in listed), listed


def test_lease_renew_lookup_revoke_and_token_capabilities(unsealed):
    node, root, _keys = unsealed
    auth = json.loads(cli(node, "token", "create", "-ttl=1h", "-policy=default", "-format=json", token=root).stdout)["auth"]
    lease = f"auth/token/create/{auth['accessor']}"

    looked = json.loads(cli(node, "lease", "lookup", "-format=json", lease, token=root).stdout)["data"]
    assert looked["id"] == lease and 3500 < looked["ttl"] <= 3600
    assert rows(cli(node, "lease", "lookup", lease, token=root).stdout)["id"] == lease

    renewed = cli(node, "lease", "renew", "-increment=2h", lease, token=root).stdout
    r = rows(renewed)
    assert (r["lease_id"], r["lease_duration"]) == (lease, "2h"), renewed

    assert cli(node, "token", "capabilities", "sys/mounts", token=root).stdout.strip() == "root"
    caps = cli(node, "token", "capabilities", auth["client_token"], "sys/mounts", token=root).stdout.strip()
    assert caps == "deny"
    caps = cli(node, "token", "capabilities", "-format=json", auth["client_token"], "cubbyhole/x", token=root).stdout
    assert json.loads(caps) == ["create", "delete", "list", "read", "update"]

    out = cli(node, "lease", "revoke", "-sync", lease, token=root).stdout
    assert out.strip() == f"Success! Revoked lease: {lease}"
    assert http(node, "GET", "auth/token/lookup-self", token=auth["client_token"]).status_code == 403

    other = json.loads(cli(node, "token", "create", "-ttl=1h", "-format=json", token=root).stdout)["auth"]
    out = cli(node, "lease", "revoke", "-prefix", "auth/token/create", token=root).stdout
    assert out.strip() == "Success! Revoked any leases with prefix: auth/token/create"
    assert http(node, "GET", "auth/token/lookup-self", token=other["client_token"]).status_code == 403
    assert cli(node, "lease", "revoke", "-force", lease, token=root, check=False).returncode == 1
