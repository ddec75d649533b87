"""The Helm chart, rendered by Helm's own Go code (helm-python-sdk's libhelm_c, offline) for
several values sets; every object validated with kubernetes-validate --strict against
Kubernetes 1.32; the objects asserted on; the rendered server config fed to `coffer server
-config=FILE -check`; the probes' paths asked of a real `coffer server`."""
import os
import re
import subprocess
import sys
from pathlib import Path

import helm_python as helm
import kubernetes_validate
import pytest
import requests
import yaml

from conftest import COFFER_BIN, Node, init_and_unseal

CHART = Path(__file__).resolve().parent.parent / "helm" / "coffer"
KUBERNETES_VERSION = "1.32.0"
NAMESPACE = "vault"
CLUSTER_SCOPED = {"ClusterRoleBinding", "ClusterRole", "MutatingWebhookConfiguration"}
RELEASE = "coffer"

VALUES_SETS = {
    "default": {},
    "five_replicas": {"server": {"replicas": 5}},
    "awskms": {
        "server": {
            "seal": {
                "type": "awskms",
                "awskms": {"region": "eu-west-1", "kmsKeyId": "alias/coffer-unseal"},
            },
            "extraSecretEnvironmentVars": [
                {"envName": "AWS_ACCESS_KEY_ID", "secretName": "coffer-kms", "secretKey": "access-key"},
                {"envName": "AWS_SECRET_ACCESS_KEY", "secretName": "coffer-kms", "secretKey": "secret-key"},
            ],
        }
    },
    "pkcs11": {
        "server": {
            "seal": {
                "type": "pkcs11",
                "pkcs11": {
                    "lib": "/usr/lib/softhsm/libsofthsm2.so",
                    "slot": 0,
                    "keyLabel": "coffer-unseal",
                    "mechanism": "CKM_AES_GCM",
                },
            },
            "extraSecretEnvironmentVars": [
                {"envName": "VAULT_HSM_PIN", "secretName": "coffer-hsm", "secretKey": "pin"},
            ],
            "extraVolumes": [{"type": "secret", "name": "coffer-hsm-conf"}],
        }
    },
    "tls": {"server": {"tls": {"enabled": True, "secretName": "coffer-tls"}}},
    "injector": {"injector": {"enabled": True}},
    "injector_certs": {"injector": {"enabled": True, "failurePolicy": "Fail", "certs": {
        "secretName": "injector-tls", "caBundle": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="}}},
    "csi": {
        "server": {"tls": {"enabled": True, "secretName": "coffer-tls"}},
        "csi": {"enabled": True, "tolerations": [{"operator": "Exists"}]},
    },
}
# What injector.enabled adds.
INJECTOR_KINDS = ["Deployment", "Service", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                  "MutatingWebhookConfiguration"]


@pytest.fixture(scope="module")
def chart():
    loaded = helm.Chart.load(CHART)
    yield loaded
    loaded.close()


def render(chart, values):
    """file name -> list of objects (NOTES.txt kept apart as text under the key 'NOTES')."""
    manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    out = {}
    for name, text in manifests.items():
        if name.endswith("NOTES.txt"):
            out["NOTES"] = text
            continue
        docs = [d for d in yaml.safe_load_all(text) if d]
        if docs:
            out[name] = docs
    return out


def objects(rendered):
    return [o for name, docs in rendered.items() if name != "NOTES" for o in docs]


def one(rendered, kind, name=None):
    found = [o for o in objects(rendered) if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {[o['metadata']['name'] for o in found]}"
    return found[0]


def server_hcl(rendered):
    return one(rendered, "ConfigMap", f"{RELEASE}-config")["data"]["server.hcl"]


def container(rendered):
    sts = one(rendered, "StatefulSet")
    (c,) = sts["spec"]["template"]["spec"]["containers"]
    return c


def env_of(rendered):
    return {e["name"]: e for e in container(rendered)["env"]}


def pod_env(rendered, ordinal):
    """The environment a pod would see: downward API values filled in, $(VAR) expanded as
    the kubelet does, Secret references given stand-in values."""
    values = {}
    for e in container(rendered)["env"]:
        if "value" in e:
            values[e["name"]] = re.sub(r"\$\((\w+)\)", lambda m: values.get(m.group(1), m.group(0)), e["value"])
        elif e["valueFrom"].get("fieldRef"):
            field = e["valueFrom"]["fieldRef"]["fieldPath"]
            values[e["name"]] = {
                "metadata.name": f"{RELEASE}-{ordinal}",
                "metadata.namespace": NAMESPACE,
                "status.podIP": f"10.1.0.{ordinal + 10}",
            }[field]
        else:
            values[e["name"]] = f"from-secret-{e['valueFrom']['secretKeyRef']['key']}"
    return values


@pytest.mark.parametrize("values_set", list(VALUES_SETS))
def test_every_rendered_object_is_valid_kubernetes_1_32(chart, values_set):
    rendered = render(chart, VALUES_SETS[values_set])
    kinds = sorted(o["kind"] for o in objects(rendered))
    injector = INJECTOR_KINDS if VALUES_SETS[values_set].get("injector", {}).get("enabled") else []
    csi = ["DaemonSet", "ServiceAccount"] if values_set == "csi" else []
    assert kinds == sorted([
        "ConfigMap", "PodDisruptionBudget", "Role", "RoleBinding", "Service", "Service", "Service",
        "Service", "ServiceAccount", "StatefulSet", "Pod", "ClusterRoleBinding", *injector, *csi,
    ]), kinds
    for obj in objects(rendered):
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']} is not valid {KUBERNETES_VERSION}: {e}")
        if obj["kind"] in CLUSTER_SCOPED:
            assert "namespace" not in obj["metadata"], obj["metadata"]
        else:
            assert obj["metadata"]["namespace"] == NAMESPACE, obj["metadata"]
    assert "coffer operator init" in rendered["NOTES"]
    report = helm.lint(CHART, VALUES_SETS[values_set], strict=True, kube_version="v1.32.0")
    problems = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
    assert problems == [], problems


@pytest.mark.parametrize("replicas", [1, 3, 5, 7])
def test_statefulset_and_disruption_budget_keep_a_quorum(chart, replicas):
    rendered = render(chart, {"server": {"replicas": replicas}})
    sts = one(rendered, "StatefulSet")
    spec = sts["spec"]
    assert spec["replicas"] == replicas
    assert spec["podManagementPolicy"] == "Parallel"
    assert spec["updateStrategy"] == {"type": "OnDelete"}
    assert spec["serviceName"] == f"{RELEASE}-internal"
    assert spec["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    pdbs = [o for o in objects(rendered) if o["kind"] == "PodDisruptionBudget"]
    if replicas == 1:
        assert pdbs == [], "a lone pod has no quorum to protect; a budget of 0 would block drains"
    else:
        (pdb,) = pdbs
        assert pdb["spec"]["maxUnavailable"] == (replicas - 1) // 2
        assert replicas - pdb["spec"]["maxUnavailable"] > replicas // 2, "a majority stays"
        assert pdb["spec"]["selector"]["matchLabels"] == spec["selector"]["matchLabels"]
    # retry_join names every pod by its stable name on the headless service.
    joins = re.findall(r'leader_api_addr\s*=\s*"([^"]+)"', server_hcl(rendered))
    assert joins == [f"http://{RELEASE}-{i}.{RELEASE}-internal:8200" for i in range(replicas)]


def test_services_select_on_the_labels_the_server_sets(chart):
    rendered = render(chart, {})
    selector = one(rendered, "StatefulSet")["spec"]["selector"]["matchLabels"]
    internal = one(rendered, "Service", f"{RELEASE}-internal")["spec"]
    assert internal["clusterIP"] == "None" and internal["publishNotReadyAddresses"] is True
    assert {p["port"] for p in internal["ports"]} == {8200, 8201}
    assert internal["selector"] == selector
    client = one(rendered, "Service", RELEASE)["spec"]
    # Sealed pods pass readiness (they must not block rollouts): the label keeps them out.
    assert client["selector"] == {**selector, "coffer-sealed": "false"}
    assert client.get("publishNotReadyAddresses") is not True
    active = one(rendered, "Service", f"{RELEASE}-active")["spec"]["selector"]
    standby = one(rendered, "Service", f"{RELEASE}-standby")["spec"]["selector"]
    assert active == {**selector, "coffer-active": "true"}
    assert standby == {**selector, "coffer-active": "false", "coffer-sealed": "false"}
    assert "service_registration \"kubernetes\" {}" in server_hcl(rendered)

    role = one(rendered, "Role")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "patch"]}]
    binding = one(rendered, "RoleBinding")
    sa = one(rendered, "ServiceAccount")["metadata"]["name"]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa, "namespace": NAMESPACE}]
    assert one(rendered, "StatefulSet")["spec"]["template"]["spec"]["serviceAccountName"] == sa

    # Without service registration nothing would set coffer-active: no such services, no Role.
    bare = render(chart, {"server": {"serviceRegistration": {"enabled": False}}})
    names = {o["metadata"]["name"] for o in objects(bare)}
    assert f"{RELEASE}-active" not in names and f"{RELEASE}-standby" not in names
    assert not [o for o in objects(bare) if o["kind"] in ("Role", "RoleBinding")]
    assert "service_registration" not in server_hcl(bare)
    assert one(bare, "Service", RELEASE)["spec"]["selector"] == selector, "nothing would set coffer-sealed"


def test_pods_run_unprivileged_on_a_read_only_root(chart):
    rendered = render(chart, {})
    pod = one(rendered, "StatefulSet")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    c = container(rendered)
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["runAsNonRoot"] is True
    assert sc["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"] for m in c["volumeMounts"]}
    assert {"/coffer/data", "/coffer/config", "/home/coffer", "/tmp"} <= mounts
    test_pod = one(rendered, "Pod")
    assert test_pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert test_pod["spec"]["containers"][0]["command"] == ["coffer", "status"]
    assert test_pod["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True


def test_each_pod_gets_its_identity_from_the_downward_api(chart):
    rendered = render(chart, {})
    env = env_of(rendered)
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    seen = pod_env(rendered, 2)
    assert seen["VAULT_RAFT_NODE_ID"] == f"{RELEASE}-2"
    assert seen["VAULT_API_ADDR"] == f"http://{RELEASE}-2.{RELEASE}-internal:8200"
    assert seen["VAULT_CLUSTER_ADDR"] == f"https://{RELEASE}-2.{RELEASE}-internal:8201"
    assert seen["VAULT_K8S_POD_NAME"] == f"{RELEASE}-2" and seen["VAULT_K8S_NAMESPACE"] == NAMESPACE
    # $(VAR) only expands variables defined earlier in the list.
    order = [e["name"] for e in container(rendered)["env"]]
    assert order.index("POD_NAME") < order.index("VAULT_RAFT_NODE_ID")


def test_probes_never_let_a_sealed_pod_block_a_rollout(chart):
    rendered = render(chart, {})
    c = container(rendered)
    assert c["readinessProbe"]["httpGet"]["path"] == "/v1/sys/health?standbyok=true&sealedcode=204&uninitcode=204"
    live = c["livenessProbe"]["httpGet"]["path"]
    assert "sealedcode=204" in live and "uninitcode=204" in live and "standbyok=true" in live
    internal = one(rendered, "Service", f"{RELEASE}-internal")["spec"]
    assert internal["publishNotReadyAddresses"] is True
    strict = render(chart, {"server": {"readinessProbe": {"enabled": True, "path": "/v1/sys/health?standbyok=true"}}})
    assert container(strict)["readinessProbe"]["httpGet"]["path"] == "/v1/sys/health?standbyok=true"
    tls = render(chart, VALUES_SETS["tls"])
    assert container(tls)["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    assert container(tls)["livenessProbe"]["httpGet"]["scheme"] == "HTTPS"


def test_probes_and_helm_test_answer_as_the_chart_expects(chart, tmp_path):
    """The rendered probe paths and the `helm test` pod's command against a real server: ready
    and alive whatever the seal (an OnDelete upgrade with a sealed pod waits for nothing); the
    test passes only when unsealed."""
    rendered = render(chart, {})
    c = container(rendered)
    ready, live = c["readinessProbe"]["httpGet"]["path"], c["livenessProbe"]["httpGet"]["path"]
    test_command = one(rendered, "Pod")["spec"]["containers"][0]["command"]
    node = Node(tmp_path, "probe").start()

    def helm_test():
        env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
        env.update(VAULT_ADDR=node.addr, HOME=str(tmp_path))
        command = [COFFER_BIN if part == "coffer" else part for part in test_command]
        return subprocess.run(command, env=env, capture_output=True, timeout=30).returncode

    try:
        probe = lambda path: requests.get(node.addr + path, timeout=5).status_code  # noqa: E731
        assert (probe(ready), probe(live)) == (204, 204), "uninitialised: ready, alive"
        root, keys = init_and_unseal(node)
        assert (probe(ready), probe(live)) == (200, 200), "active: ready, alive"
        assert helm_test() == 0
        node.client(root).sys.seal()
        assert (probe(ready), probe(live)) == (204, 204), "sealed: ready, alive"
        assert helm_test() == 2, "helm test fails on a sealed node"
    finally:
        node.stop()


def test_auth_delegator_binds_the_service_account_and_mounts_its_token(chart):
    rendered = render(chart, {})
    sa = one(rendered, "ServiceAccount")["metadata"]["name"]
    binding = one(rendered, "ClusterRoleBinding")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": "system:auth-delegator"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa, "namespace": NAMESPACE}]
    assert NAMESPACE in binding["metadata"]["name"], "cluster-wide: two namespaces' releases must not collide"
    pod = one(rendered, "StatefulSet")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == sa and pod["automountServiceAccountToken"] is True

    # The token stays mounted for auth alone, and for service registration alone.
    auth_only = render(chart, {"server": {"serviceRegistration": {"enabled": False}}})
    assert one(auth_only, "StatefulSet")["spec"]["template"]["spec"]["automountServiceAccountToken"] is True
    assert one(auth_only, "ClusterRoleBinding")
    off = {"server": {"authDelegator": {"enabled": False}}}
    registration_only = render(chart, off)
    assert not [o for o in objects(registration_only) if o["kind"] == "ClusterRoleBinding"]
    assert one(registration_only, "StatefulSet")["spec"]["template"]["spec"]["automountServiceAccountToken"] is True
    neither = render(chart, {"server": {"authDelegator": {"enabled": False}, "serviceRegistration": {"enabled": False}}})
    assert one(neither, "StatefulSet")["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    assert not [o for o in objects(neither) if o["kind"].endswith(("Role", "RoleBinding"))]

    # An existing service account (not created by the chart) is the one bound.
    byo = render(chart, {"server": {"serviceAccount": {"create": False, "name": "platform-vault"}}})
    assert one(byo, "ClusterRoleBinding")["subjects"][0]["name"] == "platform-vault"
    assert "auth/kubernetes/config" in rendered["NOTES"]


def test_csi_provider_daemonset_serves_the_drivers_provider_socket(chart):
    assert not [o for o in objects(render(chart, {})) if o["kind"] == "DaemonSet"], "off by default"
    rendered = render(chart, VALUES_SETS["csi"])
    ds = one(rendered, "DaemonSet", f"{RELEASE}-csi-provider")
    pod = ds["spec"]["template"]["spec"]
    labels = ds["spec"]["template"]["metadata"]["labels"]
    assert ds["spec"]["selector"]["matchLabels"] == labels
    assert labels["app.kubernetes.io/component"] == "csi-provider"
    for service in (o for o in objects(rendered) if o["kind"] == "Service"):
        selector = service["spec"]["selector"]
        assert not all(labels.get(k) == v for k, v in selector.items()), "no server service selects providers"
    sa = one(rendered, "ServiceAccount", f"{RELEASE}-csi-provider")
    assert pod["serviceAccountName"] == sa["metadata"]["name"]
    assert pod["automountServiceAccountToken"] is False, "the provider logs in with the pods' tokens"
    (c,) = pod["containers"]
    assert c["args"][:3] == ["csi-provider", "-endpoint=/provider/coffer.sock", "-timeout=10s"]
    assert f"-address=https://{RELEASE}.{NAMESPACE}.svc:8200" in c["args"]
    assert "-ca-cert=/coffer/tls/ca.crt" in c["args"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["providers"]["hostPath"] == {"path": "/etc/kubernetes/secrets-store-csi-providers",
                                                "type": "DirectoryOrCreate"}
    assert {m["name"]: m["mountPath"] for m in c["volumeMounts"]}["providers"] == "/provider"
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    elsewhere = render(chart, {"csi": {"enabled": True, "address": "https://coffer.example:8200",
                                       "providersDir": "/var/run/secrets-store-csi-providers"}})
    ds = one(elsewhere, "DaemonSet")
    assert "-address=https://coffer.example:8200" in ds["spec"]["template"]["spec"]["containers"][0]["args"]
    assert ds["spec"]["template"]["spec"]["volumes"][0]["hostPath"]["path"] == "/var/run/secrets-store-csi-providers"


def test_seal_stanzas_and_tls_render_into_the_config(chart):
    kms = server_hcl(render(chart, VALUES_SETS["awskms"]))
    assert re.search(r'seal "awskms" \{\s*region\s*= "eu-west-1"\s*kms_key_id = "alias/coffer-unseal"\s*\}', kms), kms
    kms_env = env_of(render(chart, VALUES_SETS["awskms"]))
    assert kms_env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "coffer-kms", "key": "secret-key"}
    assert "secret_key" not in kms and "access_key" not in kms, "credentials never land in the ConfigMap"

    pkcs = render(chart, VALUES_SETS["pkcs11"])
    hcl = server_hcl(pkcs)
    assert 'lib = "/usr/lib/softhsm/libsofthsm2.so"' in hcl and 'slot = "0"' in hcl
    assert 'key_label = "coffer-unseal"' in hcl and "pin" not in hcl.lower()
    assert env_of(pkcs)["VAULT_HSM_PIN"]["valueFrom"]["secretKeyRef"]["name"] == "coffer-hsm"
    volumes = {v["name"]: v for v in one(pkcs, "StatefulSet")["spec"]["template"]["spec"]["volumes"]}
    assert volumes["userconfig-coffer-hsm-conf"]["secret"]["secretName"] == "coffer-hsm-conf"

    tls = render(chart, VALUES_SETS["tls"])
    hcl = server_hcl(tls)
    assert 'tls_cert_file   = "/coffer/tls/tls.crt"' in hcl and "tls_disable" not in hcl
    assert re.findall(r'leader_ca_cert_file = "([^"]+)"', hcl) == ["/coffer/tls/ca.crt"] * 3
    assert all(a.startswith("https://") for a in re.findall(r'leader_api_addr\s*=\s*"([^"]+)"', hcl))
    assert env_of(tls)["VAULT_CACERT"]["value"] == "/coffer/tls/ca.crt"
    volumes = {v["name"]: v for v in one(tls, "StatefulSet")["spec"]["template"]["spec"]["volumes"]}
    assert volumes["tls"]["secret"]["secretName"] == "coffer-tls"
    assert "seal" not in server_hcl(render(chart, {})), "Shamir by default"


@pytest.mark.parametrize(
    "values, complaint",
    [
        ({"server": {"replicas": "three"}}, "/server/replicas"),
        ({"server": {"replicas": 0}}, "/server/replicas"),
        ({"server": {"seal": {"type": "transit"}}}, "/server/seal/type"),
        ({"server": {"seal": {"type": "awskms"}}}, "kmsKeyId"),
        ({"server": {"seal": {"type": "pkcs11", "pkcs11": {"lib": "/x.so"}}}}, "keyLabel"),
        ({"server": {"tls": {"enabled": True}}}, "secretName"),
        ({"server": {"updateStrategyType": "Sometimes"}}, "updateStrategyType"),
        ({"server": {"replica": 3}}, "replica"),
        ({"server": {"authDelegator": {"enabled": "yes"}}}, "/server/authDelegator/enabled"),
        ({"server": {"authDelegator": {"enable": True}}}, "enable"),
        ({"server": {"readinessProbe": {"enabled": True, "path": "v1/sys/health"}}}, "/server/readinessProbe/path"),
        ({"csi": {"enabled": "true"}}, "/csi/enabled"),
        ({"csi": {"providersDir": "relative/dir"}}, "/csi/providersDir"),
        ({"csi": {"endpoint": "/x.sock"}}, "endpoint"),
    ],
)
def test_bad_values_are_refused_by_the_schema(chart, values, complaint):
    with pytest.raises(helm.HelmValuesError) as raised:
        chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    assert complaint in str(raised.value)


def check(config_text, tmp_path, env=None, name="server.hcl"):
    path = tmp_path / name
    path.write_text(config_text)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "COFFER_", "AWS_"))}
    full_env.update(env or {})
    return subprocess.run(
        [COFFER_BIN, "server", f"-config={path}", "-check"],
        env=full_env, capture_output=True, text=True, timeout=30,
    )


@pytest.mark.parametrize("values_set", list(VALUES_SETS))
def test_rendered_config_passes_coffer_server_check_in_every_pod(chart, values_set, tmp_path):
    rendered = render(chart, VALUES_SETS[values_set])
    replicas = one(rendered, "StatefulSet")["spec"]["replicas"]
    for ordinal in range(replicas):
        result = check(server_hcl(rendered), tmp_path, pod_env(rendered, ordinal))
        assert result.returncode == 0, f"pod {ordinal}: {result.stderr}"
        assert "Configuration is valid" in result.stdout


def test_check_refuses_a_broken_config_with_a_clear_message(chart, tmp_path):
    rendered = render(chart, {})
    hcl = server_hcl(rendered)
    # The same file outside a pod: no VAULT_RAFT_NODE_ID, so no node id.
    result = check(hcl, tmp_path)
    assert result.returncode != 0
    assert "node_id is required" in result.stderr and "VAULT_RAFT_NODE_ID" in result.stderr, result.stderr
    env = pod_env(rendered, 0)
    broken = {
        "a port that is not a number": (hcl.replace('"[::]:8200"', '"[::]:http"'), "port"),
        "an unknown stanza": (hcl + '\nstorage_backend "x" {}\n', "storage_backend"),
        "another registration": (hcl.replace('service_registration "kubernetes"', 'service_registration "consul"'), "consul"),
        "an HSM without a key": (hcl + '\nseal "pkcs11" { lib = "/x.so" }\n', "key_label or key_id"),
        "a KMS key without credentials": (hcl + '\nseal "awskms" { kms_key_id = "k" }\n', "credentials"),
        "HCL that does not parse": (hcl.replace("}", "", 1), "error parsing config"),
    }
    for what, (text, needle) in broken.items():
        result = check(text, tmp_path, env)
        assert result.returncode == 1, f"{what}: exit {result.returncode}, {result.stdout}"
        assert needle in result.stderr, f"{what}: {result.stderr}"
        assert "Configuration is valid" not in result.stdout


def test_image_recipe_is_lint_clean_and_runs_the_binary_as_the_charts_user(chart):
    dockerfile = CHART.parent.parent / "Dockerfile"
    linted = subprocess.run(["hadolint", "--failure-threshold", "warning", str(dockerfile)],
                            capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}"))
    assert linted.returncode == 0, linted.stdout + linted.stderr
    stages = dockerfile.read_text().split("\nFROM ")
    runtime = stages[-1]
    assert re.search(r"^COPY --from=build /usr/local/bin/coffer /usr/local/bin/coffer$", runtime, re.M)
    assert len(re.findall(r"^COPY ", runtime, re.M)) == 1, "the runtime stage gets the binary only"
    (user,) = re.findall(r"^USER (\d+):(\d+)$", runtime, re.M)
    assert user[0] != "0"
    pod = one(render(chart, {}), "StatefulSet")["spec"]["template"]["spec"]["securityContext"]
    assert (str(pod["runAsUser"]), str(pod["runAsGroup"])) == user
    assert re.search(r'^ENTRYPOINT \["coffer"\]$', runtime, re.M)


def test_a_long_release_name_still_gives_valid_names(chart):
    release = "a-release-name-as-long-as-helm-allows-which-is-53-chr"
    assert len(release) == 53
    rendered = chart.render({}, name=release, namespace=NAMESPACE, is_install=True)
    objs = [d for name, text in rendered.items() if not name.endswith("NOTES.txt")
            for d in yaml.safe_load_all(text) if d]
    for obj in objs:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        assert len(obj["metadata"]["name"]) <= 63, obj["metadata"]["name"]
    (sts,) = [o for o in objs if o["kind"] == "StatefulSet"]
    assert len(sts["metadata"]["name"]) <= 52, "pods label themselves <statefulset>-<10-char hash>"
    (cm,) = [o for o in objs if o["kind"] == "ConfigMap"]
    internal = [o["metadata"]["name"] for o in objs if o["kind"] == "Service" and o["spec"].get("clusterIP") == "None"]
    assert f'{sts["metadata"]["name"]}-0.{internal[0]}:8200' in cm["data"]["server.hcl"]


def test_injector_webhook_sends_pod_creates_to_the_injector_service(chart):
    rendered = render(chart, VALUES_SETS["injector"])
    (hook_config,) = [o for o in objects(rendered) if o["kind"] == "MutatingWebhookConfiguration"]
    (hook,) = hook_config["webhooks"]
    assert hook["admissionReviewVersions"] == ["v1"]
    assert hook["sideEffects"] == "None" and hook["failurePolicy"] == "Ignore"
    assert hook["rules"] == [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                              "resources": ["pods"], "scope": "Namespaced"}]
    assert "caBundle" not in hook["clientConfig"], "auto TLS: the injector patches it at start"
    service = hook["clientConfig"]["service"]
    svc = one(rendered, "Service", service["name"])
    assert service["namespace"] == NAMESPACE and service["path"] == "/mutate"
    assert hook["objectSelector"]["matchExpressions"][0]["operator"] == "NotIn"

    deployment = one(rendered, "Deployment")
    pod = deployment["spec"]["template"]
    assert all(pod["metadata"]["labels"].get(k) == v for k, v in svc["spec"]["selector"].items())
    assert svc["spec"]["ports"][0]["targetPort"] == pod["spec"]["containers"][0]["ports"][0]["containerPort"]
    (c,) = pod["spec"]["containers"]
    assert c["command"] == ["coffer", "injector"]
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env["AGENT_INJECT_TLS_AUTO"] == hook_config["metadata"]["name"]
    assert f"{service['name']}.{NAMESPACE}.svc" in env["AGENT_INJECT_TLS_AUTO_HOSTS"].split(",")
    assert env["AGENT_INJECT_VAULT_ADDR"] == f"http://{RELEASE}.{NAMESPACE}.svc:8200"
    assert env["AGENT_INJECT_LISTEN"] == ":8080"

    # The service account may read and patch that one webhook configuration, nothing else.
    role = one(rendered, "ClusterRole")
    assert role["rules"] == [{"apiGroups": ["admissionregistration.k8s.io"],
                              "resources": ["mutatingwebhookconfigurations"],
                              "resourceNames": [hook_config["metadata"]["name"]],
                              "verbs": ["get", "patch"]}]
    binding = [o for o in objects(rendered) if o["kind"] == "ClusterRoleBinding"
               and o["roleRef"]["name"] == role["metadata"]["name"]]
    assert binding[0]["subjects"] == [{"kind": "ServiceAccount", "namespace": NAMESPACE,
                                       "name": pod["spec"]["serviceAccountName"]}]
    # The server's selectors never pick the injector's pods.
    sts = one(rendered, "StatefulSet")
    assert sts["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "server"
    assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == "agent-injector"


def test_injector_with_a_certificate_secret_serves_it_and_pins_its_ca(chart):
    rendered = render(chart, VALUES_SETS["injector_certs"])
    (hook,) = one(rendered, "MutatingWebhookConfiguration")["webhooks"]
    assert hook["failurePolicy"] == "Fail"
    assert hook["clientConfig"]["caBundle"] == VALUES_SETS["injector_certs"]["injector"]["certs"]["caBundle"]
    pod = one(rendered, "Deployment")["spec"]["template"]["spec"]
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert "AGENT_INJECT_TLS_AUTO" not in env
    assert env["AGENT_INJECT_TLS_CERT_FILE"] == "/coffer/injector-tls/tls.crt"
    assert pod["volumes"] == [{"name": "injector-tls", "secret": {"secretName": "injector-tls"}}]


@pytest.mark.parametrize("injector", [
    {"enabled": True, "failurePolicy": "Sometimes"},
    {"enabled": True, "certs": {"secretName": "x"}},
])
def test_bad_injector_values_are_refused(chart, injector):
    with pytest.raises(Exception):
        render(chart, {"injector": injector})
