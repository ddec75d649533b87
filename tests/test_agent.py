"""`coffer agent` (Vault Agent) against a real node: auto_auth with approle, a token file and
kubernetes (the fake TokenReview server of test_k8s_auth), a file sink with its mode, templates in
consul-template's dialect rendered atomically with their perms, re-rendered when a KV version
changes, a new login after the agent's token is revoked, exit_after_auth for an init container,
and a log that never holds the token or a secret."""
import json
from datetime import datetime, timezone
import os
import signal
import stat
import subprocess

import jsonpatch
import pytest
import yaml

from conftest import COFFER_BIN, wait_until
from pathlib import Path
from test_injector import admission_review, decoded_patch, injector, seed_pod  # noqa: F401 (the fixture)
from test_injector import agent_config as injected_config
from test_k8s_auth import cluster, enable_kubernetes, service_account_jwt  # noqa: F401 (the fixture)

SEED_TEMPLATE = (
    '{{- with secret "secret/data/basic-secret/helloworld" -}}\n'
    '{"username": "{{ .Data.data.username }}", "password": "{{ .Data.data.password }}"}\n'
    "{{- end }}"
)
POLICY = 'path "secret/data/basic-secret/*" { capabilities = ["read"] }\n'
PASSWORD = "a63e8938dcc0"
SEED_APP = Path(__file__).resolve().parent / "fixtures" / "seed-app.yaml"


class Agent:
    """A `coffer agent -config=...` process; its stderr goes to a log file."""

    def __init__(self, workdir, config_text, name="agent.hcl"):
        self.config = workdir / name
        self.config.write_text(config_text)
        self.log_path = workdir / f"{name}.log"
        self.log = open(self.log_path, "w")
        env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
        self.proc = subprocess.Popen([COFFER_BIN, "agent", f"-config={self.config}"],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def text(self):
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
        self.log.close()


@pytest.fixture
def seeded(unsealed):
    """KV v2 at secret/ with the walk-through's secret, a read policy, approle with a role."""
    node, root_token, _ = unsealed
    root = node.client(root_token)
    root.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
    root.secrets.kv.v2.create_or_update_secret(path="basic-secret/helloworld", mount_point="secret",
                                               secret={"username": "dbuser", "password": PASSWORD})
    root.sys.create_or_update_policy("basic-secret-policy", POLICY)
    root.sys.enable_auth_method("approle")
    root.auth.approle.create_or_update_approle(role_name="app", token_policies=["basic-secret-policy"],
                                               token_ttl="1h")
    return node, root


@pytest.fixture
def agents():
    started = []
    yield started
    for a in started:
        a.stop()


def approle_files(root, workdir):
    role_id = root.auth.approle.read_role_id(role_name="app")["data"]["role_id"]
    secret_id = root.auth.approle.generate_secret_id(role_name="app")["data"]["secret_id"]
    (workdir / "role-id").write_text(role_id + "\n")
    (workdir / "secret-id").write_text(secret_id + "\n")
    return secret_id


def hcl(node, workdir, method, extra="", interval="1s"):
    return f"""
vault {{
  address = "{node.addr}"
}}
auto_auth {{
  {method}
  sink "file" {{
    config = {{
      path = "{workdir}/sink-token"
      mode = 0600
    }}
  }}
}}
template_config {{
  static_secret_render_interval = "{interval}"
}}
template {{
  contents = {json.dumps(SEED_TEMPLATE)}
  destination = "{workdir}/secrets/helloworld"
  perms = "0640"
  command = "date >> {workdir}/rendered.count"
}}
{extra}
"""


def approle_method(workdir):
    return f"""method "approle" {{
    mount_path = "auth/approle"
    config = {{
      role_id_file_path = "{workdir}/role-id"
      secret_id_file_path = "{workdir}/secret-id"
    }}
  }}"""


def rendered(path, expected):
    return lambda: path.exists() and path.read_text() == expected


def test_approle_agent_renders_the_seed_template_and_follows_new_versions(seeded, agents, tmp_path):
    node, root = seeded
    secret_id = approle_files(root, tmp_path)
    agent = Agent(tmp_path, hcl(node, tmp_path, approle_method(tmp_path)))
    agents.append(agent)
    out = tmp_path / "secrets" / "helloworld"
    wait_until(rendered(out, f'{{"username": "dbuser", "password": "{PASSWORD}"}}'), 30, "first render")
    assert stat.S_IMODE(out.stat().st_mode) == 0o640

    sink = tmp_path / "sink-token"
    token = sink.read_text()
    assert stat.S_IMODE(sink.stat().st_mode) == 0o600
    looked = node.client(token).auth.token.lookup_self()["data"]
    assert looked["policies"] == ["basic-secret-policy", "default"] and looked["meta"]["role_name"] == "app"
    assert (tmp_path / "rendered.count").read_text().count("\n") == 1

    root.secrets.kv.v2.create_or_update_secret(path="basic-secret/helloworld", mount_point="secret",
                                               secret={"username": "dbuser", "password": "rotated-2"})
    wait_until(rendered(out, '{"username": "dbuser", "password": "rotated-2"}'), 30, "re-render")
    wait_until(lambda: (tmp_path / "rendered.count").read_text().count("\n") == 2, 10, "command after re-render")
    assert agent.proc.poll() is None

    log = agent.text()
    for secret in (token, secret_id, PASSWORD, "rotated-2"):
        assert secret not in log, "the agent's log holds a token or a secret"
    assert "template rendered" in log


def test_a_revoked_token_is_replaced_by_a_new_login(seeded, agents, tmp_path):
    node, root = seeded
    approle_files(root, tmp_path)
    agent = Agent(tmp_path, hcl(node, tmp_path, approle_method(tmp_path)))
    agents.append(agent)
    sink = tmp_path / "sink-token"
    wait_until(lambda: sink.exists() and sink.read_text(), 30, "the token sink")
    first = sink.read_text()
    root.auth.token.revoke(first)
    second = wait_until(lambda: sink.read_text() != first and sink.read_text(), 30, "a new login")
    assert node.client(second).auth.token.lookup_self()["data"]["meta"]["role_name"] == "app"

    root.secrets.kv.v2.create_or_update_secret(path="basic-secret/helloworld", mount_point="secret",
                                               secret={"username": "after", "password": "revoke"})
    out = tmp_path / "secrets" / "helloworld"
    wait_until(rendered(out, '{"username": "after", "password": "revoke"}'), 30, "render with the new token")
    assert first not in agent.text() and second not in agent.text()


def test_token_file_agent_with_exit_after_auth_renders_once_and_exits(seeded, tmp_path):
    node, root = seeded
    token = root.auth.token.create(policies=["basic-secret-policy"], ttl="1h")["auth"]["client_token"]
    (tmp_path / "token").write_text(token)
    method = f'method "token_file" {{\n    config = {{\n      token_file_path = "{tmp_path}/token"\n    }}\n  }}'
    agent = Agent(tmp_path, hcl(node, tmp_path, method, extra="exit_after_auth = true"))
    assert agent.proc.wait(timeout=30) == 0, agent.text()
    out = tmp_path / "secrets" / "helloworld"
    assert out.read_text() == f'{{"username": "dbuser", "password": "{PASSWORD}"}}'
    assert (tmp_path / "sink-token").read_text() == token
    assert token not in agent.text() and PASSWORD not in agent.text()
    agent.stop()


def test_functions_and_an_unknown_function(seeded, tmp_path):
    node, root = seeded
    token = root.auth.token.create(policies=["basic-secret-policy"], ttl="1h")["auth"]["client_token"]
    (tmp_path / "token").write_text(token)
    method = f'method "token_file" {{\n    config = {{\n      token_file_path = "{tmp_path}/token"\n    }}\n  }}'
    source = tmp_path / "all.ctmpl"
    source.write_text(
        # KV v2 read without data/ in the path: the agent inserts it, as consul-template does.
        '{{ with secret "secret/basic-secret/helloworld" }}'
        '{{ range $k, $v := .Data.data }}{{ $k }}={{ $v | base64Encode }};{{ end }}\n'
        '{{ toJSON .Data.data }}\n{{ index .Data.data "username" }}'
        '{{ if .Data.metadata.version }} v{{ .Data.metadata.version }}{{ end }}{{ end }}\n')
    extra = f'exit_after_auth = true\ntemplate {{\n  source = "{source}"\n  destination = "{tmp_path}/all.out"\n}}'
    agent = Agent(tmp_path, hcl(node, tmp_path, method, extra=extra))
    assert agent.proc.wait(timeout=30) == 0, agent.text()
    agent.stop()
    assert (tmp_path / "all.out").read_text() == (
        "password=YTYzZTg5MzhkY2Mw;username=ZGJ1c2Vy;\n"
        f'{{"password":"{PASSWORD}","username":"dbuser"}}\ndbuser v1\n')

    source.write_text("ok\n{{ secret \"secret/data/x\" | nosuchfunc }}\n")
    bad = Agent(tmp_path, hcl(node, tmp_path, method, extra=extra), name="bad.hcl")
    assert bad.proc.wait(timeout=30) != 0
    bad.stop()
    log = bad.text()
    assert str(source) in log and ":2:" in log and "nosuchfunc" in log, log


def kubernetes_role(root, cluster, jwt_file):
    """The walk-through's kubernetes auth: the method configured against the fake TokenReview
    server, role basic-secret-role for example-app/basic-secret; that account's JWT in `jwt_file`."""
    enable_kubernetes(root, cluster)
    root.write("auth/kubernetes/role/basic-secret-role", bound_service_account_names="basic-secret",
               bound_service_account_namespaces="example-app", policies="basic-secret-policy", ttl="1h")
    jwt = cluster.admit(service_account_jwt("example-app", "basic-secret"), "example-app", "basic-secret")
    jwt_file.write_text(jwt)
    return jwt


def test_kubernetes_auto_auth_renders_for_a_service_account(seeded, agents, cluster, tmp_path):  # noqa: F811
    node, root = seeded
    jwt = kubernetes_role(root, cluster, tmp_path / "sa-token")
    method = (f'method "kubernetes" {{\n    mount_path = "auth/kubernetes"\n    config = {{\n'
              f'      role = "basic-secret-role"\n      token_path = "{tmp_path}/sa-token"\n    }}\n  }}')
    agent = Agent(tmp_path, hcl(node, tmp_path, method))
    agents.append(agent)
    out = tmp_path / "secrets" / "helloworld"
    wait_until(rendered(out, f'{{"username": "dbuser", "password": "{PASSWORD}"}}'), 30, "render")
    token = (tmp_path / "sink-token").read_text()
    meta = node.client(token).auth.token.lookup_self()["data"]["meta"]
    assert meta["service_account_namespace"] == "example-app"
    assert jwt not in agent.text() and token not in agent.text()


def test_a_sealed_server_is_retried_until_it_unseals(unsealed, agents, tmp_path):
    node, root_token, keys = unsealed
    root = node.client(root_token)
    root.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
    root.secrets.kv.v2.create_or_update_secret(path="basic-secret/helloworld", mount_point="secret",
                                               secret={"username": "u", "password": "p"})
    token = root.auth.token.create(policies=["root"], ttl="1h")["auth"]["client_token"]
    (tmp_path / "token").write_text(token)
    root.sys.seal()
    method = f'method "token_file" {{\n    config = {{\n      token_file_path = "{tmp_path}/token"\n    }}\n  }}'
    agent = Agent(tmp_path, hcl(node, tmp_path, method))
    agents.append(agent)
    wait_until(lambda: "agent cycle failed" in agent.text(), 30, "a failed cycle while sealed")
    out = tmp_path / "secrets" / "helloworld"
    assert not out.exists()
    for key in keys[:3]:
        node.client().sys.submit_unseal_key(key)
    wait_until(rendered(out, '{"username": "u", "password": "p"}'), 60, "render after unseal")


def token_file_method(workdir):
    return f'method "token_file" {{\n    config = {{\n      token_file_path = "{workdir}/token"\n    }}\n  }}'


def test_the_seed_apps_template_renders_exactly_from_kv_v1(unsealed, tmp_path):
    """The walk-through's annotation template, over its KV version 1 secret, byte for byte."""
    node, root_token, _ = unsealed
    root = node.client(root_token)
    root.sys.enable_secrets_engine("kv", path="secret", options={"version": "1"})
    root.secrets.kv.v1.create_or_update_secret(path="basic-secret/helloworld", mount_point="secret",
                                               secret={"username": "dbuser", "password": "sUp3rS3cUr3P@ssw0rd"})
    root.sys.create_or_update_policy("basic-secret-policy", 'path "secret/basic-secret/*" { capabilities = ["read"] }')
    token = root.auth.token.create(policies=["basic-secret-policy"], ttl="1h")["auth"]["client_token"]
    (tmp_path / "token").write_text(token)
    deployment = next(yaml.safe_load_all(SEED_APP.read_text()))
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    template = annotations["vault.hashicorp.com/agent-inject-template-helloworld"]
    config = {
        "vault": {"address": node.addr},
        "auto_auth": {"method": {"type": "token_file", "config": {"token_file_path": str(tmp_path / "token")}},
                      "sink": [{"type": "file", "config": {"path": str(tmp_path / "sink-token")}}]},
        "exit_after_auth": True,
        "template": [{"contents": template, "destination": str(tmp_path / "secrets" / "helloworld")}],
    }
    agent = Agent(tmp_path, json.dumps(config), name="agent.json")
    assert agent.proc.wait(timeout=30) == 0, agent.text()
    agent.stop()
    out = tmp_path / "secrets" / "helloworld"
    assert out.read_text() == '{\n  "username" : "dbuser",\n  "password" : "sUp3rS3cUr3P@ssw0rd"\n}\n'
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    sink = tmp_path / "sink-token"
    assert stat.S_IMODE(sink.stat().st_mode) == 0o640
    assert "sUp3rS3cUr3P@ssw0rd" not in agent.text() and token not in agent.text()


def instant(rfc3339):
    """Seconds since the epoch of a UTC RFC 3339 time, any number of fractional digits."""
    base, _, fraction = rfc3339.rstrip("Z").partition(".")
    return datetime.fromisoformat(base).replace(tzinfo=timezone.utc).timestamp() + float("0." + (fraction or "0"))


def test_the_agent_renews_its_own_token(seeded, agents, tmp_path):
    """A 4-second token stays the same token and outlives its first TTL: the agent renews it."""
    node, root = seeded
    root.auth.approle.create_or_update_approle(role_name="app", token_policies=["basic-secret-policy"],
                                               token_ttl="4s", token_max_ttl="1h")
    approle_files(root, tmp_path)
    agent = Agent(tmp_path, hcl(node, tmp_path, approle_method(tmp_path), interval="300s"))
    agents.append(agent)
    sink = tmp_path / "sink-token"
    token = wait_until(lambda: sink.exists() and sink.read_text(), 30, "the token sink")
    first = root.auth.token.lookup(token)["data"]

    def renewed():
        data = root.auth.token.lookup(token)["data"]
        return instant(data["expire_time"]) > instant(first["expire_time"]) and data

    wait_until(renewed, 30, "a renewal of the agent's token")
    # Renewed, not replaced: the sink still holds the first token, and it still works.
    assert sink.read_text() == token
    assert node.client(token).auth.token.lookup_self()["data"]["id"] == token


def test_a_leased_secret_is_read_again_before_its_lease_ends(seeded, agents, tmp_path):
    """A PKI certificate issued with a 6 s lease is issued again before it expires, although
    the static render interval is five minutes (and every template renders, so no retry after
    a failure is what reads it again)."""
    node, root = seeded
    root_token = root.token
    root.sys.enable_secrets_engine("pki", path="pki")
    root.write("pki/root/generate/internal", common_name="example.com", ttl="24h")
    root.write("pki/roles/web", allowed_domains="example.com", allow_subdomains=True, max_ttl="1h",
               generate_lease=True, key_type="ec", key_bits=256)
    (tmp_path / "token").write_text(root_token)
    serial = '{{ with secret "pki/issue/web" "common_name=a.example.com" "ttl=6s" }}{{ .Data.serial_number }}{{ end }}'
    extra = f'template {{\n  contents = {json.dumps(serial)}\n  destination = "{tmp_path}/serial"\n}}'
    agent = Agent(tmp_path, hcl(node, tmp_path, token_file_method(tmp_path), extra=extra, interval="300s"))
    agents.append(agent)
    out = tmp_path / "serial"
    first = wait_until(lambda: out.exists() and out.read_text(), 30, "the first certificate")
    assert len(first.split(":")) >= 8, first
    second = wait_until(lambda: out.read_text() != first and out.read_text(), 20, "a certificate issued again")
    assert second != first
    assert "template not rendered" not in agent.text() and "cycle failed" not in agent.text()


SEED_PASSWORD = "sUp3rS3cUr3P@ssw0rd"


def seed_file(password):
    return f'{{\n  "username" : "dbuser",\n  "password" : "{password}"\n}}\n'


def test_the_injected_sidecar_renders_the_seed_app_through_kubernetes_auth(unsealed, agents, cluster, injector,  # noqa: F811
                                                                          tmp_path):
    """Issue 17's second acceptance: the seed app's pod through the real `coffer injector`, the
    sidecar's config as injected (only the pod's paths and the server's address mapped to this
    machine), a kubernetes login against the fake TokenReview server, the walk-through's file
    exactly; a new password re-rendered; a revoked token replaced by a new login."""
    node, root_token, _ = unsealed
    root = node.client(root_token)
    root.sys.enable_secrets_engine("kv", path="secret", options={"version": "1"})
    root.secrets.kv.v1.create_or_update_secret(path="basic-secret/helloworld", mount_point="secret",
                                               secret={"username": "dbuser", "password": SEED_PASSWORD})
    root.sys.create_or_update_policy("basic-secret-policy", 'path "secret/basic-secret/*" { capabilities = ["read"] }')
    jwt = kubernetes_role(root, cluster, tmp_path / "sa-token")

    pod = seed_pod()
    pod["metadata"]["annotations"]["vault.hashicorp.com/template-static-secret-render-interval"] = "1s"
    status, answer = injector.post(admission_review(pod))
    assert status == 200 and answer["response"]["allowed"] is True, answer
    patched = jsonpatch.apply_patch(pod, decoded_patch(answer["response"]))
    (sidecar,) = [c for c in patched["spec"]["containers"] if c["name"] == "vault-agent"]
    config = injected_config(sidecar)
    assert config["auto_auth"]["method"]["type"] == "kubernetes" and config["exit_after_auth"] is False
    # The pod's filesystem and the service's address, as this machine has them.
    config["vault"]["address"] = node.addr
    config["auto_auth"]["method"]["config"]["token_path"] = str(tmp_path / "sa-token")
    config["auto_auth"]["sink"][0]["config"]["path"] = str(tmp_path / "home" / ".vault-token")
    config["pid_file"] = str(tmp_path / "home" / ".pid")
    (template,) = config["template"]
    assert template["destination"] == "/vault/secrets/helloworld"
    out = tmp_path / "vault" / "secrets" / "helloworld"
    template["destination"] = str(out)

    agent = Agent(tmp_path, json.dumps(config), name="config.json")
    agents.append(agent)
    wait_until(rendered(out, seed_file(SEED_PASSWORD)), 30, "the seed app's file")
    sink = tmp_path / "home" / ".vault-token"
    token = sink.read_text()
    assert node.client(token).auth.token.lookup_self()["data"]["meta"]["role"] == "basic-secret-role"

    root.secrets.kv.v1.create_or_update_secret(path="basic-secret/helloworld", mount_point="secret",
                                               secret={"username": "dbuser", "password": "n3w-P@ss"})
    wait_until(rendered(out, seed_file("n3w-P@ss")), 30, "the new password rendered")

    root.auth.token.revoke(token)
    second = wait_until(lambda: sink.read_text() != token and sink.read_text(), 30, "a new kubernetes login")
    assert node.client(second).auth.token.lookup_self()["data"]["meta"]["service_account_name"] == "basic-secret"
    log = agent.text()
    for secret in (jwt, token, second, SEED_PASSWORD, "n3w-P@ss"):
        assert secret not in log


def test_a_path_the_policy_refuses_fails_its_template_only_and_keeps_the_token(seeded, agents, tmp_path):
    """A 403 from the policy is not a revoked token: no new login each interval; the refused
    template is retried and reported, the others render."""
    node, root = seeded
    approle_files(root, tmp_path)
    denied = 'template {\n  contents = "{{ with secret \\"secret/data/elsewhere\\" }}x{{ end }}"\n' \
             f'  destination = "{tmp_path}/denied"\n}}'
    agent = Agent(tmp_path, hcl(node, tmp_path, approle_method(tmp_path), extra=denied))
    agents.append(agent)
    out = tmp_path / "secrets" / "helloworld"
    wait_until(rendered(out, f'{{"username": "dbuser", "password": "{PASSWORD}"}}'), 30, "the permitted template")
    token = (tmp_path / "sink-token").read_text()
    wait_until(lambda: agent.text().count("template not rendered") >= 3, 30, "three refused rounds")
    assert (tmp_path / "sink-token").read_text() == token
    assert "permission denied" in agent.text() and "secret/data/elsewhere" in agent.text()
    assert not (tmp_path / "denied").exists()
    accessors = root.list("auth/token/accessors")["data"]["keys"]
    # The root token's and the agent's one: no token per refused round.
    assert len(accessors) == 2, accessors


def test_secret_with_parameters_is_a_write_such_as_a_transit_encryption(seeded, tmp_path):
    node, root = seeded
    root.sys.enable_secrets_engine("transit", path="transit")
    root.secrets.transit.create_key(name="app")
    (tmp_path / "token").write_text(root.token)
    encrypt = '{{ with secret "transit/encrypt/app" "plaintext=aGVsbG8gJiBnb29kYnll" }}{{ .Data.ciphertext }}{{ end }}'
    extra = (f'exit_after_auth = true\ntemplate {{\n  contents = {json.dumps(encrypt)}\n'
             f'  destination = "{tmp_path}/ciphertext"\n}}')
    agent = Agent(tmp_path, hcl(node, tmp_path, token_file_method(tmp_path), extra=extra))
    assert agent.proc.wait(timeout=30) == 0, agent.text()
    agent.stop()
    ciphertext = (tmp_path / "ciphertext").read_text()
    assert ciphertext.startswith("vault:v1:"), ciphertext
    plain = root.secrets.transit.decrypt_data(name="app", ciphertext=ciphertext)["data"]["plaintext"]
    assert plain == "aGVsbG8gJiBnb29kYnll"
    assert "aGVsbG8gJiBnb29kYnll" not in agent.text() and ciphertext not in agent.text()
