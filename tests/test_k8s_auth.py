"""The Kubernetes auth method, driven by the CLI as the seed's walk-through does it, against a
small HTTPS TokenReview server standing in for the cluster's API server (it speaks the real
`authentication.k8s.io/v1` wire format, behind a test CA). Service account JWTs are real RS256
JWTs with Kubernetes' projected-token claims; the TokenReview answer is what decides."""
import base64
import datetime
import ipaddress
import json
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from conftest import cli, http

REVIEW_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"
AUDIENCE = "https://kubernetes.default.svc.cluster.local"
POLICY = 'path "secret/basic-secret/*" {\n  capabilities = ["read"]\n}\n'


# --- a test CA and the service account signing key -------------------------------------------


def make_ca(tmp_path, name):
    """A CA and a server certificate for 127.0.0.1 signed by it; returns (ca.pem, cert.pem, key.pem)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} test CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = [tmp_path / f"{name}-ca.pem", tmp_path / f"{name}-cert.pem", tmp_path / f"{name}-key.pem"]
    paths[0].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def service_account_jwt(namespace, name, uid=None, audiences=(AUDIENCE,)):
    """An RS256 JWT shaped like a projected service account token."""
    now = int(time.time())
    header = {"alg": "RS256", "kid": "test-signing-key"}
    claims = {
        "aud": list(audiences),
        "exp": now + 3600, "iat": now, "nbf": now,
        "iss": AUDIENCE,
        "kubernetes.io": {
            "namespace": namespace,
            "pod": {"name": f"{name}-7d4b9c-xk2p", "uid": str(uuid.uuid4())},
            "serviceaccount": {"name": name, "uid": uid or str(uuid.uuid4())},
        },
        "sub": f"system:serviceaccount:{namespace}:{name}",
    }
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = SIGNING_KEY.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def claims_of(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# --- the TokenReview server ------------------------------------------------------------------


class TokenReviewServer:
    """HTTPS TokenReview endpoint. `accounts` maps a JWT to the (namespace, name, uid) the cluster
    says it belongs to; any other JWT is not authenticated. Only `bearers` may call it."""

    def __init__(self, cert, key):
        self.accounts = {}
        self.bearers = set()
        self.requests = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                seen = {"method": "POST", "path": self.path, "content_type": self.headers.get("Content-Type"),
                        "authorization": self.headers.get("Authorization"), "body": json.loads(raw or b"null")}
                server.requests.append(seen)
                if self.path != REVIEW_PATH:
                    return self.answer(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                             "reason": "NotFound", "code": 404})
                bearer = (seen["authorization"] or "").removeprefix("Bearer ")
                if bearer not in server.bearers:
                    return self.answer(401, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                             "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
                body = seen["body"] or {}
                spec = body.get("spec", {})
                if (seen["content_type"] != "application/json" or body.get("apiVersion") != "authentication.k8s.io/v1"
                        or body.get("kind") != "TokenReview" or not spec.get("token")):
                    return self.answer(400, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                             "reason": "BadRequest", "code": 400})
                audiences = spec.get("audiences") or [AUDIENCE]
                review = {"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
                          "metadata": {"creationTimestamp": None}, "spec": spec}
                account = server.accounts.get(spec["token"])
                if account is None:
                    review["status"] = {"user": {}, "error": "[invalid bearer token, token lookup failed]"}
                else:
                    namespace, name, uid = account
                    review["status"] = {
                        "authenticated": True,
                        "user": {"username": f"system:serviceaccount:{namespace}:{name}", "uid": uid,
                                 "groups": ["system:serviceaccounts", f"system:serviceaccounts:{namespace}",
                                            "system:authenticated"]},
                        "audiences": audiences,
                    }
                self.answer(201, review)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def admit(self, jwt, namespace, name, uid=None):
        """Make the cluster vouch for `jwt` as namespace/name (its own claims by default)."""
        self.accounts[jwt] = (namespace, name, uid or claims_of(jwt)["kubernetes.io"]["serviceaccount"]["uid"])
        return jwt

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def enable_kubernetes(client, cluster):
    """Enable kubernetes auth through hvac `client` (root) against the fake TokenReview server,
    with a reviewer JWT the server accepts as caller."""
    reviewer = service_account_jwt("kube-system", "vault-auth")
    cluster.bearers.add(reviewer)
    client.sys.enable_auth_method("kubernetes")
    client.write("auth/kubernetes/config", kubernetes_host=f"https://127.0.0.1:{cluster.port}",
                 kubernetes_ca_cert=open(cluster.ca).read(), token_reviewer_jwt=reviewer)


@pytest.fixture
def cluster(tmp_path):
    ca, cert, key = make_ca(tmp_path, "cluster")
    server = TokenReviewServer(cert, key)
    server.ca = ca
    yield server
    server.stop()


@pytest.fixture
def walkthrough(node, cluster, tmp_path):
    """The seed's walk-through up to the login, all through the CLI: (node, root, reviewer_jwt)."""
    init = json.loads(cli(node, "operator", "init", "-key-shares=1", "-key-threshold=1", "-format=json").stdout)
    cli(node, "operator", "unseal", init["unseal_keys_b64"][0])
    root = init["root_token"]
    reviewer = service_account_jwt("kube-system", "vault-auth")
    cluster.bearers.add(reviewer)
    cli(node, "auth", "enable", "kubernetes", token=root)
    cli(node, "write", "auth/kubernetes/config", f"kubernetes_host=https://127.0.0.1:{cluster.port}",
        f"kubernetes_ca_cert=@{cluster.ca}", f"token_reviewer_jwt={reviewer}", token=root)
    cli(node, "write", "auth/kubernetes/role/basic-secret-role", "bound_service_account_names=basic-secret",
        "bound_service_account_namespaces=example-app", "policies=basic-secret-policy", "ttl=1h", token=root)
    policy_file = tmp_path / "basic-secret-policy.hcl"
    policy_file.write_text(POLICY)
    cli(node, "policy", "write", "basic-secret-policy", str(policy_file), token=root)
    cli(node, "secrets", "enable", "-path=secret/", "kv", token=root)
    cli(node, "kv", "put", "secret/basic-secret/helloworld", "username=dbuser", "password=a63e8938dcc0", token=root)
    return node, root, reviewer


def login(node, jwt, role="basic-secret-role", check=True):
    return cli(node, "write", "-format=json", "auth/kubernetes/login", f"role={role}", f"jwt={jwt}", check=check)


def test_walkthrough_service_account_login_reads_the_secret(walkthrough, cluster):
    node, root, reviewer = walkthrough
    jwt = cluster.admit(service_account_jwt("example-app", "basic-secret"), "example-app", "basic-secret")
    auth = json.loads(login(node, jwt).stdout)["auth"]
    uid = claims_of(jwt)["kubernetes.io"]["serviceaccount"]["uid"]
    assert auth["policies"] == ["basic-secret-policy", "default"]
    assert auth["token_policies"] == ["basic-secret-policy", "default"]
    assert auth["lease_duration"] == 3600
    assert auth["renewable"] is True
    assert auth["orphan"] is True
    assert auth["token_type"] == "service"
    assert auth["accessor"]
    assert auth["metadata"] == {
        "role": "basic-secret-role", "service_account_name": "basic-secret",
        "service_account_namespace": "example-app", "service_account_uid": uid,
        "service_account_secret_name": "",
    }

    # The cluster was asked exactly as Kubernetes expects.
    (seen,) = cluster.requests
    assert seen["path"] == REVIEW_PATH
    assert seen["content_type"] == "application/json"
    assert seen["authorization"] == f"Bearer {reviewer}"
    assert seen["body"]["apiVersion"] == "authentication.k8s.io/v1"
    assert seen["body"]["kind"] == "TokenReview"
    assert seen["body"]["spec"] == {"token": jwt, "audiences": [AUDIENCE]}

    token = auth["client_token"]
    secret = json.loads(cli(node, "kv", "get", "-format=json", "secret/basic-secret/helloworld", token=token).stdout)
    assert secret["data"] == {"username": "dbuser", "password": "a63e8938dcc0"}
    denied = cli(node, "kv", "put", "secret/basic-secret/helloworld", "username=x", token=token, check=False)
    assert denied.returncode == 2 and "403" in denied.stderr, "the policy grants read only"

    looked = json.loads(cli(node, "token", "lookup", "-format=json", token=token).stdout)["data"]
    assert looked["path"] == "auth/kubernetes/login"
    assert looked["meta"]["service_account_name"] == "basic-secret"
    assert looked["meta"]["role"] == "basic-secret-role"
    assert looked["display_name"] == "kubernetes-example-app-basic-secret"
    assert 3590 <= looked["ttl"] <= 3600


def test_a_jwt_the_cluster_rejects_gets_403(walkthrough, cluster):
    node, _, _ = walkthrough
    forged = service_account_jwt("example-app", "basic-secret")  # never admitted
    out = login(node, forged, check=False)
    assert out.returncode == 2
    assert "Code: 403" in out.stderr and "permission denied" in out.stderr
    assert len(cluster.requests) == 1, "the cluster was asked and said no"
    r = http(node, "POST", "auth/kubernetes/login", json={"role": "basic-secret-role", "jwt": forged})
    assert r.status_code == 403 and r.json() == {"errors": ["permission denied"]}


def test_a_token_from_another_namespace_gets_403(walkthrough, cluster):
    node, _, _ = walkthrough
    # The JWT claims example-app, but the cluster says it belongs to other-ns.
    claims_example = cluster.admit(service_account_jwt("example-app", "basic-secret"), "other-ns", "basic-secret")
    out = login(node, claims_example, check=False)
    assert out.returncode == 2 and "Code: 403" in out.stderr
    # A JWT that says other-ns is refused before the cluster is even asked.
    asked = len(cluster.requests)
    other = cluster.admit(service_account_jwt("other-ns", "basic-secret"), "other-ns", "basic-secret")
    out = login(node, other, check=False)
    assert out.returncode == 2 and "namespace not authorized" in out.stderr
    assert len(cluster.requests) == asked
    wrong_name = cluster.admit(service_account_jwt("example-app", "intruder"), "example-app", "intruder")
    out = login(node, wrong_name, check=False)
    assert out.returncode == 2 and "service account name not authorized" in out.stderr


def test_login_errors_are_vault_shaped(walkthrough, cluster):
    node, _, _ = walkthrough
    jwt = cluster.admit(service_account_jwt("example-app", "basic-secret"), "example-app", "basic-secret")
    r = http(node, "POST", "auth/kubernetes/login", json={"role": "nope", "jwt": jwt})
    assert r.status_code == 400 and r.json() == {"errors": ['invalid role name "nope"']}
    r = http(node, "POST", "auth/kubernetes/login", json={"role": "basic-secret-role"})
    assert r.status_code == 400 and r.json() == {"errors": ["missing jwt"]}
    r = http(node, "POST", "auth/kubernetes/login", json={"role": "basic-secret-role", "jwt": "not-a-jwt"})
    assert r.status_code == 403
    assert cluster.requests == [], "nothing invalid reached the cluster"


def test_hvac_login_audience_and_the_callers_own_jwt_as_reviewer(walkthrough, cluster):
    node, root, _ = walkthrough
    # No reviewer JWT: Vault presents the caller's own JWT to the TokenReview API.
    cli(node, "write", "auth/kubernetes/config", f"kubernetes_host=https://127.0.0.1:{cluster.port}",
        f"kubernetes_ca_cert=@{cluster.ca}", "disable_local_ca_jwt=true", token=root)
    config = json.loads(cli(node, "read", "-format=json", "auth/kubernetes/config", token=root).stdout)["data"]
    assert config["token_reviewer_jwt_set"] is False
    cli(node, "write", "auth/kubernetes/role/aud-role", "bound_service_account_names=basic-secret",
        "bound_service_account_namespaces=example-*", "audience=vault", "token_policies=basic-secret-policy",
        token=root)
    without_aud = cluster.admit(service_account_jwt("example-app", "basic-secret"), "example-app", "basic-secret")
    r = http(node, "POST", "auth/kubernetes/login", json={"role": "aud-role", "jwt": without_aud})
    assert r.status_code == 403 and "aud" in r.json()["errors"][0]

    jwt = service_account_jwt("example-app", "basic-secret", audiences=("vault", AUDIENCE))
    cluster.admit(jwt, "example-app", "basic-secret")
    cluster.bearers.add(jwt)
    auth = node.client().auth.kubernetes.login(role="aud-role", jwt=jwt)["auth"]
    assert auth["metadata"]["role"] == "aud-role"
    seen = cluster.requests[-1]
    assert seen["authorization"] == f"Bearer {jwt}"
    assert seen["body"]["spec"]["audiences"] == ["vault"]


def test_the_api_server_certificate_is_verified_against_the_configured_ca(walkthrough, cluster, tmp_path):
    node, root, reviewer = walkthrough
    other_ca, _, _ = make_ca(tmp_path, "other")
    cli(node, "write", "auth/kubernetes/config", f"kubernetes_host=https://127.0.0.1:{cluster.port}",
        f"kubernetes_ca_cert=@{other_ca}", f"token_reviewer_jwt={reviewer}", token=root)
    jwt = cluster.admit(service_account_jwt("example-app", "basic-secret"), "example-app", "basic-secret")
    out = login(node, jwt, check=False)
    assert out.returncode == 2 and "Code: 403" in out.stderr
    assert cluster.requests == [], "no request may be sent over an unverified connection"
    cli(node, "write", "auth/kubernetes/config", f"kubernetes_host=https://127.0.0.1:{cluster.port}",
        f"kubernetes_ca_cert=@{cluster.ca}", f"token_reviewer_jwt={reviewer}", token=root)
    assert json.loads(login(node, jwt).stdout)["auth"]["client_token"]


def test_roles_and_config_are_managed_like_vaults(walkthrough, cluster):
    node, root, reviewer = walkthrough
    role = json.loads(cli(node, "read", "-format=json", "auth/kubernetes/role/basic-secret-role", token=root).stdout)["data"]
    assert role["bound_service_account_names"] == ["basic-secret"]
    assert role["bound_service_account_namespaces"] == ["example-app"]
    assert role["token_policies"] == ["basic-secret-policy"]
    assert role["token_ttl"] == 3600
    config = json.loads(cli(node, "read", "-format=json", "auth/kubernetes/config", token=root).stdout)["data"]
    assert config["kubernetes_host"] == f"https://127.0.0.1:{cluster.port}"
    assert config["token_reviewer_jwt_set"] is True
    assert reviewer not in json.dumps(config)
    keys = json.loads(cli(node, "list", "-format=json", "auth/kubernetes/role", token=root).stdout)
    assert keys == ["basic-secret-role"]
    bad = cli(node, "write", "auth/kubernetes/role/x", "bound_service_account_names=a", token=root, check=False)
    assert bad.returncode == 2 and "bound_service_account_namespaces" in bad.stderr
    cli(node, "delete", "auth/kubernetes/role/basic-secret-role", token=root)
    jwt = cluster.admit(service_account_jwt("example-app", "basic-secret"), "example-app", "basic-secret")
    assert login(node, jwt, check=False).returncode == 2
