"""Replays of the HTTP calls three real Vault integrations make, sent over raw HTTP exactly as
their Go code sends them (through hashicorp/vault/api: `Logical().Write` is a PUT with a JSON
body, `Read` a GET with the parameters in the query, `List` a GET with `?list=true`, `Delete` a
DELETE; every request carries `X-Vault-Request: true` and the token in `X-Vault-Token`), and
checks the reply fields each integration reads. The operator's setup (mounts, keys, roles,
policies) goes through hvac as root; only the integration's own calls are replayed.

Sources (public, read for the replay; none of their code is copied):
- External Secrets Operator v2.9.0, providers/v1/vault/ (pkg/provider/vault/ before the split):
  auth_kubernetes.go, auth.go (checkToken), client_get.go, client_get_all_secrets.go,
  client_push.go; hashicorp/vault/api v1.22.0 and api/auth/kubernetes v0.10.0.
- SOPS v3.13.2, hcvault/keysource.go (hashicorp/vault/api v1.23.0).
- vault-kubernetes-kms v1.4.0 (a KMS v2 plugin for kube-apiserver on Vault transit),
  pkg/vault/transit.go, client.go, lease.go, pkg/plugin/plugin_v2.go.
"""
import base64
import datetime
import json
import os

import pytest
import requests

from conftest import http
from test_k8s_auth import cluster, service_account_jwt  # noqa: F401 (the `cluster` fixture)


def go_api(node, method, path, token=None, body=None, params=None):
    """One request as hashicorp/vault/api sends it: `body` JSON-encoded without a content type,
    `params` in the query string, X-Vault-Request always, X-Vault-Token when set."""
    headers = {"X-Vault-Request": "true"}
    if token:
        headers["X-Vault-Token"] = token
    data = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
    return requests.request(method, f"{node.addr}/v1/{path}", headers=headers, params=params, data=data,
                            timeout=30)


def write(node, path, body, token):
    """`Logical().WriteWithContext(ctx, path, body)`: PUT."""
    return go_api(node, "PUT", path, token, body=body)


def read(node, path, token, params=None):
    """`Logical().ReadWithDataWithContext(ctx, path, params)`: GET with the query."""
    return go_api(node, "GET", path, token, params=params)


def list_(node, path, token):
    """`Logical().ListWithContext(ctx, path)`: GET ?list=true."""
    return go_api(node, "GET", path, token, params={"list": "true"})


def delete(node, path, token):
    """`Logical().DeleteWithContext(ctx, path)`: DELETE."""
    return go_api(node, "DELETE", path, token)


def ok(response, status=200):
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url} {response.request.body!r}: expected {status}, "
        f"got {response.status_code}: {response.text[:500]}")
    return response.json() if status == 200 else None


def policy(node, root, name, rules):
    ok(http(node, "PUT", f"sys/policies/acl/{name}", token=root, json={"policy": rules}), 204)


# --- External Secrets Operator -----------------------------------------------------------------

ESO_POLICY = """
path "secret/data/*"     { capabilities = ["create", "read", "update", "delete"] }
path "secret/metadata/*" { capabilities = ["create", "read", "update", "delete", "list"] }
"""


@pytest.fixture
def eso(unsealed, cluster):  # noqa: F811 (pytest fixture argument)
    """KV v2 at secret/ and Kubernetes auth against the fake TokenReview API, as an operator sets
    them up for a SecretStore {path: secret, version: v2, auth.kubernetes: {role: eso}}."""
    node, root, _ = unsealed
    reviewer = service_account_jwt("kube-system", "vault-auth")
    cluster.bearers.add(reviewer)
    ok(http(node, "POST", "sys/mounts/secret", token=root, json={"type": "kv", "options": {"version": "2"}}), 204)
    ok(http(node, "POST", "sys/auth/kubernetes", token=root, json={"type": "kubernetes"}), 204)
    ok(http(node, "POST", "auth/kubernetes/config", token=root, json={
        "kubernetes_host": f"https://127.0.0.1:{cluster.port}", "kubernetes_ca_cert": cluster.ca.read_text(),
        "token_reviewer_jwt": reviewer}), 204)
    ok(http(node, "POST", "auth/kubernetes/role/eso", token=root, json={
        "bound_service_account_names": "external-secrets", "bound_service_account_namespaces": "eso",
        "policies": "eso", "ttl": "1h"}), 204)
    policy(node, root, "eso", ESO_POLICY)
    jwt = cluster.admit(service_account_jwt("eso", "external-secrets"), "eso", "external-secrets")
    return node, root, jwt


def eso_login(node, jwt):
    """auth_kubernetes.go → api/auth/kubernetes: PUT auth/kubernetes/login {jwt, role}; the
    client keeps auth.client_token. Then auth.go's checkToken: lookup-self, reading `type`,
    `ttl` (a json.Number) and `expire_time` (a string, or null for a token that never expires)."""
    login = ok(write(node, "auth/kubernetes/login", {"jwt": jwt, "role": "eso"}, None))
    token = login["auth"]["client_token"]
    assert login["auth"]["policies"] == ["default", "eso"]
    assert login["auth"]["lease_duration"] == 3600
    self_ = ok(read(node, "auth/token/lookup-self", token))["data"]
    assert self_["type"] == "service"
    assert isinstance(self_["ttl"], int) and 60 <= self_["ttl"] <= 3600
    expire = datetime.datetime.fromisoformat(self_["expire_time"].replace("Z", "+00:00"))
    assert expire > datetime.datetime.now(datetime.timezone.utc)
    return token


def test_external_secrets_operator_reads_versions_metadata_and_finds_by_tags(eso):
    """ESO v2.9.0 providers/v1/vault/client_get.go and client_get_all_secrets.go: readSecret
    (GET secret/data/<key>[?version=N], data.data), readSecretMetadata (GET
    secret/metadata/<key>: created_time, current_version, delete_version_after, custom_metadata)
    and listSecrets (GET secret/metadata/<dir>/?list=true, recursing into keys ending in '/')."""
    node, root, jwt = eso
    seed = node.client(root)
    seed.secrets.kv.v2.create_or_update_secret("app/db", {"user": "app", "pass": "one"}, mount_point="secret")
    seed.secrets.kv.v2.create_or_update_secret("app/db", {"user": "app", "pass": "two"}, mount_point="secret")
    seed.secrets.kv.v2.create_or_update_secret("app/nested/api", {"key": "k-1"}, mount_point="secret")
    seed.secrets.kv.v2.update_metadata("app/nested/api", custom_metadata={"team": "payments"}, mount_point="secret")
    seed.secrets.kv.v2.create_or_update_secret("other", {"x": "y"}, mount_point="secret")
    token = eso_login(node, jwt)

    # GetSecret with remoteRef.version "1", then without a version.
    v1 = ok(read(node, "secret/data/app/db", token, params={"version": "1"}))
    assert v1["data"]["data"] == {"user": "app", "pass": "one"}
    latest = ok(read(node, "secret/data/app/db", token))
    assert latest["data"]["data"] == {"user": "app", "pass": "two"}
    assert latest["data"]["metadata"]["version"] == 2

    # metadataPolicy: Fetch.
    meta = ok(read(node, "secret/metadata/app/nested/api", token))["data"]
    for key in ("created_time", "current_version", "delete_version_after"):
        assert meta.get(key) is not None, key
    assert meta["current_version"] == 1
    assert meta["custom_metadata"] == {"team": "payments"}

    # dataFrom.find {path: app, tags: {team: payments}}: list recursively under app/.
    found = []

    def list_secrets(prefix):
        keys = ok(list_(node, f"secret/metadata/{prefix}", token))["data"]["keys"]
        for key in keys:
            if key.endswith("/"):
                list_secrets(prefix + key)
            else:
                found.append(prefix + key)

    list_secrets("app/")
    assert sorted(found) == ["app/db", "app/nested/api"]
    top = ok(list_(node, "secret/metadata/", token))["data"]["keys"]
    assert sorted(top) == ["app/", "other"]
    tagged = [k for k in found
              if (ok(read(node, f"secret/metadata/{k}", token))["data"].get("custom_metadata") or {})
              .get("team") == "payments"]
    assert tagged == ["app/nested/api"]
    assert ok(read(node, "secret/data/app/nested/api", token))["data"]["data"] == {"key": "k-1"}

    # A missing key: the Go client turns a 404 without data into "no secret".
    missing = read(node, "secret/data/app/none", token)
    assert missing.status_code == 404
    assert not (missing.json().get("data") or {})
    # A soft-deleted latest version: 404 with data.data null and the version's metadata; the Go
    # client returns that body (it has data) and readSecret maps data.data == nil to "no secret".
    seed.secrets.kv.v2.delete_latest_version_of_secret("other", mount_point="secret")
    gone = read(node, "secret/data/other", token)
    assert gone.status_code == 404, gone.text
    assert gone.json()["data"]["data"] is None
    assert gone.json()["data"]["metadata"]["deletion_time"] != ""


def test_external_secrets_operator_push_secret_with_check_and_set_then_delete(eso):
    """ESO v2.9.0 providers/v1/vault/client_push.go with checkAndSet.required: PushSecret reads
    the data (404: new), writes the metadata first ({custom_metadata: {managed-by:
    external-secrets}}), then the data with options.cas = 0 for a new key, or the
    metadata's current_version for an existing one after checking managed-by; DeleteSecret
    deletes secret/data/<key> then secret/metadata/<key>."""
    node, _, jwt = eso
    token = eso_login(node, jwt)
    label = {"custom_metadata": {"managed-by": "external-secrets"}}

    # First push of a new key.
    assert read(node, "secret/data/pushed", token).status_code == 404
    ok(write(node, "secret/metadata/pushed", label, token), 204)
    first = ok(write(node, "secret/data/pushed", {"data": {"password": "p1"}, "options": {"cas": 0}}, token))
    assert first["data"]["version"] == 1

    # The next push: the secret exists, so managed-by is checked and CAS takes current_version.
    existing = ok(read(node, "secret/data/pushed", token))["data"]["data"]
    assert existing == {"password": "p1"}
    meta = ok(read(node, "secret/metadata/pushed", token))["data"]
    assert meta["custom_metadata"]["managed-by"] == "external-secrets"
    cas = meta["current_version"]
    assert cas == 1
    ok(write(node, "secret/metadata/pushed", label, token), 204)
    second = ok(write(node, "secret/data/pushed", {"data": {"password": "p2"}, "options": {"cas": cas}}, token))
    assert second["data"]["version"] == 2
    # A push racing with another writer (stale CAS) is refused, as ESO relies on.
    stale = write(node, "secret/data/pushed", {"data": {"password": "p3"}, "options": {"cas": cas}}, token)
    assert stale.status_code == 400, stale.text
    assert any("check-and-set" in e for e in stale.json()["errors"]), stale.text
    # A new key pushed with cas 0 over an existing one is refused too.
    assert write(node, "secret/data/pushed", {"data": {"x": "y"}, "options": {"cas": 0}}, token).status_code == 400

    # DeleteSecret.
    assert ok(read(node, "secret/metadata/pushed", token))["data"]["custom_metadata"]["managed-by"] == "external-secrets"
    ok(delete(node, "secret/data/pushed", token), 204)
    ok(delete(node, "secret/metadata/pushed", token), 204)
    assert read(node, "secret/metadata/pushed", token).status_code == 404
    assert read(node, "secret/data/pushed", token).status_code == 404


# --- SOPS ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine_path", ["sops", "team/sops"])
def test_sops_hcvault_encrypts_and_decrypts_a_data_key(unsealed, engine_path):
    """SOPS v3.13.2 hcvault/keysource.go: for the key URI
    `<addr>/v1/<engine_path>/keys/<key>` (engineAndKeyFromPath keeps nested engine paths),
    EncryptContext writes PUT <engine_path>/encrypt/<key> {"plaintext": base64(data key)} and
    keeps data.ciphertext; DecryptContext writes PUT <engine_path>/decrypt/<key>
    {"ciphertext": ...} and base64-decodes data.plaintext (StdEncoding) back to the data key."""
    node, root, _ = unsealed
    ok(http(node, "POST", f"sys/mounts/{engine_path}", token=root, json={"type": "transit"}), 204)
    http(node, "POST", f"{engine_path}/keys/firstkey", token=root, json={}).raise_for_status()
    policy(node, root, "sops", f'path "{engine_path}/encrypt/firstkey" {{ capabilities = ["update"] }}\n'
                               f'path "{engine_path}/decrypt/firstkey" {{ capabilities = ["update"] }}\n')
    token = ok(http(node, "POST", "auth/token/create", token=root, json={"policies": ["sops"]}))["auth"]["client_token"]

    data_key = os.urandom(32)  # SOPS' data key: 32 random bytes
    encrypted = ok(write(node, f"{engine_path}/encrypt/firstkey",
                         {"plaintext": base64.b64encode(data_key).decode()}, token))
    ciphertext = encrypted["data"]["ciphertext"]
    assert isinstance(ciphertext, str) and ciphertext.startswith("vault:v1:")

    decrypted = ok(write(node, f"{engine_path}/decrypt/firstkey", {"ciphertext": ciphertext}, token))
    plaintext = decrypted["data"]["plaintext"]
    assert isinstance(plaintext, str)
    assert base64.b64decode(plaintext, validate=True) == data_key


# --- a Kubernetes KMS v2 plugin on transit -------------------------------------------------------

KMS_POLICY = """
path "transit/encrypt/kms" { capabilities = ["update"] }
path "transit/decrypt/kms" { capabilities = ["update"] }
path "transit/keys/kms"    { capabilities = ["read"] }
"""


def test_kubernetes_kms_plugin_encrypts_deks_and_follows_key_rotation(unsealed):
    """vault-kubernetes-kms v1.4.0: WithAppRoleAuth writes PUT auth/approle/login {role_id,
    secret_id}; authenticateAndVerify and LeaseRefresher read auth/token/lookup-self
    (creation_ttl and ttl as json.Number) and renew with PUT auth/token/renew-self {increment};
    Status reads transit/keys/<key> for latest_version (json.Number, the KMS key_id), Health
    encrypts and decrypts "health"; Encrypt writes PUT transit/encrypt/<key> {plaintext: base64}
    and keeps data.ciphertext, Decrypt writes PUT transit/decrypt/<key> {ciphertext} and
    base64-decodes data.plaintext. After a key rotation the key_id changes and DEKs sealed under
    the old version still decrypt (kube-apiserver re-reads them by key_id)."""
    node, root, _ = unsealed
    ok(http(node, "POST", "sys/mounts/transit", token=root, json={"type": "transit"}), 204)
    http(node, "POST", "transit/keys/kms", token=root, json={}).raise_for_status()
    policy(node, root, "kms", KMS_POLICY)
    ok(http(node, "POST", "sys/auth/approle", token=root, json={"type": "approle"}), 204)
    ok(http(node, "POST", "auth/approle/role/kms", token=root,
            json={"token_policies": "kms", "token_ttl": "20m", "token_max_ttl": "1h"}), 204)
    role_id = ok(http(node, "GET", "auth/approle/role/kms/role-id", token=root))["data"]["role_id"]
    secret_id = ok(http(node, "POST", "auth/approle/role/kms/secret-id", token=root))["data"]["secret_id"]

    login = ok(write(node, "auth/approle/login", {"role_id": role_id, "secret_id": secret_id}, None))
    token = login["auth"]["client_token"]
    self_ = ok(read(node, "auth/token/lookup-self", token))["data"]
    assert self_["creation_ttl"] == 1200
    assert isinstance(self_["ttl"], int) and 0 < self_["ttl"] <= 1200
    renewed = ok(write(node, "auth/token/renew-self", {"increment": 600}, token))
    assert renewed["auth"]["client_token"] == token
    assert renewed["auth"]["lease_duration"] == 600

    def key_id():
        data = ok(read(node, "transit/keys/kms", token))["data"]
        assert isinstance(data["latest_version"], int)
        assert set(data["keys"]) == {str(v) for v in range(1, data["latest_version"] + 1)}
        return str(data["latest_version"])

    def encrypt(plain):
        body = ok(write(node, "transit/encrypt/kms", {"plaintext": base64.b64encode(plain).decode()}, token))
        return body["data"]["ciphertext"].encode(), key_id()

    def decrypt(cipher):
        body = ok(write(node, "transit/decrypt/kms", {"ciphertext": cipher.decode()}, token))
        return base64.b64decode(body["data"]["plaintext"])

    # Status + Health.
    assert key_id() == "1"
    assert decrypt(encrypt(b"health")[0]) == b"health"

    dek = os.urandom(32)
    sealed_v1, kid1 = encrypt(dek)
    assert kid1 == "1" and sealed_v1.startswith(b"vault:v1:")
    assert decrypt(sealed_v1) == dek

    http(node, "POST", "transit/keys/kms/rotate", token=root).raise_for_status()
    sealed_v2, kid2 = encrypt(dek)
    assert kid2 == "2" and sealed_v2.startswith(b"vault:v2:")
    assert decrypt(sealed_v2) == dek
    assert decrypt(sealed_v1) == dek
