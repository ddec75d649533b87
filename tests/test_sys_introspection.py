"""What Vault reports about itself: `sys/host-info` (sudo; gopsutil's field names, read from
/proc), `sys/internal/counters/*` (token counts from the token store), `sys/config/state/sanitized`
(sudo; no secret of the config file) and `sys/plugins/catalog` (the built-in engines and methods)."""
import os

from conftest import assert_vault_error, http


def limited_token(client):
    client.sys.create_or_update_policy(name="everything-but-sudo", policy='path "*" { capabilities = ["read", "list"] }')
    return client.auth.token.create(policies=["everything-but-sudo"])["auth"]["client_token"]


def test_host_info_reads_the_host(unsealed):
    node, root, _keys = unsealed
    r = http(node, "GET", "sys/host-info", token=root)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert set(data) >= {"cpu", "cpu_times", "disk", "host", "memory", "timestamp"}
    assert len(data["cpu"]) == os.cpu_count()
    assert {"vendorId", "modelName", "mhz", "cacheSize", "flags", "cores"} <= set(data["cpu"][0])
    assert {"user", "system", "idle", "iowait"} <= set(data["cpu_times"][0])
    meminfo = dict(line.split(":", 1) for line in open("/proc/meminfo").read().splitlines())
    assert data["memory"]["total"] == int(meminfo["MemTotal"].split()[0]) * 1024
    assert 0 < data["memory"]["usedPercent"] < 100
    root_disk = [d for d in data["disk"] if d["path"] == "/"]
    assert root_disk and root_disk[0]["total"] == os.statvfs("/").f_blocks * os.statvfs("/").f_frsize
    assert data["host"]["hostname"] == open("/proc/sys/kernel/hostname").read().strip()
    assert data["host"]["kernelVersion"] == os.uname().release
    assert data["host"]["os"] == "linux" and data["host"]["bootTime"] > 0 and data["host"]["procs"] > 0
    assert_vault_error(http(node, "GET", "sys/host-info", token=limited_token(node.client(root))), 403)


def test_counters_count_the_token_store(unsealed):
    node, root, _keys = unsealed
    client = node.client(root)
    for _ in range(3):
        client.auth.token.create(policies=["default"])
    expected = len(http(node, "LIST", "auth/token/accessors", token=root).json()["data"]["keys"])
    assert expected == 4, "root and three children"
    tokens = http(node, "GET", "sys/internal/counters/tokens", token=root).json()["data"]
    assert tokens == {"counters": {"service_tokens": {"total": expected}}}
    entities = http(node, "GET", "sys/internal/counters/entities", token=root).json()["data"]
    assert entities == {"counters": {"entities": {"total": 0}}}
    activity = http(node, "GET", "sys/internal/counters/activity", token=root).json()["data"]
    assert activity["total"]["clients"] == expected
    assert activity["total"]["non_entity_clients"] == expected
    assert activity["total"]["entity_clients"] == 0
    assert activity["by_namespace"][0]["namespace_path"] == ""
    assert {"start_time", "end_time", "months"} <= set(activity)


def test_sanitized_config_leaves_out_secrets(unsealed):
    node, root, _keys = unsealed
    r = http(node, "GET", "sys/config/state/sanitized", token=root)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["api_addr"] == node.addr
    assert data["storage"]["type"] == "raft"
    assert str(node.data_dir) not in r.text, "storage paths are not shown"
    assert data["listeners"][0]["type"] == "tcp"
    assert data["listeners"][0]["config"]["address"] == f"127.0.0.1:{node.port}"
    assert data["seals"] == [{"type": "shamir", "disabled": False}]
    assert data["disable_mlock"] is True
    assert data["default_lease_ttl"] == 768 * 3600 * 10**9, "Go durations in nanoseconds"
    assert_vault_error(http(node, "GET", "sys/config/state/sanitized", token=limited_token(node.client(root))), 403)


def test_plugin_catalog_lists_the_builtins(unsealed):
    node, root, _keys = unsealed
    catalog = http(node, "GET", "sys/plugins/catalog", token=root).json()["data"]
    assert catalog["secret"] == ["database", "kv", "pki", "transit"]
    assert catalog["auth"] == ["approle", "jwt", "kubernetes", "oidc", "userpass"]
    assert catalog["database"] == ["postgresql-database-plugin"]
    kv = [p for p in catalog["detailed"] if p["name"] == "kv"][0]
    assert kv["builtin"] is True and kv["type"] == "secret" and kv["version"].endswith("+builtin.coffer")
    assert http(node, "LIST", "sys/plugins/catalog/auth", token=root).json()["data"]["keys"] == catalog["auth"]
    one = http(node, "GET", "sys/plugins/catalog/secret/transit", token=root).json()["data"]
    assert one["name"] == "transit" and one["builtin"] is True and one["command"] == "" and one["args"] == []
    assert_vault_error(http(node, "GET", "sys/plugins/catalog/secret/aws", token=root), 404)
    assert_vault_error(http(node, "GET", "sys/plugins/catalog/weird", token=root), 400)
    # Listing the whole catalog needs no sudo; a type's entries do (Vault's plugins/catalog/*).
    limited = limited_token(node.client(root))
    assert http(node, "GET", "sys/plugins/catalog", token=limited).status_code == 200
    assert_vault_error(http(node, "GET", "sys/plugins/catalog/secret/kv", token=limited), 403)
