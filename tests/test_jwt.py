"""The jwt auth method (and its `oidc` type) against a JWKS server run by the test: HTTPS behind a
CA the test makes, RSA and P-256 keys made with `cryptography`, tokens signed with PyJWT. Driven
with hvac's `client.auth.jwt.*` methods as a Vault client would; refusals are checked for
status and Vault's message and for their entries in a file audit log. A refused token or claim
answers 403 (Vault answers 400; issue 23 asks for 403, as for any refused credential); a bad
request (no role, no token, bad config) stays 400."""
import datetime
import ipaddress
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from conftest import assert_vault_error, http

ISSUER = "https://idp.test"
AUDIENCE = "vault"
K8S_ISSUER = "https://kubernetes.default.svc.cluster.local"
POLICY = 'path "secret/*" {\n  capabilities = ["read"]\n}\n'


def make_ca(tmp_path):
    """A CA and a server certificate for 127.0.0.1 signed by it: (ca.pem text, cert path, key path)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jwks test CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "idp-cert.pem", tmp_path / "idp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca_cert.public_bytes(serialization.Encoding.PEM).decode(), cert_path, key_path


class SigningKey:
    """A private key with its kid; `jwk()` is its public JWK, `sign()` makes a token."""

    def __init__(self, kind, kid):
        self.kind, self.kid = kind, kid
        if kind == "RS256":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())

    def jwk(self):
        algorithm = RSAAlgorithm if self.kind == "RS256" else ECAlgorithm
        key = algorithm.to_jwk(self.private.public_key(), as_dict=True)
        return dict(key, kid=self.kid, alg=self.kind, use="sig")

    def public_pem(self):
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def sign(self, claims, kid=None):
        return jwt.encode(claims, self.private, algorithm=self.kind, headers={"kid": kid or self.kid})


def claims(**extra):
    now = int(time.time())
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "ci-runner-1", "iat": now, "nbf": now, "exp": now + 600,
            "repo": "org/app", "org": {"team": "blue"}, "groups": ["builders", "readers"]}
    base.update(extra)
    return base


class JwksServer:
    """HTTPS server for `/keys.json` (the current `keys`) and an OIDC discovery document."""

    def __init__(self, cert, key):
        self.keys = []
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path == "/keys.json":
                    server.fetches += 1
                    body = {"keys": [k.jwk() for k in server.keys]}
                elif self.path == "/.well-known/openid-configuration":
                    body = {"issuer": server.url, "jwks_uri": f"{server.url}/keys.json",
                            "id_token_signing_alg_values_supported": ["RS256", "ES256"]}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def idp(tmp_path):
    ca_pem, cert, key = make_ca(tmp_path)
    server = JwksServer(cert, key)
    server.ca_pem = ca_pem
    yield server
    server.httpd.shutdown()


@pytest.fixture
def vault(unsealed, tmp_path):
    """An unsealed node with a file audit device, the `ci-read` policy and a client."""
    node, root, _ = unsealed
    client = node.client(root)
    log = tmp_path / "audit.log"
    client.sys.enable_audit_device(device_type="file", path="file", options={"file_path": str(log)})
    client.sys.create_or_update_policy(name="ci-read", policy=POLICY)
    return node, client, log


def enable_jwt(client, idp, path, **config):
    client.sys.enable_auth_method(method_type="jwt", path=path)
    client.auth.jwt.configure(jwks_url=f"{idp.url}/keys.json", jwks_ca_pem=idp.ca_pem, bound_issuer=ISSUER,
                              path=path, **config)


def ci_role(client, path, **extra):
    args = dict(name="ci", user_claim="sub", allowed_redirect_uris=None, role_type="jwt",
                bound_audiences=[AUDIENCE], claim_mappings={"repo": "repository", "/org/team": "team"},
                groups_claim="groups", token_policies=["ci-read"], token_ttl="10m", path=path)
    args.update(extra)
    client.auth.jwt.create_role(**args)


def login(node, path, token, role="ci"):
    return http(node, "PUT", f"auth/{path}/login", json={"role": role, "jwt": token})


def audit_entries(log):
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def test_rs256_and_es256_tokens_log_in_through_hvacs_jwt_methods(vault, idp):
    node, client, _ = vault
    rs, es = SigningKey("RS256", "rsa-1"), SigningKey("ES256", "ec-1")
    idp.keys = [rs, es]
    enable_jwt(client, idp, "jwt")
    config = client.auth.jwt.read_config()["data"]
    assert config["jwks_url"] == f"{idp.url}/keys.json"
    assert config["bound_issuer"] == ISSUER
    assert config["jwt_validation_pubkeys"] == [] and config["oidc_discovery_url"] == ""
    ci_role(client, "jwt")

    role = client.auth.jwt.read_role(name="ci")["data"]
    assert role["role_type"] == "jwt" and role["user_claim"] == "sub"
    assert role["bound_audiences"] == [AUDIENCE]
    assert role["claim_mappings"] == {"repo": "repository", "/org/team": "team"}
    assert role["token_policies"] == ["ci-read"] and role["token_ttl"] == 600
    assert role["bound_claims_type"] == "string"
    assert (role["clock_skew_leeway"], role["expiration_leeway"], role["not_before_leeway"]) == (0, 0, 0)
    assert client.auth.jwt.list_roles()["data"]["keys"] == ["ci"]

    for key in (rs, es):
        anon = node.client()
        auth = anon.auth.jwt.jwt_login(role="ci", jwt=key.sign(claims()))["auth"]
        assert auth["policies"] == ["ci-read", "default"], key.kind
        assert auth["metadata"] == {"repository": "org/app", "team": "blue", "role": "ci"}
        assert auth["lease_duration"] == 600
        looked = client.auth.token.lookup(auth["client_token"])["data"]
        assert looked["meta"] == {"repository": "org/app", "team": "blue", "role": "ci"}
        assert looked["path"] == "auth/jwt/login"
        assert anon.token == auth["client_token"]
        anon.secrets.kv.v1.create_or_update_secret(path="x", secret={"a": "b"}, mount_point="cubbyhole")

    client.auth.jwt.delete_role(name="ci")
    assert_vault_error(http(node, "GET", "auth/jwt/role/ci", token=client.token), 404)
    r = login(node, "jwt", rs.sign(claims()))
    assert_vault_error(r, 400)
    assert r.json()["errors"] == ['role "ci" could not be found']


def test_bad_tokens_are_refused_with_403_and_audited(vault, idp):
    node, client, log = vault
    rs, stranger = SigningKey("RS256", "rsa-1"), SigningKey("RS256", "never-published")
    idp.keys = [rs]
    enable_jwt(client, idp, "jwt")
    ci_role(client, "jwt")
    good = rs.sign(claims())
    head, body, sig = good.split(".")
    tampered_sig = sig[:-4] + ("AAAA" if sig[-4:] != "AAAA" else "BBBB")
    cases = {
        "wrong audience": (rs.sign(claims(aud="other")), "invalid audience (aud) claim"),
        "expired": (rs.sign(claims(iat=int(time.time()) - 4000, nbf=int(time.time()) - 4000,
                                   exp=int(time.time()) - 3600)), "token is expired"),
        "wrong issuer": (rs.sign(claims(iss="https://evil.test")), "invalid issuer (iss) claim"),
        "unknown key": (stranger.sign(claims()), "failed to verify id token signature"),
        "tampered signature": (f"{head}.{body}.{tampered_sig}", "failed to verify id token signature"),
        "tampered claims": (f"{head}.{rs.sign(claims(sub='admin')).split('.')[1]}.{sig}",
                            "failed to verify id token signature"),
    }
    start = len(audit_entries(log))
    for name, (token, message) in cases.items():
        r = login(node, "jwt", token)
        assert_vault_error(r, 403)
        (error,) = r.json()["errors"]
        assert error.startswith("error validating token: ") and message in error, (name, error)
    assert login(node, "jwt", good).status_code == 200

    entries = [e for e in audit_entries(log)[start:] if e["request"]["path"] == "auth/jwt/login"]
    refused = [e for e in entries if e["type"] == "response" and e.get("error")]
    assert len(refused) == len(cases), entries
    assert len([e for e in entries if e["type"] == "request"]) == len(cases) + 1
    raw = log.read_text()
    assert good not in raw and cases["expired"][0] not in raw, "tokens are hashed in the audit log"


def test_a_key_rotated_at_the_jwks_server_is_picked_up_without_reconfiguring(vault, idp):
    node, client, _ = vault
    old, new = SigningKey("RS256", "2024-key"), SigningKey("ES256", "2025-key")
    idp.keys = [old]
    enable_jwt(client, idp, "rotating")
    ci_role(client, "rotating")
    assert login(node, "rotating", old.sign(claims())).status_code == 200
    fetched = idp.fetches
    assert login(node, "rotating", old.sign(claims())).status_code == 200
    assert idp.fetches == fetched, "known kids are served from the cache"

    idp.keys = [new]
    r = login(node, "rotating", new.sign(claims()))
    assert r.status_code == 200, r.text
    assert idp.fetches == fetched + 1
    assert_vault_error(login(node, "rotating", old.sign(claims())), 403)


def test_bound_claims_match_by_glob_and_refuse_a_mismatch(vault, idp):
    node, client, _ = vault
    rs = SigningKey("RS256", "rsa-1")
    idp.keys = [rs]
    enable_jwt(client, idp, "jwt")
    ci_role(client, "jwt", bound_claims_type="glob",
            bound_claims={"repo": ["org/app*", "org/lib"], "/org/team": "bl*e"})
    assert client.auth.jwt.read_role(name="ci")["data"]["bound_claims_type"] == "glob"
    assert login(node, "jwt", rs.sign(claims(repo="org/app-frontend"))).status_code == 200
    r = login(node, "jwt", rs.sign(claims(repo="other/app")))
    assert_vault_error(r, 403)
    assert r.json()["errors"] == ['error validating claims: claim "repo" does not match any associated '
                                  'bound claim values']
    r = login(node, "jwt", rs.sign(claims(org={"team": "red"})))
    assert_vault_error(r, 403)
    assert "/org/team" in r.json()["errors"][0]


def test_kubernetes_service_account_tokens_validate_with_the_clusters_key(vault):
    node, client, _ = vault
    sa_key = SigningKey("RS256", "sa-signing")
    client.sys.enable_auth_method(method_type="jwt", path="k8s-jwt")
    client.auth.jwt.configure(jwt_validation_pubkeys=[sa_key.public_pem()], bound_issuer=K8S_ISSUER,
                              path="k8s-jwt")
    client.auth.jwt.create_role(name="team-a", user_claim="sub", allowed_redirect_uris=None, role_type="jwt",
                                bound_audiences=[K8S_ISSUER],
                                bound_claims={"/kubernetes.io/namespace": "team-a"},
                                claim_mappings={"/kubernetes.io/serviceaccount/name": "service_account_name"},
                                token_policies=["ci-read"], path="k8s-jwt")

    def sa_token(namespace, name, key=sa_key):
        now = int(time.time())
        return key.sign({"aud": [K8S_ISSUER], "exp": now + 3600, "iat": now, "nbf": now, "iss": K8S_ISSUER,
                         "kubernetes.io": {"namespace": namespace,
                                           "serviceaccount": {"name": name, "uid": "u-1"}},
                         "sub": f"system:serviceaccount:{namespace}:{name}"})

    auth = node.client().auth.jwt.jwt_login(role="team-a", jwt=sa_token("team-a", "web"), path="k8s-jwt")["auth"]
    assert auth["policies"] == ["ci-read", "default"]
    assert auth["metadata"] == {"service_account_name": "web", "role": "team-a"}
    r = login(node, "k8s-jwt", sa_token("team-b", "web"), role="team-a")
    assert_vault_error(r, 403)
    assert "kubernetes.io/namespace" in r.json()["errors"][0]
    forged = sa_token("team-a", "web", key=SigningKey("RS256", "sa-signing"))
    assert_vault_error(login(node, "k8s-jwt", forged, role="team-a"), 403)


def test_oidc_type_with_discovery_and_vaults_config_and_role_checks(vault, idp):
    node, client, _ = vault
    es = SigningKey("ES256", "ec-1")
    idp.keys = [es]
    root = client.token
    client.sys.enable_auth_method(method_type="oidc", path="oidc")
    assert client.sys.list_auth_methods()["oidc/"]["type"] == "oidc"
    both = http(node, "PUT", "auth/oidc/config", token=root,
                json={"jwks_url": f"{idp.url}/keys.json", "oidc_discovery_url": idp.url})
    assert_vault_error(both, 400)
    assert both.json()["errors"] == [
        "exactly one of 'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url' must be set"]
    no_ca = http(node, "PUT", "auth/oidc/config", token=root, json={"oidc_discovery_url": idp.url})
    assert_vault_error(no_ca, 400)
    bad_key = http(node, "PUT", "auth/oidc/config", token=root, json={"jwt_validation_pubkeys": ["nope"]})
    assert_vault_error(bad_key, 400)
    assert bad_key.json()["errors"][0].startswith("error parsing public key")
    client.auth.jwt.configure(oidc_discovery_url=idp.url, oidc_discovery_ca_pem=idp.ca_pem,
                              bound_issuer=ISSUER, path="oidc")

    # A role of Vault's default type (oidc) needs redirect URIs and cannot log in with a JWT.
    r = http(node, "PUT", "auth/oidc/role/browser", token=root, json={"user_claim": "sub"})
    assert_vault_error(r, 400)
    assert r.json()["errors"] == ["'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified."]
    client.auth.jwt.create_role(name="browser", user_claim="sub", role_type="oidc",
                                allowed_redirect_uris=["https://app/cb"], path="oidc")
    r = login(node, "oidc", es.sign(claims()), role="browser")
    assert_vault_error(r, 400)
    assert r.json()["errors"] == ["role with oidc role_type is not allowed"]
    r = http(node, "PUT", "auth/oidc/oidc/auth_url", json={"role": "browser", "redirect_uri": "https://app/cb"})
    assert_vault_error(r, 400)
    assert "not served" in r.json()["errors"][0]

    r = http(node, "PUT", "auth/oidc/role/ci", token=root, json={"role_type": "jwt", "user_claim": "sub"})
    assert_vault_error(r, 400)
    assert r.json()["errors"] == ["must have at least one bound constraint when creating/updating a role"]
    ci_role(client, "oidc", claim_mappings=None, groups_claim=None)
    auth = node.client().auth.jwt.jwt_login(role="ci", jwt=es.sign(claims()), path="oidc")["auth"]
    assert auth["metadata"] == {"role": "ci"}
    # An `aud` list with no bound audience is refused, as Vault 1.16 does.
    client.auth.jwt.create_role(name="open", user_claim="sub", allowed_redirect_uris=None, role_type="jwt",
                                bound_subject="ci-runner-1", path="oidc")
    r = login(node, "oidc", es.sign(claims(aud=["x"])), role="open")
    assert_vault_error(r, 403)
    assert r.json()["errors"] == ["audience claim found in JWT but no audiences bound to the role"]
