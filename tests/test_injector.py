"""`coffer injector`, the mutating admission webhook: started with auto TLS (its own CA, given to
a fake Kubernetes API as the MutatingWebhookConfiguration's caBundle through a real JSON-patch
PATCH), sent the seed app's pod wrapped in an AdmissionReview as kube-apiserver sends it, over
HTTPS verified with that CA. The returned patch is applied with `jsonpatch`; the patched pod must
validate against Kubernetes 1.32 and carry the agent init container, the sidecar, the in-memory
secrets volume and mounts, and the agent config the agent reads."""
import base64
import copy
import json
import os
import ssl
import subprocess
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonpatch
import kubernetes_validate
import pytest
import urllib3
import yaml

from conftest import COFFER_BIN, free_port
from test_cluster import wait_until
from test_tls import make_cert

# A copy of the walk-through's application (the pod template carries only the annotations).
SEED_APP = Path(__file__).resolve().parent / "fixtures" / "seed-app.yaml"
KUBERNETES_VERSION = "1.32.0"
NAMESPACE = "vault"
SERVICE = "coffer-agent-injector-svc"
SERVER_NAME = f"{SERVICE}.{NAMESPACE}.svc"
WEBHOOK_CONFIG = "coffer-agent-injector-cfg"
CONFIG_PATH = f"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{WEBHOOK_CONFIG}"
VAULT_ADDR = "https://coffer.vault.svc:8200"
TOKEN = "injector-sa-token"
TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def status_object(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class FakeWebhookApi:
    """One MutatingWebhookConfiguration behind a TLS API server: GET it, PATCH it with a JSON
    patch (application/json-patch+json), bearer token required, as kube-apiserver answers."""

    def __init__(self, workdir):
        self.config = {
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": WEBHOOK_CONFIG, "resourceVersion": "1"},
            "webhooks": [{"name": "vault.hashicorp.com", "sideEffects": "None",
                          "admissionReviewVersions": ["v1"],
                          "clientConfig": {"service": {"name": SERVICE, "namespace": NAMESPACE,
                                                       "path": "/mutate"}}}],
        }
        self.patches = []
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
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def ca_bundle(self):
        with self.lock:
            return self.config["webhooks"][0]["clientConfig"].get("caBundle")

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

            def refuse(self, code, reason, message):
                api.violations.append(f"{self.command} {self.path}: {message}")
                self.reply(code, status_object(code, reason, message))

            def handle_config(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self.refuse(401, "Unauthorized", "Unauthorized")
                if self.path != CONFIG_PATH:
                    return self.refuse(404, "NotFound", f"no such path {self.path}")
                with api.lock:
                    if self.command == "GET":
                        return self.reply(200, api.config)
                    if self.headers.get("Content-Type") != "application/json-patch+json":
                        return self.refuse(415, "UnsupportedMediaType", self.headers.get("Content-Type"))
                    try:
                        ops = json.loads(body)
                        patched = jsonpatch.apply_patch(api.config, ops)
                    except (ValueError, jsonpatch.JsonPatchException) as e:
                        return self.refuse(422, "Invalid", f"the patch does not apply: {e}")
                    for hook in patched["webhooks"]:
                        # caBundle is []byte: JSON carries it as base64, and it must be PEM.
                        pem = base64.b64decode(hook["clientConfig"].get("caBundle", ""), validate=True)
                        if not pem.startswith(b"-----BEGIN CERTIFICATE-----"):
                            return self.refuse(422, "Invalid", "caBundle is not a PEM certificate")
                    patched["metadata"]["resourceVersion"] = str(int(api.config["metadata"]["resourceVersion"]) + 1)
                    api.config = patched
                    api.patches.append(ops)
                    return self.reply(200, patched)

            def do_GET(self):
                self.handle_config()

            def do_PATCH(self):
                self.handle_config()

        return Handler


class Injector:
    def __init__(self, workdir, api):
        self.port = free_port()
        self.log = workdir / "injector.log"
        sa_dir = workdir / "injector-serviceaccount"
        sa_dir.mkdir()
        (sa_dir / "ca.crt").write_bytes(api.ca.read_bytes())
        (sa_dir / "namespace").write_text(NAMESPACE)
        (sa_dir / "token").write_text(TOKEN + "\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "KUBERNETES_", "AGENT_INJECT_"))}
        env.update(KUBERNETES_SERVICE_HOST="127.0.0.1", KUBERNETES_SERVICE_PORT=str(api.port),
                   COFFER_K8S_SERVICEACCOUNT_DIR=str(sa_dir),
                   AGENT_INJECT_TLS_AUTO=WEBHOOK_CONFIG,
                   AGENT_INJECT_TLS_AUTO_HOSTS=f"{SERVICE},{SERVICE}.{NAMESPACE},{SERVER_NAME}")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [COFFER_BIN, "injector", f"-listen=127.0.0.1:{self.port}", "-agent-image=coffer:test",
                 f"-vault-address={VAULT_ADDR}", "-log-level=debug"],
                stdout=log, stderr=subprocess.STDOUT, env=env)
        self.api = api
        wait_until(lambda: api.ca_bundle() is not None or self.proc.poll() is not None,
                   timeout=30, what="the injector patches the caBundle")
        assert self.proc.poll() is None, self.log.read_text()
        self.ca_file = workdir / "injector-ca.pem"
        self.ca_file.write_bytes(base64.b64decode(api.ca_bundle()))
        # The API server dials the service name; the certificate must be valid for it.
        self.pool = urllib3.HTTPSConnectionPool("127.0.0.1", self.port, ca_certs=str(self.ca_file),
                                                cert_reqs="CERT_REQUIRED", server_hostname=SERVER_NAME,
                                                assert_hostname=SERVER_NAME, retries=False)

    def post(self, review, content_type="application/json"):
        r = self.pool.request("POST", "/mutate?timeout=10s", body=json.dumps(review).encode(),
                              headers={"Content-Type": content_type})
        return r.status, json.loads(r.data)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def injector(tmp_path):
    api = FakeWebhookApi(tmp_path)
    inj = Injector(tmp_path, api)
    yield inj
    inj.stop()
    api.close()
    assert api.violations == [], api.violations


def seed_pod():
    """The Deployment's pod as kube-apiserver hands it to webhooks on CREATE: the template's
    metadata and spec, a generateName from the ReplicaSet, the defaults and the service account
    token volume the built-in admission plugins (ServiceAccount) have already added."""
    (deployment,) = [d for d in yaml.safe_load_all(SEED_APP.read_text()) if d["kind"] == "Deployment"]
    template = copy.deepcopy(deployment["spec"]["template"])
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {**template["metadata"], "generateName": "basic-secret-5d8f7c9b6d-",
                        "namespace": "example-app", "creationTimestamp": None},
           "spec": template["spec"]}
    spec = pod["spec"]
    token_volume = "kube-api-access-7xk2p"
    spec["volumes"] = [{"name": token_volume, "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
    ]}}]
    for c in spec["containers"]:
        c.update(imagePullPolicy="IfNotPresent", terminationMessagePath="/dev/termination-log",
                 terminationMessagePolicy="File", resources={})
        c["volumeMounts"] = [{"name": token_volume, "mountPath": TOKEN_DIR, "readOnly": True}]
    spec.update(dnsPolicy="ClusterFirst", restartPolicy="Always", schedulerName="default-scheduler",
                securityContext={}, serviceAccount="basic-secret", terminationGracePeriodSeconds=30,
                enableServiceLinks=True, preemptionPolicy="PreemptLowerPriority", priority=0)
    return pod


def admission_review(pod, operation="CREATE"):
    """An AdmissionReview exactly as kube-apiserver's MutatingAdmissionWebhook sends one."""
    return {
        "kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
            "requestResource": {"group": "", "version": "v1", "resource": "pods"},
            "name": "", "namespace": "example-app", "operation": operation,
            "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller",
                         "uid": "1f0c7a4e-8d2b-4a55-9d6e-0b7c1c1d2e3f",
                         "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system",
                                    "system:authenticated"]},
            "object": pod, "oldObject": None, "dryRun": False,
            "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"},
        },
    }


def decoded_patch(response):
    assert response["patchType"] == "JSONPatch", response
    return json.loads(base64.b64decode(response["patch"]))


def agent_config(container):
    env = {e["name"]: e.get("value") for e in container["env"]}
    return json.loads(base64.b64decode(env["VAULT_CONFIG"]))


def test_seed_app_pod_gets_the_agent_and_validates_as_kubernetes_1_32(injector):
    pod = seed_pod()
    review = admission_review(pod)
    status, answer = injector.post(review)
    assert status == 200, answer
    assert answer["apiVersion"] == "admission.k8s.io/v1" and answer["kind"] == "AdmissionReview"
    response = answer["response"]
    assert response["uid"] == review["request"]["uid"]
    assert response["allowed"] is True
    ops = decoded_patch(response)
    assert "/metadata/annotations/vault.hashicorp.com~1agent-inject-status" in [o["path"] for o in ops]
    patched = jsonpatch.apply_patch(pod, ops)
    obj = {k: v for k, v in patched.items()}
    obj["metadata"] = {k: v for k, v in obj["metadata"].items() if v is not None}
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        pytest.fail(f"the injected pod is not valid {KUBERNETES_VERSION}: {e}")

    spec = patched["spec"]
    assert patched["metadata"]["annotations"]["vault.hashicorp.com/agent-inject-status"] == "injected"
    volumes = {v["name"]: v for v in spec["volumes"]}
    for name in ("vault-secrets", "home-init", "home-sidecar"):
        assert volumes[name] == {"name": name, "emptyDir": {"medium": "Memory"}}
    assert "kube-api-access-7xk2p" in volumes
    (init,) = spec["initContainers"]
    app, sidecar = spec["containers"]
    assert (init["name"], sidecar["name"], app["name"]) == ("vault-agent-init", "vault-agent", "app")
    assert {"name": "vault-secrets", "mountPath": "/vault/secrets"} in app["volumeMounts"]
    template = pod["metadata"]["annotations"]["vault.hashicorp.com/agent-inject-template-helloworld"]
    for c, home, exit_after_auth in ((init, "home-init", True), (sidecar, "home-sidecar", False)):
        assert c["image"] == "coffer:test"
        assert c["command"] == ["/bin/sh", "-ec"]
        assert c["args"] == ["echo ${VAULT_CONFIG?} | base64 -d > /home/vault/config.json && "
                             "coffer agent -config=/home/vault/config.json"]
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        assert mounts == {"/home/vault": home, "/vault/secrets": "vault-secrets",
                          TOKEN_DIR: "kube-api-access-7xk2p"}
        assert c["securityContext"]["runAsUser"] == 100 and c["securityContext"]["runAsGroup"] == 1000
        assert c["resources"] == {"limits": {"cpu": "500m", "memory": "128Mi"},
                                  "requests": {"cpu": "250m", "memory": "64Mi"}}
        assert agent_config(c) == {
            "auto_auth": {
                "method": {"type": "kubernetes", "mount_path": "auth/kubernetes",
                           "config": {"role": "basic-secret-role",
                                      "token_path": f"{TOKEN_DIR}/token"}},
                "sink": [{"type": "file", "config": {"path": "/home/vault/.vault-token"}}],
            },
            "exit_after_auth": exit_after_auth,
            "pid_file": "/home/vault/.pid",
            "vault": {"address": VAULT_ADDR, "tls_skip_verify": True, "ca_cert": ""},
            "template": [{"destination": "/vault/secrets/helloworld", "contents": template,
                          "left_delimiter": "{{", "right_delimiter": "}}", "command": "",
                          "error_on_missing_key": False}],
            "template_config": {"exit_on_retry_failure": True, "static_secret_render_interval": ""},
        }

    # The injected pod, sent again (e.g. a re-invocation), is left alone.
    status, again = injector.post(admission_review(patched))
    assert status == 200 and again["response"]["allowed"] is True
    assert "patch" not in again["response"] and "patchType" not in again["response"]


def test_pods_without_the_annotation_are_never_touched(injector):
    pod = seed_pod()
    pod["metadata"]["annotations"] = {"unrelated": "x"}
    review = admission_review(pod)
    status, answer = injector.post(review)
    assert status == 200
    assert answer["response"] == {"uid": review["request"]["uid"], "allowed": True}
    pod["metadata"]["annotations"]["vault.hashicorp.com/agent-inject"] = "false"
    assert "patch" not in injector.post(admission_review(pod))[1]["response"]


def test_annotation_options_shape_the_patch(injector):
    pod = seed_pod()
    notes = pod["metadata"]["annotations"]
    notes.update({
        "vault.hashicorp.com/agent-pre-populate-only": "true",
        "vault.hashicorp.com/agent-inject-file-helloworld": "config.json",
        "vault.hashicorp.com/agent-inject-secret-plain": "secret/basic-secret/plain",
        "vault.hashicorp.com/agent-inject-command-plain": "touch /vault/secrets/done",
        "vault.hashicorp.com/auth-path": "k8s-east",
        "vault.hashicorp.com/service": "http://coffer.other:8200",
        "vault.hashicorp.com/agent-limits-mem": "256Mi",
        "vault.hashicorp.com/agent-run-as-user": "2000",
    })
    status, answer = injector.post(admission_review(pod))
    patched = jsonpatch.apply_patch(pod, decoded_patch(answer["response"]))
    assert [c["name"] for c in patched["spec"]["containers"]] == ["app"]
    assert "home-sidecar" not in {v["name"] for v in patched["spec"]["volumes"]}
    (init,) = patched["spec"]["initContainers"]
    config = agent_config(init)
    assert config["auto_auth"]["method"]["mount_path"] == "auth/k8s-east"
    assert config["vault"]["address"] == "http://coffer.other:8200"
    by_dest = {t["destination"]: t for t in config["template"]}
    assert set(by_dest) == {"/vault/secrets/config.json", "/vault/secrets/plain"}
    assert by_dest["/vault/secrets/plain"]["command"] == "touch /vault/secrets/done"
    assert by_dest["/vault/secrets/plain"]["contents"] == (
        '{{ with secret "secret/basic-secret/plain" }}{{ range $k, $v := .Data }}'
        "{{ $k }}: {{ $v }}\n{{ end }}{{ end }}")
    assert init["resources"]["limits"]["memory"] == "256Mi"
    assert init["securityContext"]["runAsUser"] == 2000


def test_bad_annotations_refuse_the_pod_with_a_message(injector):
    pod = seed_pod()
    pod["metadata"]["annotations"]["vault.hashicorp.com/agent-limits-cpu"] = "a lot"
    review = admission_review(pod)
    status, answer = injector.post(review)
    assert status == 200
    response = answer["response"]
    assert response["uid"] == review["request"]["uid"] and response["allowed"] is False
    assert "agent-limits-cpu" in response["status"]["message"], response
    assert "patch" not in response


def test_what_is_not_an_admission_review_is_a_client_error(injector):
    status, body = injector.post({"kind": "Pod"})
    assert status == 400 and body["errors"], body
    status, body = injector.post(admission_review(seed_pod()), content_type="text/plain")
    assert status == 415, body
    r = injector.pool.request("GET", "/health/ready")
    assert r.status in (200, 204)


def test_the_ca_bundle_patch_reached_the_api_server(injector):
    (ops,) = injector.api.patches
    assert ops == [{"op": "add", "path": "/webhooks/0/clientConfig/caBundle",
                    "value": injector.api.ca_bundle()}]
    pem = base64.b64decode(injector.api.ca_bundle()).decode()
    assert pem.startswith("-----BEGIN CERTIFICATE-----")
    # The serving certificate is not trusted without that CA.
    plain = urllib3.HTTPSConnectionPool("127.0.0.1", injector.port, cert_reqs="CERT_REQUIRED",
                                        server_hostname=SERVER_NAME, retries=False)
    with pytest.raises(urllib3.exceptions.SSLError):
        plain.request("GET", "/health/ready")
