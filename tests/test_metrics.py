"""sys/metrics: Prometheus text and Vault's JSON shape, counted per operation and mount."""
import hvac
import pytest
import requests


def test_metrics_count_requests_by_operation_and_mount(node):
    client = node.client()
    init = client.sys.initialize(secret_shares=1, secret_threshold=1)
    client.sys.submit_unseal_key(init["keys"][0])
    client.token = init["root_token"]
    client.sys.enable_secrets_engine(backend_type="kv", path="kvm", options={"version": "2"})
    for i in range(3):
        client.secrets.kv.v2.create_or_update_secret(path=f"m{i}", secret={"v": str(i)}, mount_point="kvm")
    client.secrets.kv.v2.read_secret_version(path="m0", mount_point="kvm", raise_on_deleted_version=True)

    headers = {"X-Vault-Token": init["root_token"]}
    text = requests.get(f"{node.addr}/v1/sys/metrics?format=prometheus", headers=headers, timeout=10)
    assert text.status_code == 200
    assert text.headers["content-type"].startswith("text/plain")
    lines = text.text.splitlines()
    count = [l for l in lines if l.startswith('coffer_http_request_duration_seconds_count{operation="update",mount="kvm/",status="2xx"}')]
    assert count and count[0].endswith(" 3"), count
    assert "coffer_core_sealed 0" in lines
    commits = [l for l in lines if l.startswith("coffer_raft_commit_seconds_count")]
    assert commits and int(commits[0].split()[1]) >= 3, commits
    def value(name):
        found = [l for l in lines if l.startswith(name + " ")]
        assert found, name
        return float(found[0].split()[1])

    assert value("coffer_raft_applied_index") > 0
    assert value("coffer_raft_committed_index") >= value("coffer_raft_applied_index")
    assert value("coffer_raft_apply_seconds_count{}") >= 3
    assert value("coffer_raft_leader_changes_total") == 1, "one election: this node, at init"

    body = requests.get(f"{node.addr}/v1/sys/metrics", headers=headers, timeout=10).json()
    assert {g["Name"] for g in body["Gauges"]} >= {"coffer_core_sealed", "coffer_raft_term"}
    reads = [c for c in body["Counters"] if c["Labels"].get("operation") == "read" and c["Labels"].get("mount") == "kvm/"]
    assert reads and reads[0]["Count"] == 1

    limited = client.auth.token.create(policies=["default"])["auth"]["client_token"]
    denied = requests.get(f"{node.addr}/v1/sys/metrics", headers={"X-Vault-Token": limited}, timeout=10)
    assert denied.status_code == 403
