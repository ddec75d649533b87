"""`coffer csi-provider` driven as the Secrets Store CSI driver drives a provider: Mount requests
with the SecretProviderClass parameters, the pod's identity and the service account token JSON
the driver adds, over the unix socket, through a gRPC client generated from the vendored proto.
Coffer's kubernetes auth checks the pod's token against the fake TokenReview server of
test_k8s_auth."""
import base64
import json
import tempfile
from pathlib import Path

import grpc
import pytest

from conftest import cli, http, init_and_unseal
from k8s_grpc import Plugin, csi_stubs
from test_k8s_auth import cluster, service_account_jwt  # noqa: F401 (the TokenReview fixture)

POLICY = 'path "secret/data/db" { capabilities = ["read"] }\n'
OBJECTS = """
- objectName: db-password
  secretPath: secret/data/db
  secretKey: password
- objectName: config/db.json
  secretPath: secret/data/db
  filePermission: "0600"
- objectName: tls.bin
  secretPath: secret/data/db
  secretKey: blob
  encoding: base64
"""
BLOB = bytes(range(256))


@pytest.fixture
def provider(node, cluster, tmp_path):
    """An unsealed node with kubernetes auth (role `app` bound to default/web), a KV v2 secret,
    and the provider on its socket: (node, root, stub, messages, tmp_path)."""
    root, _ = init_and_unseal(node)
    reviewer = service_account_jwt("kube-system", "coffer-auth")
    cluster.bearers.add(reviewer)
    cli(node, "auth", "enable", "kubernetes", token=root)
    cli(node, "write", "auth/kubernetes/config", f"kubernetes_host=https://127.0.0.1:{cluster.port}",
        f"kubernetes_ca_cert=@{cluster.ca}", f"token_reviewer_jwt={reviewer}", token=root)
    cli(node, "write", "auth/kubernetes/role/app", "bound_service_account_names=web",
        "bound_service_account_namespaces=default", "policies=db", "ttl=10m", token=root)
    http(node, "PUT", "sys/policies/acl/db", token=root, json={"policy": POLICY}).raise_for_status()
    cli(node, "secrets", "enable", "-path=secret", "-version=2", "kv", token=root)
    cli(node, "kv", "put", "secret/db", "password=hunter2", "username=app",
        f"blob={base64.b64encode(BLOB).decode()}", token=root)
    socket = Path(tempfile.mkdtemp(prefix="csi", dir="/tmp")) / "coffer.sock"
    plugin = Plugin(tmp_path, "csi-provider", ["csi-provider", f"-endpoint={socket}", "-timeout=10s"], socket,
                    env={"VAULT_ADDR": node.addr})
    messages, services = csi_stubs()
    yield node, root, services.CSIDriverProviderStub(plugin.channel), messages, tmp_path
    plugin.stop()


def mount_request(pb, jwt, target, current=()):
    """A MountRequest as the driver builds it: the SecretProviderClass parameters plus the pod's
    attributes and the token JSON of its tokenRequests (audience "")."""
    attributes = {
        "roleName": "app",
        "objects": OBJECTS,
        "csi.storage.k8s.io/pod.name": "web-0",
        "csi.storage.k8s.io/pod.namespace": "default",
        "csi.storage.k8s.io/pod.uid": "6f2b0c1e-0000-4000-8000-000000000000",
        "csi.storage.k8s.io/serviceAccount.name": "web",
        "csi.storage.k8s.io/ephemeral": "false",
        "secretProviderClass": "coffer-db",
        "csi.storage.k8s.io/serviceAccount.tokens": json.dumps(
            {"": {"token": jwt, "expirationTimestamp": "2099-01-01T00:00:00Z"}}),
    }
    return pb.MountRequest(attributes=json.dumps(attributes), secrets="{}", target_path=str(target),
                           permission="420", current_object_version=list(current))


def test_version_names_the_provider(provider):
    _, _, stub, pb, _ = provider
    answer = stub.Version(pb.VersionRequest(version="v1alpha1"), timeout=10)
    assert answer.runtime_name == "coffer" and answer.runtime_version and answer.version == "v1alpha1"


def test_mount_returns_the_files_and_a_new_version_after_kv_put(provider, cluster):
    node, root, stub, pb, tmp_path = provider
    jwt = cluster.admit(service_account_jwt("default", "web"), "default", "web")
    target = tmp_path / "pods" / "web-0" / "volumes" / "secrets"
    answer = stub.Mount(mount_request(pb, jwt, target), timeout=15)
    files = {f.path: f for f in answer.files}
    assert set(files) == {"db-password", "config/db.json", "tls.bin"}
    assert files["db-password"].contents == b"hunter2" and files["db-password"].mode == 0o644
    assert json.loads(files["config/db.json"].contents)["username"] == "app"
    assert files["config/db.json"].mode == 0o600
    assert files["tls.bin"].contents == BLOB
    versions = {v.id: v.version for v in answer.object_version}
    assert versions == {"db-password": "1", "config/db.json": "1", "tls.bin": "1"}
    assert not target.exists(), "the driver writes the files, not the provider"

    cli(node, "kv", "put", "secret/db", "password=correct-horse", "username=app",
        f"blob={base64.b64encode(BLOB).decode()}", token=root)
    again = stub.Mount(mount_request(pb, jwt, target, current=answer.object_version), timeout=15)
    assert {f.path: f.contents for f in again.files}["db-password"] == b"correct-horse"
    assert {v.id: v.version for v in again.object_version}["db-password"] == "2"


def test_a_pod_whose_service_account_is_not_bound_gets_permission_denied(provider, cluster):
    _, _, stub, pb, tmp_path = provider
    jwt = cluster.admit(service_account_jwt("default", "intruder"), "default", "intruder")
    with pytest.raises(grpc.RpcError) as refused:
        stub.Mount(mount_request(pb, jwt, tmp_path / "target"), timeout=15)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED, refused.value.details()
    assert "not authorized" in refused.value.details()


def test_bad_parameters_are_invalid_arguments(provider, cluster):
    _, _, stub, pb, tmp_path = provider
    jwt = cluster.admit(service_account_jwt("default", "web"), "default", "web")
    request = mount_request(pb, jwt, tmp_path / "target")
    attributes = json.loads(request.attributes)
    attributes["objects"] = "- objectName: ../escape\n  secretPath: secret/data/db\n"
    request.attributes = json.dumps(attributes)
    with pytest.raises(grpc.RpcError) as refused:
        stub.Mount(request, timeout=15)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
