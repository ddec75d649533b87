"""Security: what Vault audits is audited here too, and concurrent table changes are never lost.

- A wrapping token used as its own client token (`sys/wrapping/unwrap`, `lookup`, `rewrap`) is
  answered before the pipeline, and is audited there: request line first, values HMAC'd.
- The unauthenticated operator paths (generate-root, rekey) are audited once the node has
  devices loaded; the key shares, OTPs and new keys they carry reach the log only as HMACs.
- If no enabled device can log one of these requests, it fails with 500 and changes nothing.
- Concurrent enables of secrets mounts, auth methods and audit devices all persist.
"""
import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import assert_vault_error, http

SECRET = "wrapped-secret-value-8d1f"


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def audit_hash(node, token, value, device="file"):
    r = http(node, "PUT", f"sys/audit-hash/{device}", token=token, json={"input": value})
    assert r.status_code == 200, r.text
    return r.json()["data"]["hash"]


def enable_file_device(node, root, log, path="file"):
    r = http(node, "PUT", f"sys/audit/{path}", token=root,
             json={"type": "file", "options": {"file_path": str(log)}})
    assert r.status_code == 204, r.text


def wrapped_secret(node, root):
    """Write SECRET to a KV v2 mount and read it back wrapped: the wrapping token."""
    r = http(node, "POST", "sys/mounts/secret", token=root, json={"type": "kv", "options": {"version": "2"}})
    assert r.status_code == 204, r.text
    r = http(node, "POST", "secret/data/app", token=root, json={"data": {"password": SECRET}})
    assert r.status_code == 200, r.text
    r = http(node, "GET", "secret/data/app", token=root, headers={"X-Vault-Wrap-TTL": "300"})
    assert r.status_code == 200, r.text
    return r.json()["wrap_info"]["token"]


def paired(entries, path):
    """The request and response lines logged for `path`, as (requests, responses)."""
    on_path = [e for e in entries if e["request"]["path"] == path]
    return ([e for e in on_path if e["type"] == "request"],
            [e for e in on_path if e["type"] == "response"])


def test_self_served_unwrap_and_lookup_are_audited_with_the_secret_hashed(unsealed, tmp_path):
    node, root, _keys = unsealed
    log = tmp_path / "audit.log"
    enable_file_device(node, root, log)
    wrapping = wrapped_secret(node, root)

    r = http(node, "PUT", "sys/wrapping/lookup", json={"token": wrapping})
    assert r.status_code == 200, r.text
    r = http(node, "PUT", "sys/wrapping/unwrap", token=wrapping)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["data"]["password"] == SECRET

    entries = lines(log)
    requests_, responses = paired(entries, "sys/wrapping/unwrap")
    assert len(requests_) == 1 and len(responses) == 1, entries
    assert requests_[0]["request"]["id"] == responses[0]["request"]["id"]
    assert entries.index(requests_[0]) < entries.index(responses[0])
    # The unwrapped answer is logged, hashed; the wrapping token as the caller, hashed.
    assert audit_hash(node, root, SECRET) in json.dumps(responses[0]["response"])
    assert requests_[0]["auth"]["client_token"] == audit_hash(node, root, wrapping)
    lookups, lookup_answers = paired(entries, "sys/wrapping/lookup")
    assert len(lookups) == 1 and len(lookup_answers) == 1, entries
    assert lookups[0]["request"]["data"]["token"] == audit_hash(node, root, wrapping)

    raw = log.read_text()
    assert SECRET not in raw, "the wrapped secret reached the audit log in plain"
    assert wrapping not in raw, "the wrapping token reached the audit log in plain"
    assert root not in raw


def test_generate_root_and_rekey_are_audited_with_shares_and_otps_hashed(unsealed, tmp_path):
    node, root, keys = unsealed
    log = tmp_path / "audit.log"
    enable_file_device(node, root, log)

    r = http(node, "PUT", "sys/generate-root/attempt", json={})
    assert r.status_code == 200, r.text
    attempt = r.json()
    otp, nonce = attempt["otp"], attempt["nonce"]
    assert otp
    updates = []
    for key in keys[:3]:
        r = http(node, "PUT", "sys/generate-root/update", json={"key": key, "nonce": nonce})
        assert r.status_code == 200, r.text
        updates.append(r.json())
    encoded = updates[-1]["encoded_token"]
    assert updates[-1]["complete"] is True and encoded

    r = http(node, "PUT", "sys/rekey/init", json={"secret_shares": 3, "secret_threshold": 2})
    assert r.status_code == 200, r.text
    rekey_nonce = r.json()["nonce"]
    for key in keys[:3]:
        r = http(node, "PUT", "sys/rekey/update", json={"key": key, "nonce": rekey_nonce})
        assert r.status_code == 200, r.text
    new_keys = r.json()["keys"]
    assert len(new_keys) == 3

    entries = lines(log)
    for path, count in [("sys/generate-root/attempt", 1), ("sys/generate-root/update", 3),
                        ("sys/rekey/init", 1), ("sys/rekey/update", 3)]:
        requests_, responses = paired(entries, path)
        assert (len(requests_), len(responses)) == (count, count), (path, entries)
    updates_logged, _ = paired(entries, "sys/generate-root/update")
    assert updates_logged[0]["request"]["data"]["key"] == audit_hash(node, root, keys[0])
    _, attempt_answers = paired(entries, "sys/generate-root/attempt")
    assert attempt_answers[0]["response"]["data"]["otp"] == audit_hash(node, root, otp)

    raw = log.read_text()
    for secret in [*keys, otp, encoded, *new_keys]:
        assert secret not in raw, f"{secret[:6]}... reached the audit log in plain"


def test_an_unwrap_no_device_can_log_fails_and_spends_nothing(unsealed, tmp_path):
    node, root, _keys = unsealed
    logdir = tmp_path / "auditdir"
    logdir.mkdir()
    enable_file_device(node, root, logdir / "audit.log")
    wrapping = wrapped_secret(node, root)

    shutil.rmtree(logdir)
    logdir.write_text("now a file: nothing can be created under it")
    assert_vault_error(http(node, "PUT", "sys/wrapping/unwrap", token=wrapping), 500)
    assert_vault_error(http(node, "PUT", "sys/wrapping/rewrap", token=wrapping), 500)
    assert_vault_error(http(node, "PUT", "sys/generate-root/attempt", json={}), 500)

    logdir.unlink()
    logdir.mkdir()
    # Nothing ran: no root generation started, and the wrapping token still holds its answer.
    r = http(node, "GET", "sys/generate-root/attempt")
    assert r.status_code == 200 and r.json()["started"] is False, r.text
    r = http(node, "PUT", "sys/wrapping/unwrap", token=wrapping)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["data"]["password"] == SECRET


TABLES = {
    # table: (how many at once, the body enabling one at <path>)
    "sys/mounts": (20, lambda tmp, path: {"type": "kv"}),
    "sys/auth": (10, lambda tmp, path: {"type": "userpass"}),
    "sys/audit": (5, lambda tmp, path: {"type": "file", "options": {"file_path": str(tmp / f"{path}.log")}}),
}


@pytest.mark.parametrize("table", sorted(TABLES))
def test_concurrent_enables_all_persist(unsealed, tmp_path, table):
    node, root, keys = unsealed
    count, body_of = TABLES[table]
    paths = [f"par-{n}" for n in range(count)]
    with ThreadPoolExecutor(max_workers=count) as pool:
        answers = list(pool.map(
            lambda p: http(node, "PUT", f"{table}/{p}", token=root, json=body_of(tmp_path, p)), paths))
    assert [a.status_code for a in answers] == [204] * count, [a.text for a in answers]

    def listed():
        r = http(node, "GET", table, token=root)
        assert r.status_code == 200, r.text
        return set(r.json()["data"])

    assert {f"{p}/" for p in paths} <= listed(), sorted(listed())
    # As stored, too: a restarted node reads the same table back.
    node.stop()
    node.start()
    for key in keys[:3]:
        http(node, "PUT", "sys/unseal", json={"key": key})
    deadline = time.monotonic() + 60
    while http(node, "GET", "sys/health").status_code != 200:
        assert time.monotonic() < deadline, "the restarted node did not become active"
        time.sleep(0.1)
    assert {f"{p}/" for p in paths} <= listed(), sorted(listed())
