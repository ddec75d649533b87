"""node-vault (npm, the version pinned in tests/js/package-lock.json) works against Coffer
unchanged: tests/js/node_vault_walkthrough.js initialises and unseals a fresh server, then drives
KV v2, policies, tokens, transit and AppRole with node-vault's own documented calls and checks
every answer. scripts/setup.sh installs Node.js and the locked packages in $COFFER_NODE_DIR."""
import os
import shutil
import subprocess
from pathlib import Path

NODE_DIR = Path(os.environ.get("COFFER_NODE_DIR", Path.home() / ".cache/coffer/node"))
SCRIPT = Path(__file__).parent / "js" / "node_vault_walkthrough.js"


def test_node_vault_walkthrough_on_a_fresh_server(node):
    node_bin = shutil.which("node") or shutil.which("nodejs")
    assert node_bin, "Node.js is missing: scripts/setup.sh installs it"
    modules = NODE_DIR / "node_modules"
    assert (modules / "node-vault").is_dir(), f"node-vault is not installed in {modules}: run scripts/setup.sh"
    env = dict(os.environ, VAULT_ADDR=node.addr, NODE_PATH=str(modules))
    for name in ("VAULT_TOKEN", "VAULT_NAMESPACE", "VAULT_PREFIX"):
        env.pop(name, None)
    result = subprocess.run([node_bin, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "all checks passed" in result.stdout
