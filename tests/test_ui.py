"""The web UI in a real browser (issue 16, acceptances 1 to 3): headless Chromium driven by
Selenium against a real `coffer server` with `ui = true`. Through the UI only: initialise and
unseal, sign in with the root token, enable KV v2, write a secret and read it back (masked until
revealed), create a policy (and see the server's parse error for a broken one), enable
kubernetes auth and write a role, enable userpass and add a user, then sign in as that limited
user and see "permission denied" and no data where the policy does not reach. Screenshots of each
page go to a folder under the test's tmp_path (printed). The browser's own network log shows no
request left the node's origin. The same pages served by a standby of a three-node cluster work,
their API calls forwarded to the active node.
"""
import requests

from conftest import Node, http
from test_cluster import cluster, form, health  # noqa: F401  (cluster is a fixture)
from ui_browser import UI, By, Keys, browser  # noqa: F401  (browser is a fixture)

BROKEN_POLICY = 'path "kv/data/*" {\n  capabilities = ["read"\n'
READER_POLICY = 'path "kv/data/app/*" {\n  capabilities = ["read"]\n}\npath "kv/metadata/app/*" {\n  capabilities = ["read", "list"]\n}\n'


def make_ca_pem() -> str:
    """A throwaway self-signed CA certificate (PEM), as the cluster's CA would be."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def squash(errors):
    """Errors with runs of whitespace made one space (a browser's text of a multi-line error)."""
    return [" ".join(e.split()) for e in errors]


def test_ui_walkthrough_in_a_browser(tmp_path, browser):  # noqa: F811
    node = Node(tmp_path, extra_config="ui = true").start()
    try:
        shots = tmp_path / "screenshots"
        print(f"\nUI screenshots: {shots}")
        ui = UI(browser, node.addr, shots)
        walkthrough(ui, node)
    finally:
        node.stop()


def walkthrough(ui: UI, node: Node):
    # Uninitialised: the init form; the keys and root token are shown once.
    ui.open()
    ui.heading("Initialize Coffer")
    ui.shot("init")
    ui.assert_labelled()
    ui.fill("init-shares", "3")
    ui.fill("init-threshold", "2")
    ui.click("Initialize")
    keys = [li.text for li in ui.el("init-keys").find_elements(By.TAG_NAME, "li")]
    root = ui.el("init-root-token").text
    assert len(keys) == 3 and root, (keys, root)
    ui.shot("init-keys")
    ui.click("Continue")

    # Sealed: the unseal form with progress.
    ui.heading("Unseal Coffer")
    ui.fill("unseal-key", keys[0])
    ui.click("Unseal")
    ui.wait(lambda d: "1 of 2" in d.find_element(By.ID, "unseal-progress").text, "unseal progress 1 of 2")
    ui.shot("unseal-progress")
    ui.assert_labelled()
    ui.fill("unseal-key", keys[2])
    ui.click("Unseal")

    # Sign in: a wrong token shows the server's error; the root token (typed, Enter) gets in.
    ui.heading("Sign in to Coffer")
    assert http(node, "GET", "sys/seal-status").json()["sealed"] is False
    # Keyboard: Tab moves from the method to the token field; Enter submits (below).
    ui.el("login-method").send_keys(Keys.TAB)
    assert ui.d.switch_to.active_element.get_attribute("id") == "login-token"
    ui.assert_labelled()
    ui.fill("login-token", "not-a-token")
    ui.click("Sign in")
    wrong = ui.errors()
    assert wrong == http(node, "GET", "auth/token/lookup-self", "not-a-token").json()["errors"], wrong
    ui.shot("sign-in-error")
    ui.fill("login-token", root).send_keys(Keys.ENTER)
    ui.heading("Secrets")
    ui.shot("secrets")
    ui.assert_labelled()

    # Enable KV v2 at kv/, write a secret as key/value rows, read it back.
    ui.choose("enable-type", "kv-v2")
    ui.fill("enable-path", "kv")
    ui.click("Enable engine")
    ui.heading("kv/")
    assert http(node, "GET", "sys/mounts/kv", root).json()["data"]["options"] == {"version": "2"}
    ui.click("Create secret")
    ui.heading("Create secret in kv/")
    ui.fill("secret-path", "app/db")
    ui.d.find_elements(By.CSS_SELECTOR, ".row-key")[0].send_keys("username")
    ui.d.find_elements(By.CSS_SELECTOR, ".row-value")[0].send_keys("admin")
    ui.click("Add row")
    ui.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".row-key")) == 2, "a second row")
    ui.d.find_elements(By.CSS_SELECTOR, ".row-key")[1].send_keys("password")
    ui.d.find_elements(By.CSS_SELECTOR, ".row-value")[1].send_keys("s3cr3t-value")
    ui.shot("secret-edit")
    ui.assert_labelled()
    ui.click("Save secret")
    ui.heading("kv/app/db")
    stored = node.client(root).secrets.kv.v2.read_secret_version(path="app/db", mount_point="kv")
    assert stored["data"]["data"] == {"username": "admin", "password": "s3cr3t-value"}
    ui.wait_text("1 (current)")
    assert "s3cr3t-value" not in ui.text(), "values are masked until revealed"
    ui.shot("secret-masked")
    row = ui.d.find_element(By.XPATH, "//tr[td/span[@class='kv-key' and text()='password']]")
    row.find_element(By.XPATH, ".//button[normalize-space()='Reveal']").click()
    ui.wait_text("s3cr3t-value")
    ui.shot("secret-revealed")
    # Versions: delete the current one (soft), see it so, undelete it.
    ui.click("Delete v1")
    ui.wait_text("This version is deleted.")
    assert http(node, "GET", "kv/data/app/db", root).status_code == 404
    ui.shot("secret-version-deleted")
    ui.click("Undelete v1")
    ui.wait_text("Reveal")
    assert http(node, "GET", "kv/data/app/db", root).json()["data"]["data"]["username"] == "admin"

    # Policies: the server's parse error inline for a broken one; a good one is created.
    ui.open("policies")
    ui.heading("ACL policies")
    ui.fill("policy-name", "broken")
    ui.fill("policy-text", BROKEN_POLICY)
    ui.click("Create policy")
    shown = ui.errors()
    server = http(node, "PUT", "sys/policies/acl/broken2", root, json={"policy": BROKEN_POLICY})
    assert server.status_code == 400 and squash(shown) == squash(server.json()["errors"]), (shown, server.text)
    ui.shot("policy-parse-error")
    ui.fill("policy-name", "app-reader")
    ui.fill("policy-text", READER_POLICY)
    ui.click("Create policy")
    ui.heading("Policy app-reader")
    assert "kv/data/app/*" in http(node, "GET", "sys/policies/acl/app-reader", root).json()["data"]["policy"]
    ui.shot("policy")
    ui.assert_labelled()

    # Access: enable kubernetes auth, configure it, write a role; enable userpass, add a user.
    ui.open("access")
    ui.heading("Access")
    ui.choose("auth-type", "kubernetes")
    ui.click("Enable method")
    ui.heading("Auth method kubernetes/")
    ui.fill("kube-host", "https://kubernetes.default.svc")
    ui.click("Save configuration")
    # Outside a pod there is no service account CA to fall back on: the server says so.
    assert any("ca.crt" in e for e in ui.errors()), "the server's error is shown"
    ui.shot("kubernetes-config-error")
    ui.el("kube-disable-local").click()
    ui.fill("kube-ca", make_ca_pem())
    ui.click("Save configuration")
    ui.wait_text("Configuration saved.")
    ui.fill("role-name", "app")
    ui.fill("role-bound_service_account_names", "app")
    ui.fill("role-bound_service_account_namespaces", "default")
    ui.fill("role-token_policies", "app-reader")
    ui.fill("role-token_ttl", "1h")
    ui.click("Save role")
    ui.wait_text("Edit app")
    role = http(node, "GET", "auth/kubernetes/role/app", root).json()["data"]
    assert role["bound_service_account_names"] == ["app"] and role["token_policies"] == ["app-reader"], role
    ui.shot("kubernetes-role")
    ui.assert_labelled()
    ui.open("access")
    ui.heading("Access")
    ui.choose("auth-type", "userpass")
    ui.click("Enable method")
    ui.heading("Auth method userpass/")
    ui.fill("user-name", "alice")
    ui.fill("user-password", "alice-password-1")
    ui.fill("user-token_policies", "app-reader")
    ui.click("Save user")
    ui.wait_text("Edit alice")
    ui.shot("userpass-users")
    ui.assert_labelled()

    ui.open("status")
    ui.heading("Cluster status")
    ui.wait_text(f"127.0.0.1:{node.cluster_port}")  # the raft peers table
    assert "This node is active true" in " ".join(ui.text().split()), ui.text()
    ui.shot("status")

    # Narrow (phone) width: the Secrets page fits without sideways scrolling.
    ui.d.set_window_size(380, 900)
    ui.open("secrets")
    ui.heading("Secrets")
    ui.wait_text("kv/")
    assert ui.d.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    ui.shot("secrets-narrow")
    ui.d.set_window_size(1280, 1000)

    # A limited user: what the policy reaches works; the rest says "permission denied", no data.
    ui.click("Sign out")
    ui.heading("Sign in to Coffer")
    ui.choose("login-method", "userpass")
    ui.fill("login-username", "alice")
    ui.fill("login-password", "wrong-password")
    ui.click("Sign in")
    assert ui.errors() == http(node, "POST", "auth/userpass/login/alice", json={"password": "wrong-password"}).json()["errors"]
    ui.fill("login-password", "alice-password-1")
    ui.click("Sign in")
    ui.heading("Secrets")
    ui.wait_text("kv/")
    assert "cubbyhole/" in ui.text()
    ui.open("kv/kv%2F/show/app/db")
    ui.heading("kv/app/db")
    ui.wait_text("username")
    ui.shot("limited-secret")
    for route, heading, hidden in [
        ("policies", "ACL policies", ["app-reader", "default"]),
        ("access", "Access", ["kubernetes/", "userpass/"]),
        ("policies/app-reader", "Policy app-reader", ["kv/data/app"]),
    ]:
        ui.open(route)
        ui.heading(heading)
        assert ui.errors() == ["permission denied"], route
        page = ui.text()
        assert not any(h in page for h in hidden), (route, page)
        ui.shot(f"limited-{route.replace('/', '-')}")
    ui.open("kv/kv%2F/list")
    ui.heading("kv/")
    assert ui.errors() == ["permission denied"], "the policy does not list kv/metadata/"
    ui.shot("limited-kv-list")

    ui.assert_only_own_origin()
    shots = sorted(p.name for p in ui.shots.iterdir())
    assert len(shots) >= 20, shots
    # The UI's own answers are not cacheable either.
    assert requests.get(f"{node.addr}/ui/", timeout=30).headers["Cache-Control"] == "no-store"


def test_ui_served_by_a_standby_forwards_its_calls(tmp_path, browser, cluster):  # noqa: F811
    n1, n2, _ = cluster
    config = "ui = true"
    for n in cluster:
        n.stop()
        n.config.write_text(n.config.read_text() + config + "\n")
        n.start()
    _, root = form(cluster)
    assert health(n2) == 429, "node2 is a standby"
    shots = tmp_path / "screenshots-standby"
    print(f"\nUI screenshots (standby): {shots}")
    ui = UI(browser, n2.addr, shots)
    ui.open()
    ui.heading("Sign in to Coffer")
    ui.fill("login-token", root).send_keys(Keys.ENTER)
    ui.heading("Secrets")
    ui.shot("standby-secrets")
    ui.fill("enable-path", "skv")
    ui.click("Enable engine")
    ui.heading("skv/")
    ui.click("Create secret")
    ui.fill("secret-path", "team/api")
    ui.el("secret-as-json").click()
    ui.fill("secret-json", '{"token": "abc-standby"}')
    ui.click("Save secret")
    ui.heading("skv/team/api")
    active = n1.client(root).secrets.kv.v2.read_secret_version(path="team/api", mount_point="skv")
    assert active["data"]["data"] == {"token": "abc-standby"}, "written through the active node"
    ui.click("Reveal")
    ui.wait_text("abc-standby")
    ui.shot("standby-secret")
    ui.open("policies")
    ui.heading("ACL policies")
    ui.fill("policy-name", "from-standby")
    ui.fill("policy-text", READER_POLICY)
    ui.click("Create policy")
    ui.heading("Policy from-standby")
    ui.shot("standby-policy")
    ui.open("access")
    ui.heading("Access")
    ui.wait_text("token/")
    ui.shot("standby-access")
    ui.open("status")
    ui.heading("Cluster status")
    ui.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "section table tbody tr")) == 3, "three raft peers")
    assert "This node is active false" in " ".join(ui.text().split()), ui.text()
    ui.shot("standby-status")
    ui.assert_only_own_origin()
