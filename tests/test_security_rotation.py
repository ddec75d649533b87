"""Automatic barrier-key rotation, seen from outside: once the active term has encrypted
`sys/rotate/config`'s `max_operations` values, the node rotates by itself (`sys/key-status`'s
term rises with no `sys/rotate`); writing the settings alone never rotates; the count survives a
restart, rounded up (a restart may over-count, never under-count).

Vault's smallest `max_operations` is 1,000,000: too many writes for a test. The node under test
is started with `COFFER_ROTATION_MIN_OPERATIONS=10`, Coffer's documented operator/test knob that
lowers that floor (it can only make rotation more frequent). Without it the floor is Vault's."""
import pytest

from conftest import Node, assert_vault_error, http, init_and_unseal

LIMIT = 30


def key_status(node, root):
    response = http(node, "GET", "sys/key-status", token=root)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def set_config(node, root, **fields):
    response = http(node, "POST", "sys/rotate/config", token=root, json=fields)
    assert response.status_code == 204, response.text


def write(node, root, i):
    response = http(node, "POST", f"kv/k{i}", token=root, json={"n": i})
    assert response.status_code == 204, response.text


@pytest.fixture
def low_floor(tmp_path, monkeypatch):
    """An unsealed node whose `sys/rotate/config` accepts `max_operations` down to 10, with a
    KV v1 mount at kv/: (node, root, keys)."""
    monkeypatch.setenv("COFFER_ROTATION_MIN_OPERATIONS", "10")
    node = Node(tmp_path).start()
    root, keys = init_and_unseal(node)
    response = http(node, "POST", "sys/mounts/kv", token=root, json={"type": "kv"})
    assert response.status_code == 204, response.text
    yield node, root, keys
    node.stop()


def test_term_rotates_by_itself_after_max_operations_and_the_count_survives_restart(low_floor):
    node, root, keys = low_floor
    set_config(node, root, max_operations=LIMIT)
    start = key_status(node, root)["term"]
    writes = 0
    while key_status(node, root)["term"] == start:
        write(node, root, writes)
        writes += 1
        assert writes <= LIMIT, f"no rotation after {writes} writes with max_operations={LIMIT}"
    after = key_status(node, root)
    assert after["term"] == start + 1
    assert after["encryptions"] < LIMIT
    for i in range(writes):
        assert http(node, "GET", f"kv/k{i}", token=root).json()["data"] == {"n": i}

    # A restart: the count is read back from storage, never lower than what was encrypted.
    write(node, root, 1000)
    counted = key_status(node, root)["encryptions"]
    node.stop()
    node.start()
    for key in keys[:3]:
        node.client().sys.submit_unseal_key(key)
    restarted = key_status(node, root)
    assert restarted["term"] == after["term"]
    assert restarted["encryptions"] >= counted
    # Here the over-count (a whole reserved block) is past the limit: the next request rotates.
    assert key_status(node, root)["term"] == after["term"] + 1
    assert http(node, "GET", "kv/k1000", token=root).json()["data"] == {"n": 1000}


def test_writing_rotate_config_alone_never_changes_the_term(low_floor):
    node, root, _keys = low_floor
    start = key_status(node, root)["term"]
    for fields in [
        {"max_operations": 1_000_000},
        {"interval": "24h"},
        {"enabled": False},
        {"enabled": True, "interval": 0, "max_operations": 3865470566},
    ]:
        set_config(node, root, **fields)
        assert key_status(node, root)["term"] == start, fields
    for i in range(LIMIT):
        write(node, root, i)
    assert key_status(node, root)["term"] == start
    # A limit the term has already passed: the settings write itself does not rotate...
    set_config(node, root, max_operations=10)
    assert key_status(node, root)["term"] == start
    # ...the next request applies it.
    write(node, root, LIMIT)
    assert key_status(node, root)["term"] == start + 1


def test_disabled_rotation_never_rotates(low_floor):
    node, root, _keys = low_floor
    start = key_status(node, root)["term"]
    set_config(node, root, max_operations=10, enabled=False)
    for i in range(LIMIT):
        write(node, root, i)
    assert key_status(node, root)["term"] == start
    set_config(node, root, enabled=True)
    write(node, root, LIMIT)
    assert key_status(node, root)["term"] == start + 1


def test_without_the_knob_the_floor_is_vaults(unsealed):
    node, root, _keys = unsealed
    assert_vault_error(
        http(node, "POST", "sys/rotate/config", token=root, json={"max_operations": 999_999}), 400)
    set_config(node, root, max_operations=1_000_000)
    assert http(node, "GET", "sys/rotate/config", token=root).json()["data"]["max_operations"] == 1_000_000
