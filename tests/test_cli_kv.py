"""`coffer kv` as Vault 1.16's `vault kv`: versions (get -version, delete/undelete/destroy
-versions, rollback -version), patch with -cas, metadata put/get/delete with Vault's flags, nested
lists, -mount=, and the tables of kv put/get with Vault's section headers."""
import json
import re

import pytest

from conftest import cli

TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"


@pytest.fixture
def kv(unsealed):
    node, root, _keys = unsealed
    cli(node, "secrets", "enable", "-path=secret", "-version=2", "kv", token=root)

    def run(*args, check=True):
        return cli(node, "kv", *args, token=root, check=check)

    return run


def get_json(kv, *args):
    return json.loads(kv("get", "-format=json", *args).stdout)["data"]


def test_versions_delete_undelete_destroy_and_rollback(kv):
    for v in ("one", "two", "three"):
        kv("put", "secret/app", f"v={v}")
    assert get_json(kv, "-version=1", "secret/app")["data"] == {"v": "one"}
    assert get_json(kv, "-mount=secret", "-version", "2", "app")["data"] == {"v": "two"}

    out = kv("delete", "-versions=2", "secret/app").stdout
    assert out.strip() == "Success! Data deleted (if it existed) at: secret/delete/app"
    gone = kv("get", "-version=2", "-format=json", "secret/app", check=False)
    assert gone.returncode == 2 or json.loads(gone.stdout)["data"]["data"] is None

    out = kv("undelete", "-versions=2", "secret/app").stdout
    assert out.strip() == "Success! Data written to: secret/undelete/app"
    assert get_json(kv, "-version=2", "secret/app")["data"] == {"v": "two"}

    out = kv("destroy", "-mount=secret", "-versions", "1,2", "app").stdout
    assert out.strip() == "Success! Data written to: secret/destroy/app"
    meta = json.loads(kv("metadata", "get", "-format=json", "secret/app").stdout)["data"]
    assert [meta["versions"][v]["destroyed"] for v in ("1", "2", "3")] == [True, True, False]
    # Vault refuses to roll back to a destroyed version.
    assert kv("rollback", "-version=1", "secret/app", check=False).returncode == 2
    assert kv("undelete", "secret/app", check=False).returncode == 1, "-versions is required"

    kv("put", "secret/app", "v=four")
    out = kv("rollback", "-version=3", "secret/app").stdout
    # Vault pads the title to the path's width: `secret/data/app` gets one `=` a side.
    assert out.startswith("= Secret Path =\nsecret/data/app\n") and re.search(r"^version\s+5$", out, re.M), out
    latest = get_json(kv, "secret/app")
    assert (latest["data"], latest["metadata"]["version"]) == ({"v": "three"}, 5)


def test_patch_merges_with_cas_and_removes_keys(kv):
    kv("put", "secret/p", "a=1", "b=2")
    kv("patch", "-cas=1", "secret/p", "b=3", "c=4")
    assert get_json(kv, "secret/p")["data"] == {"a": "1", "b": "3", "c": "4"}
    stale = kv("patch", "-cas", "1", "secret/p", "a=9", check=False)
    assert stale.returncode == 2 and "check-and-set" in stale.stderr
    kv("patch", "-mount=secret", "-remove-data=a", "p")
    assert get_json(kv, "secret/p")["data"] == {"b": "3", "c": "4"}
    kv("patch", "-method=rw", "secret/p", "d=5")
    assert get_json(kv, "secret/p")["data"] == {"b": "3", "c": "4", "d": "5"}


def test_metadata_put_get_delete(kv):
    kv("put", "secret/m", "x=1")
    out = kv("metadata", "put", "-custom-metadata=owner=ops", "-custom-metadata", "tier=gold",
             "-delete-version-after=1h", "-max-versions=7", "-cas-required", "secret/m").stdout
    assert out.strip() == "Success! Data written to: secret/metadata/m"
    meta = json.loads(kv("metadata", "get", "-format=json", "-mount=secret", "m").stdout)["data"]
    assert meta["custom_metadata"] == {"owner": "ops", "tier": "gold"}
    assert (meta["max_versions"], meta["cas_required"], meta["delete_version_after"]) == (7, True, "1h0m0s")
    # cas_required now refuses a write without -cas.
    assert kv("put", "secret/m", "x=2", check=False).returncode == 2
    kv("put", "-cas=1", "secret/m", "x=2")
    kv("metadata", "put", "-cas-required=false", "secret/m")
    kv("put", "secret/m", "x=3")

    table = kv("metadata", "get", "secret/m").stdout
    assert table.startswith("= Metadata Path =\nsecret/metadata/m\n\n========== Metadata ==========\n"), table
    assert re.search(r"^custom_metadata\s{9}map\[owner:ops tier:gold\]$", table, re.M), table
    assert "\n====== Version 1 ======\n" in table and "\n====== Version 3 ======\n" in table

    out = kv("metadata", "delete", "secret/m").stdout
    assert out.strip() == "Success! Data deleted (if it existed) at: secret/metadata/m"
    assert kv("get", "secret/m", check=False).returncode == 2
    assert kv("metadata", "get", "secret/m", check=False).returncode == 2


def test_list_nested_paths(kv):
    for path in ("secret/a/b/c", "secret/a/b/d/e", "secret/a/x"):
        kv("put", path, "k=v")
    assert kv("list", "secret/a/b").stdout.split() == ["Keys", "----", "c", "d/"]
    assert kv("list", "-mount=secret", "a/b/d").stdout.split() == ["Keys", "----", "e"]
    assert json.loads(kv("list", "-format=json", "secret/a").stdout) == ["b/", "x"]
    assert kv("list", "secret/nothing/here", check=False).returncode == 2


def test_put_and_get_tables_have_vaults_sections(kv):
    put = kv("put", "-mount=secret", "creds", "passcode=my-long-passcode").stdout
    assert re.fullmatch(
        r"== Secret Path ==\nsecret/data/creds\n\n"
        r"======= Metadata =======\n"
        r"Key                Value\n"
        r"---                -----\n"
        rf"created_time       {TIME}\n"
        r"custom_metadata    <nil>\n"
        r"deletion_time      n/a\n"
        r"destroyed          false\n"
        r"version            1\n", put), put
    got = kv("get", "secret/creds").stdout
    assert re.fullmatch(
        r"== Secret Path ==\nsecret/data/creds\n\n"
        r"======= Metadata =======\n"
        r"Key                Value\n"
        r"---                -----\n"
        rf"created_time       {TIME}\n"
        r"custom_metadata    <nil>\n"
        r"deletion_time      n/a\n"
        r"destroyed          false\n"
        r"version            1\n\n"
        r"====== Data ======\n"
        r"Key         Value\n"
        r"---         -----\n"
        r"passcode    my-long-passcode\n", got), got
