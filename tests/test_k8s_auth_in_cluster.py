"""Vault's in-cluster Kubernetes auth walk-through: `write auth/kubernetes/config
kubernetes_host=https://...` and nothing else, the node running as a pod would, its own service
account doing the TokenReview. The pod's service account directory (token, ca.crt) is a
directory of the test's, named by COFFER_K8S_SERVICEACCOUNT_DIR; the API server is the HTTPS
TokenReview fake of test_k8s_auth.py, with a certificate signed by the CA in that ca.crt, and it
accepts no bearer but the pod's own token."""
import json
import shutil

import pytest

from conftest import Node, cli, http
from test_k8s_auth import POLICY, REVIEW_PATH, TokenReviewServer, make_ca, service_account_jwt


class Pod:
    """The node, its service account directory, and the fake API server."""

    def __init__(self, node, sa_dir, api, root):
        self.node, self.sa_dir, self.api, self.root = node, sa_dir, api, root

    def own_token(self, jwt):
        """What the kubelet does when it rotates the projected token: a new file content."""
        (self.sa_dir / "token").write_text(jwt)
        self.api.bearers = {jwt}
        return jwt

    def write(self, *args, check=True):
        return cli(self.node, "write", *args, token=self.root, check=check)

    def login(self, jwt, role="basic-secret-role"):
        return http(self.node, "POST", "auth/kubernetes/login", json={"role": role, "jwt": jwt})


@pytest.fixture
def pod(tmp_path, monkeypatch):
    ca, cert, key = make_ca(tmp_path, "apiserver")
    sa_dir = tmp_path / "serviceaccount"
    sa_dir.mkdir()
    shutil.copy(ca, sa_dir / "ca.crt")
    (sa_dir / "namespace").write_text("vault")
    api = TokenReviewServer(cert, key)
    monkeypatch.setenv("COFFER_K8S_SERVICEACCOUNT_DIR", str(sa_dir))
    node = Node(tmp_path).start()
    try:
        init = json.loads(cli(node, "operator", "init", "-key-shares=1", "-key-threshold=1", "-format=json").stdout)
        cli(node, "operator", "unseal", init["unseal_keys_b64"][0])
        p = Pod(node, sa_dir, api, init["root_token"])
        p.own_token(service_account_jwt("vault", "coffer"))
        cli(node, "auth", "enable", "kubernetes", token=p.root)
        # The walk-through's config: the API server's address, nothing else.
        p.write("auth/kubernetes/config", f"kubernetes_host=https://127.0.0.1:{api.port}")
        p.write("auth/kubernetes/role/basic-secret-role", "bound_service_account_names=basic-secret",
                "bound_service_account_namespaces=example-app", "policies=basic-secret-policy", "ttl=1h")
        policy_file = tmp_path / "basic-secret-policy.hcl"
        policy_file.write_text(POLICY)
        cli(node, "policy", "write", "basic-secret-policy", str(policy_file), token=p.root)
        cli(node, "secrets", "enable", "-path=secret/", "kv", token=p.root)
        cli(node, "kv", "put", "secret/basic-secret/helloworld", "password=a63e8938dcc0", token=p.root)
        yield p
    finally:
        node.stop()
        api.stop()


def app_jwt(api, namespace="example-app", name="basic-secret"):
    return api.admit(service_account_jwt(namespace, name), namespace, name)


def test_the_pods_own_token_reviews_over_the_pods_own_ca(pod):
    config = json.loads(cli(pod.node, "read", "-format=json", "auth/kubernetes/config", token=pod.root).stdout)["data"]
    assert config["kubernetes_ca_cert"] == "" and config["token_reviewer_jwt_set"] is False
    assert config["disable_local_ca_jwt"] is False

    jwt = app_jwt(pod.api)
    r = pod.login(jwt)
    assert r.status_code == 200, r.text
    token = r.json()["auth"]["client_token"]
    (seen,) = pod.api.requests
    assert seen["path"] == REVIEW_PATH
    assert seen["authorization"] == f"Bearer {(pod.sa_dir / 'token').read_text()}"
    assert seen["body"]["spec"]["token"] == jwt
    secret = json.loads(cli(pod.node, "kv", "get", "-format=json", "secret/basic-secret/helloworld", token=token).stdout)
    assert secret["data"] == {"password": "a63e8938dcc0"}

    # The app's JWT itself is no reviewer here: the API server refuses it as a bearer, and the
    # node never offers it while it has a token of its own.
    assert all(req["authorization"] != f"Bearer {jwt}" for req in pod.api.requests)


def test_a_rotated_token_file_is_used_at_the_next_login(pod):
    first = (pod.sa_dir / "token").read_text()
    assert pod.login(app_jwt(pod.api)).status_code == 200
    # The cluster stops accepting the old token before the kubelet has written the new one.
    pod.api.bearers = set()
    r = pod.login(app_jwt(pod.api))
    assert r.status_code == 403 and r.json() == {"errors": ["permission denied"]}
    assert pod.api.requests[-1]["authorization"] == f"Bearer {first}"
    rotated = pod.own_token(service_account_jwt("vault", "coffer"))
    assert rotated != first
    r = pod.login(app_jwt(pod.api))
    assert r.status_code == 200, r.text
    assert pod.api.requests[-1]["authorization"] == f"Bearer {rotated}"


def test_the_api_server_is_verified_against_the_local_ca(pod, tmp_path):
    other_ca, _, _ = make_ca(tmp_path, "other")
    shutil.copy(other_ca, pod.sa_dir / "ca.crt")
    r = pod.login(app_jwt(pod.api))
    assert r.status_code == 403
    assert pod.api.requests == [], "nothing is sent over a connection the local CA does not vouch for"
    (pod.sa_dir / "ca.crt").unlink()
    r = pod.login(app_jwt(pod.api))
    assert r.status_code == 500
    assert r.json()["errors"] == [f"open {pod.sa_dir / 'ca.crt'}: no such file or directory"]


def test_a_ca_is_required_where_no_local_one_exists_as_vault_requires(pod, tmp_path):
    host = f"kubernetes_host=https://127.0.0.1:{pod.api.port}"
    out = pod.write("auth/kubernetes/config", host, "disable_local_ca_jwt=true", check=False)
    assert out.returncode == 2 and "Code: 400" in out.stderr
    assert "kubernetes_ca_cert must be given when disable_local_ca_jwt is true" in out.stderr
    r = http(pod.node, "POST", "auth/kubernetes/config", token=pod.root,
             json={"kubernetes_host": f"https://127.0.0.1:{pod.api.port}", "disable_local_ca_jwt": True})
    assert r.status_code == 400
    assert r.json() == {"errors": ["kubernetes_ca_cert must be given when disable_local_ca_jwt is true"]}

    (pod.sa_dir / "ca.crt").unlink()
    r = http(pod.node, "POST", "auth/kubernetes/config", token=pod.root,
             json={"kubernetes_host": f"https://127.0.0.1:{pod.api.port}"})
    assert r.status_code == 400
    assert r.json() == {"errors": [f"open {pod.sa_dir / 'ca.crt'}: no such file or directory"]}

    # disable_local_ca_jwt with a CA: neither local file is used; the app's JWT reviews itself.
    pod.write("auth/kubernetes/config", host, f"kubernetes_ca_cert=@{tmp_path / 'apiserver-ca.pem'}",
              "disable_local_ca_jwt=true")
    jwt = app_jwt(pod.api)
    pod.api.bearers.add(jwt)
    assert pod.login(jwt).status_code == 200
    assert pod.api.requests[-1]["authorization"] == f"Bearer {jwt}"


def test_names_and_namespaces_may_both_be_any(pod):
    pod.write("auth/kubernetes/role/anyone", "bound_service_account_names=*",
              "bound_service_account_namespaces=*", "policies=default")
    role = json.loads(cli(pod.node, "read", "-format=json", "auth/kubernetes/role/anyone", token=pod.root).stdout)
    assert role["data"]["bound_service_account_names"] == ["*"]
    r = pod.login(app_jwt(pod.api, "team-b", "worker"), role="anyone")
    assert r.status_code == 200, r.text
    assert r.json()["auth"]["metadata"]["service_account_namespace"] == "team-b"
    out = pod.write("auth/kubernetes/role/mixed", "bound_service_account_names=*,web",
                    "bound_service_account_namespaces=*", check=False)
    assert out.returncode == 2 and 'can not mix "*" with values' in out.stderr
