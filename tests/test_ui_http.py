"""The web UI over plain HTTP (issue 16): served from the binary at /ui/ with strict headers when
`ui = true`, `/` redirecting there; absent otherwise. And the `sys/internal/ui/*` endpoints the
UI relies on, in Vault's shapes: `mounts` (no token needed, filtered by the token given),
`mounts/<path>` (only with some access under the mount), `resultant-acl`.
"""
import re
import subprocess

import pytest
import requests

from conftest import COFFER_BIN, Node, assert_vault_error, free_port, http, init_and_unseal
from test_cluster import wait_until


@pytest.fixture
def ui_node(tmp_path):
    n = Node(tmp_path, extra_config="ui = true").start()
    yield n
    n.stop()


def get(node, path, **kw):
    return requests.get(f"{node.addr}{path}", timeout=30, allow_redirects=False, **kw)


def assert_hardened(resp):
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_ui_is_served_from_the_binary_with_strict_headers(ui_node):
    root = get(ui_node, "/")
    assert root.status_code == 307 and root.headers["Location"] == "/ui/"
    bare = get(ui_node, "/ui")
    assert bare.status_code == 307 and bare.headers["Location"] == "/ui/"
    page = get(ui_node, "/ui/")
    assert page.status_code == 200, page.text
    assert page.headers["Content-Type"].startswith("text/html")
    assert_hardened(page)
    html = page.text
    # No inline script or style (the CSP would refuse them) and nothing from another origin.
    assert "<style" not in html and " style=" not in html
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts and all('src="/ui/' in s for s in scripts), scripts
    assert "http://" not in html and "https://" not in html
    # Every asset the page names is served, with its type and the same headers.
    for ref in re.findall(r'(?:src|href)="(/ui/[^"]+)"', html):
        asset = get(ui_node, ref)
        assert asset.status_code == 200, ref
        assert_hardened(asset)
        want = "text/css" if ref.endswith(".css") else "text/javascript"
        assert asset.headers["Content-Type"].startswith(want), (ref, asset.headers)
        assert "https://" not in asset.text and "http://" not in asset.text, ref
    app = get(ui_node, "/ui/app.js").text
    for module in re.findall(r"from '\./([^']+)'", app):
        assert get(ui_node, f"/ui/{module}").status_code == 200, module
    missing = get(ui_node, "/ui/nope.js")
    assert missing.status_code == 404
    assert_hardened(missing)
    # Sealed or not, the API beside it still answers as before.
    assert http(ui_node, "GET", "sys/seal-status").json()["initialized"] is False


def test_dev_mode_serves_the_ui(tmp_path):
    addr = f"127.0.0.1:{free_port()}"
    log = open(tmp_path / "dev.log", "ab")
    proc = subprocess.Popen([COFFER_BIN, "server", "-dev", f"-dev-listen-address={addr}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        def page():
            try:
                return requests.get(f"http://{addr}/ui/", timeout=1)
            except requests.ConnectionError:
                return None
        wait_until(page, what="the dev server to answer")
        resp = page()
        assert resp.status_code == 200 and resp.headers["X-Frame-Options"] == "DENY"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_without_ui_true_there_is_no_ui(node):
    assert get(node, "/ui/").status_code == 404
    assert get(node, "/").status_code == 404


@pytest.fixture
def limited(ui_node):
    """An unsealed node with kv v2 at secret/ and kv at other/, and a token whose policy names
    only secret/data/app/*: (node, root, limited_token)."""
    root, _ = init_and_unseal(ui_node)
    assert http(ui_node, "POST", "sys/mounts/secret", root, json={"type": "kv", "options": {"version": "2"}}).status_code == 204
    assert http(ui_node, "POST", "sys/mounts/other", root, json={"type": "kv"}).status_code == 204
    policy = 'path "secret/data/app/*" { capabilities = ["read", "list"] }\n' \
             'path "secret/metadata/app/*" {\n  capabilities = ["list"]\n  allowed_parameters = { "x" = [] }\n}\n' \
             'path "other/locked" { capabilities = ["deny"] }'
    assert http(ui_node, "PUT", "sys/policies/acl/app", root, json={"policy": policy}).status_code == 204
    token = http(ui_node, "POST", "auth/token/create", root, json={"policies": ["app"]}).json()["auth"]["client_token"]
    return ui_node, root, token


def test_internal_ui_mounts_is_filtered_by_the_token(limited):
    node, root, token = limited
    full = http(node, "GET", "sys/internal/ui/mounts", root)
    assert full.status_code == 200, full.text
    data = full.json()["data"]
    assert {"secret/", "other/", "cubbyhole/", "sys/"} <= set(data["secret"]), data["secret"]
    assert "token/" in data["auth"]
    assert data["secret"]["secret/"]["type"] == "kv"
    assert data["secret"]["secret/"]["options"] == {"version": "2"}
    assert "accessor" in data["secret"]["secret/"] and "uuid" in data["secret"]["secret/"]

    mine = http(node, "GET", "sys/internal/ui/mounts", token).json()["data"]
    assert "secret/" in mine["secret"], mine
    assert "other/" not in mine["secret"], "a deny below a mount is no access"
    # The default policy reaches cubbyhole/ and sys/ and auth/token/ (its lookup-self etc.).
    assert "cubbyhole/" in mine["secret"] and "token/" in mine["auth"]

    anonymous = http(node, "GET", "sys/internal/ui/mounts")
    assert anonymous.status_code == 200, anonymous.text
    assert anonymous.json()["data"] == {"secret": {}, "auth": {}}
    assert_vault_error(http(node, "GET", "sys/internal/ui/mounts", "not-a-token"), 403)


def test_internal_ui_mount_needs_access_under_the_mount(limited):
    node, root, token = limited
    resp = http(node, "GET", "sys/internal/ui/mounts/secret/data/app/x", token)
    assert resp.status_code == 200, resp.text
    data = resp.json()["data"]
    assert data["path"] == "secret/" and data["type"] == "kv" and data["options"] == {"version": "2"}
    errors = assert_vault_error(http(node, "GET", "sys/internal/ui/mounts/other/x", token), 403)
    assert "preflight capability check returned 403" in errors[0], errors
    # An unknown mount answers the same, so the endpoint cannot list mounts.
    unknown = assert_vault_error(http(node, "GET", "sys/internal/ui/mounts/nothing/x", token), 403)
    assert "preflight capability check" in unknown[0]
    assert_vault_error(http(node, "GET", "sys/internal/ui/mounts/secret/x"), 403)
    assert http(node, "GET", "sys/internal/ui/mounts/other/x", root).json()["data"]["path"] == "other/"
    # The CLI's kv preflight goes through it too.
    assert http(node, "GET", "sys/internal/ui/mounts/auth/token/lookup-self", token).json()["data"]["type"] == "token"


def test_resultant_acl_has_vaults_shape(limited):
    node, root, token = limited
    assert http(node, "GET", "sys/internal/ui/resultant-acl", root).json()["data"] == {"root": True}
    data = http(node, "GET", "sys/internal/ui/resultant-acl", token).json()["data"]
    assert data["root"] is False
    assert data["glob_paths"]["secret/data/app/"] == {"capabilities": ["list", "read"]}
    assert data["glob_paths"]["secret/metadata/app/"] == {"capabilities": ["list"], "allowed_parameters": {"x": []}}
    assert data["exact_paths"]["other/locked"] == {"capabilities": ["deny"]}
    # From the default policy.
    assert data["exact_paths"]["sys/internal/ui/resultant-acl"] == {"capabilities": ["read"]}
    assert data["exact_paths"]["auth/token/lookup-self"] == {"capabilities": ["read"]}
    assert_vault_error(http(node, "GET", "sys/internal/ui/resultant-acl"), 403)
