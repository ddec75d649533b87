"""`service_registration "kubernetes" {}` against a small fake Kubernetes API (HTTPS, the real
wire format: Status objects, JSON patch): three real `coffer server` processes label their own
pods, and the labels follow the cluster through init, a step-down, a SIGKILLed active node, a
restart and a rotated service-account token."""
import json
import subprocess
import os
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonpatch
import pytest
import requests

from conftest import COFFER_BIN, Node, free_port
from test_cluster import health, unseal, wait_until
from test_tls import make_cert

NAMESPACE = "vault"
LABELS = ("coffer-active", "coffer-sealed", "coffer-initialized", "coffer-version")
POD_PATH = "/api/v1/namespaces/{ns}/pods/{name}"


def status_object(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class FakeKubeApi:
    """Pods in one namespace; GET and JSON-patch PATCH of a pod, bearer tokens mapped to the one
    pod each may touch. Anything a real API server would refuse, or that a well-behaved client
    would not send, is answered as the API server does and recorded in `violations`."""

    def __init__(self, workdir, pods):
        self.pods = {name: {"apiVersion": "v1", "kind": "Pod",
                            "metadata": {"name": name, "namespace": NAMESPACE, **meta}}
                     for name, meta in pods.items()}
        self.tokens = {}  # token -> pod name it belongs to
        self.requests = []
        self.violations = []
        self.lock = threading.Lock()
        certs = workdir / "kube-api"
        certs.mkdir()
        self.ca, cert, key = make_cert(certs)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def labels(self, name):
        with self.lock:
            return dict(self.pods[name]["metadata"].get("labels") or {})

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def refuse(self, code, reason, message, violation=True):
                if violation:
                    api.violations.append(f"{self.command} {self.path}: {message}")
                self.reply(code, status_object(code, reason, message))

            def handle_pod(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                auth = self.headers.get("Authorization", "")
                with api.lock:
                    api.requests.append({"method": self.command, "path": self.path, "auth": auth,
                                         "content_type": self.headers.get("Content-Type"), "body": body})
                    owner = api.tokens.get(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None
                    if owner is None:
                        # Not a violation: a rotated token is refused this way, and the client must recover.
                        return self.refuse(401, "Unauthorized", "Unauthorized", violation=False)
                    parts = self.path.split("/")
                    if len(parts) != 7 or parts[:5] != ["", "api", "v1", "namespaces", NAMESPACE] or parts[5] != "pods":
                        return self.refuse(404, "NotFound", f"no such path {self.path}")
                    name = parts[6]
                    if name != owner:
                        return self.refuse(403, "Forbidden", f"token of {owner} used on pod {name}")
                    pod = api.pods.get(name)
                    if pod is None:
                        return self.refuse(404, "NotFound", f'pods "{name}" not found')
                    if self.command == "GET":
                        if body:
                            api.violations.append(f"GET with a body: {body!r}")
                        return self.reply(200, pod)
                    if self.headers.get("Content-Type") != "application/json-patch+json":
                        return self.refuse(415, "UnsupportedMediaType",
                                           f"unsupported content type {self.headers.get('Content-Type')}")
                    try:
                        ops = json.loads(body)
                    except ValueError:
                        return self.refuse(400, "BadRequest", "patch is not JSON")
                    for op in ops if isinstance(ops, list) else [None]:
                        ok = (isinstance(op, dict) and op.get("op") == "add"
                              and (op.get("path") == "/metadata/labels"
                                   or op.get("path", "").removeprefix("/metadata/labels/") in LABELS)
                              and (isinstance(op.get("value"), str) or op.get("value") == {}))
                        if not ok:
                            return self.refuse(422, "Invalid", f"unexpected patch operation {op!r}")
                    try:
                        api.pods[name] = jsonpatch.apply_patch(pod, ops)
                    except jsonpatch.JsonPatchException as e:
                        return self.refuse(422, "Invalid", f"the patch does not apply: {e}")
                    return self.reply(200, api.pods[name])

            def do_GET(self):
                self.handle_pod()

            def do_PATCH(self):
                self.handle_pod()

            def do_PUT(self):
                self.refuse(405, "MethodNotAllowed", "PUT is not what a label update needs")

            def do_POST(self):
                self.refuse(405, "MethodNotAllowed", "POST is not what a label update needs")

        return Handler


class PodNode(Node):
    """A coffer server as one pod would run it: in-cluster environment, its own token."""

    def __init__(self, workdir, name, api, retry_join=()):
        super().__init__(workdir, name, retry_join=retry_join, extra_config='service_registration "kubernetes" {}')
        self.api = api
        self.sa_dir = workdir / f"{name}-serviceaccount"
        self.sa_dir.mkdir()
        (self.sa_dir / "ca.crt").write_bytes(api.ca.read_bytes())
        (self.sa_dir / "namespace").write_text(NAMESPACE)
        self.rotate_token()

    def join_everyone(self, nodes):
        """retry_join every pod, itself included, as the chart's config does."""
        joins = "\n".join(f'  retry_join {{ leader_api_addr = "{n.addr}" }}' for n in nodes)
        text = self.config.read_text()
        anchor = f'  node_id = "{self.name}"\n'
        assert anchor in text
        self.config.write_text(text.replace(anchor, anchor + joins + "\n"))

    def rotate_token(self, write_file=True, accept=True):
        """A new token for this pod: the API accepts it (and no longer the old one) when
        `accept`; the file gets it when `write_file` (kubelet writes it)."""
        self.token = f"token-{self.name}-{time.monotonic_ns()}"
        with self.api.lock:
            if accept:
                for t in [t for t, owner in self.api.tokens.items() if owner == self.name]:
                    del self.api.tokens[t]
                self.api.tokens[self.token] = self.name
        if write_file:
            (self.sa_dir / "token").write_text(self.token + "\n")

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "KUBERNETES_"))}
        env.update(KUBERNETES_SERVICE_HOST="127.0.0.1", KUBERNETES_SERVICE_PORT=str(self.api.port),
                   COFFER_K8S_SERVICEACCOUNT_DIR=str(self.sa_dir), VAULT_K8S_POD_NAME=self.name)
        return env

    def start(self):
        log = open(self.log, "ab")
        self.proc = subprocess.Popen([COFFER_BIN, "server", f"-config={self.config}"],
                                     stdout=log, stderr=subprocess.STDOUT, env=self.env())
        self.wait_responding()
        return self


def version():
    out = subprocess.run([COFFER_BIN, "version"], capture_output=True, text=True, check=True).stdout
    return out.split()[1].lstrip("v")


def wait_labels(api, name, what, timeout=30.0, **want):
    """Until pod `name` carries every label in `want` (coffer_active=True -> coffer-active: "true")."""
    expected = {k.replace("_", "-"): str(v).lower() for k, v in want.items()}

    def matches():
        labels = api.labels(name)
        return all(labels.get(k) == v for k, v in expected.items())

    try:
        wait_until(matches, timeout=timeout, what=f"{name}: {what}")
    except TimeoutError:
        raise AssertionError(f"{name} never got {expected} ({what}); has {api.labels(name)}")


def active_pods(api, names):
    return [n for n in names if api.labels(n).get("coffer-active") == "true"]


@pytest.fixture
def kube(tmp_path):
    api = FakeKubeApi(tmp_path, {
        "coffer-0": {"labels": {"app.kubernetes.io/name": "coffer"}},
        "coffer-1": {"labels": {"app.kubernetes.io/name": "coffer", "coffer-active": "stale"}},
        "coffer-2": {},  # no labels map at all
    })
    yield api
    api.close()


@pytest.fixture
def pods(tmp_path, kube):
    nodes = [PodNode(tmp_path, f"coffer-{i}", kube) for i in range(3)]
    for n in nodes:
        n.join_everyone(nodes)
        n.start()
    yield nodes
    for n in nodes:
        n.stop()


def form_like_an_operator(pods):
    """`operator init` on pod 0 and unseal it; the others find it through retry_join by
    themselves and only need their keys. Returns (keys, root)."""
    n0 = pods[0]
    init = n0.client().sys.initialize(secret_shares=3, secret_threshold=2)
    keys, root = init["keys"], init["root_token"]
    assert unseal(n0, keys[:2])["sealed"] is False
    wait_until(lambda: health(n0) == 200, what="coffer-0 active")
    for n in pods[1:]:
        wait_until(lambda: n.client().sys.read_seal_status()["initialized"], what=f"{n.name} challenge")
        assert unseal(n, keys[1:3])["sealed"] is False
    return keys, root


def test_labels_follow_the_cluster_through_failover(kube, pods):
    n0, n1, n2 = pods
    names = [n.name for n in pods]
    ver = version()
    for name in names:
        wait_labels(kube, name, "a fresh sealed node", coffer_active=False, coffer_sealed=True,
                    coffer_initialized=False, coffer_version=ver)
    assert kube.labels("coffer-0")["app.kubernetes.io/name"] == "coffer", "other labels are kept"

    keys, root = form_like_an_operator(pods)
    wait_labels(kube, "coffer-0", "the first active node", coffer_active=True, coffer_sealed=False, coffer_initialized=True)
    for name in ("coffer-1", "coffer-2"):
        wait_labels(kube, name, "an unsealed standby", coffer_active=False, coffer_sealed=False, coffer_initialized=True)
    # The chart's readiness probe lets standbys serve (they forward), as well as the active node.
    for n in pods:
        assert requests.get(f"{n.addr}/v1/sys/health?standbyok=true", timeout=5).status_code == 200

    # A graceful failover: the active node steps down, another takes over, labels swap.
    requests.put(f"{n0.addr}/v1/sys/step-down", headers={"X-Vault-Token": root}, timeout=30).raise_for_status()
    new_active = wait_until(lambda: [n for n in (n1, n2) if health(n) == 200], what="a new active node")[0]
    wait_labels(kube, new_active.name, "the new active node", coffer_active=True)
    wait_labels(kube, "coffer-0", "the stepped-down node", coffer_active=False, coffer_sealed=False)
    assert active_pods(kube, names) == [new_active.name]

    # The active node is SIGKILLed: a survivor takes over and labels itself.
    new_active.kill()
    survivors = [n for n in pods if n is not new_active]
    successor = wait_until(lambda: [n for n in survivors if health(n) == 200], what="a successor")[0]
    wait_labels(kube, successor.name, "the successor", coffer_active=True, coffer_sealed=False)
    for n in survivors:
        if n is not successor:
            wait_labels(kube, n.name, "the other survivor", coffer_active=False)

    # The killed pod comes back sealed (Shamir), says so, and becomes a standby once unsealed.
    new_active.start()
    wait_labels(kube, new_active.name, "restarted, sealed", coffer_active=False, coffer_sealed=True, coffer_initialized=True)
    assert unseal(new_active, keys[:2])["sealed"] is False
    wait_labels(kube, new_active.name, "unsealed again", coffer_active=False, coffer_sealed=False)
    assert active_pods(kube, names) == [successor.name]

    for r in kube.requests:
        assert r["path"] in {POD_PATH.format(ns=NAMESPACE, name=n) for n in names}, r
        assert r["method"] in ("GET", "PATCH"), r
        if r["method"] == "PATCH":
            assert r["content_type"] == "application/json-patch+json", r
    patches = [json.loads(r["body"]) for r in kube.requests if r["method"] == "PATCH"]
    assert patches and all(op["op"] == "add" for p in patches for op in p)
    assert {op["path"] for p in patches for op in p} == {"/metadata/labels"} | {f"/metadata/labels/{l}" for l in LABELS}, \
        "only the labels map of coffer-2 (which had none) and the four labels are ever written"
    assert kube.violations == []


def test_a_rotated_token_is_read_again_after_a_401(kube, tmp_path):
    node = PodNode(tmp_path, "coffer-0", kube).start()
    try:
        wait_labels(kube, "coffer-0", "a fresh sealed node", coffer_sealed=True, coffer_initialized=False)
        # The API stops accepting the token before kubelet has written the new one.
        node.rotate_token(write_file=False)
        refused_before = sum(1 for r in kube.requests if r["auth"] != f"Bearer {node.token}")
        result = node.client().sys.initialize(secret_shares=1, secret_threshold=1)
        wait_until(lambda: sum(1 for r in kube.requests if r["auth"] != f"Bearer {node.token}") > refused_before + 1,
                   what="the refused token retried after a 401")
        assert kube.labels("coffer-0")["coffer-initialized"] == "false", "refused patches changed nothing"
        # kubelet writes the token: the node reads it again and catches up, without a restart.
        (node.sa_dir / "token").write_text(node.token)
        node.client().sys.submit_unseal_key(result["keys"][0])
        wait_labels(kube, "coffer-0", "caught up with the new token", coffer_active=True, coffer_sealed=False,
                    coffer_initialized=True)
        assert any(r["auth"] == f"Bearer {node.token}" and r["method"] == "PATCH" for r in kube.requests)
        assert kube.violations == []
    finally:
        node.stop()


def test_without_the_in_cluster_environment_the_server_says_why(tmp_path):
    node = Node(tmp_path, "lonely", extra_config='service_registration "kubernetes" {}')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "KUBERNETES_"))}
    result = subprocess.run([COFFER_BIN, "server", f"-config={node.config}"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "KUBERNETES_SERVICE_HOST" in result.stderr + result.stdout
    # The same file is a valid config: -check looks at the file, not at the pod around it.
    checked = subprocess.run([COFFER_BIN, "server", f"-config={node.config}", "-check"], env=env,
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
