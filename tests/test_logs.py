"""Structured logs: JSON lines that name the node, term and request id, and never a secret."""
import json

from conftest import Node


def test_json_logs_name_node_term_and_request_and_carry_no_secret(tmp_path):
    node = Node(tmp_path, extra_config='log_format = "json"\nlog_level = "debug"').start()
    try:
        client = node.client()
        init = client.sys.initialize(secret_shares=1, secret_threshold=1)
        client.sys.submit_unseal_key(init["keys"][0])
        client.token = init["root_token"]
        client.sys.enable_secrets_engine(backend_type="kv", path="secret", options={"version": "2"})
        value = "log-leak-probe-5e1c"
        client.secrets.kv.v2.create_or_update_secret(path="p", secret={"v": value}, mount_point="secret")
    finally:
        node.stop()
    text = node.log.read_text()
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert records, text[:2000]
    with_request = [r for r in records if any(s.get("name") == "request" for s in r.get("spans", []))]
    assert with_request, "no log line carries the request span"
    span = next(s for s in with_request[0]["spans"] if s["name"] == "request")
    assert {"node", "term", "id", "path"} <= set(span), span
    for secret in (value, init["root_token"], init["keys"][0]):
        assert secret not in text, "a secret reached the log"
