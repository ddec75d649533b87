"""What the Kubernetes plugin tests share: Python gRPC stubs generated at test time from the
vendored protos in node/proto/k8s (the same files the plugins are built from), and a plugin
process (`coffer kms-plugin` / `coffer csi-provider`) serving on a unix socket."""
import importlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc

from conftest import COFFER_BIN

PROTO_ROOT = Path(__file__).resolve().parent.parent / "node" / "proto" / "k8s"
_generated = {}


def _generate(include: str, proto: str, module: str):
    if module in _generated:
        return _generated[module]
    out = Path(tempfile.mkdtemp(prefix="coffer-k8s-stubs-"))
    from grpc_tools import protoc
    import grpc_tools

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    code = protoc.main([
        "grpc_tools.protoc", f"-I{PROTO_ROOT / include}", f"-I{well_known}",
        f"--python_out={out}", f"--grpc_python_out={out}", proto,
    ])
    assert code == 0, f"protoc failed on {proto}"
    sys.path.insert(0, str(out))
    messages = importlib.import_module(f"{module}_pb2")
    services = importlib.import_module(f"{module}_pb2_grpc")
    _generated[module] = (messages, services)
    return messages, services


def kms_stubs():
    """(messages, services) of v2.KeyManagementService."""
    return _generate("kms", "v2/api.proto", "v2.api")


def csi_stubs():
    """(messages, services) of v1alpha1.CSIDriverProvider."""
    return _generate("csi", "v1alpha1/service.proto", "v1alpha1.service")


class Plugin:
    """A plugin process serving gRPC on `socket`; `channel` reaches it."""

    def __init__(self, workdir: Path, name: str, args, socket: Path, env=None):
        self.socket = socket
        self.log = workdir / f"{name}.log"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([COFFER_BIN, *args], stdout=log, stderr=subprocess.STDOUT,
                                         env=dict(os.environ, **(env or {})))
        deadline = time.monotonic() + 30
        while not socket.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} did not bind {socket}")
            time.sleep(0.05)
        # kube-apiserver and the CSI driver (grpc-go) send `:authority: localhost` on a unix socket;
        # grpc-core would send the percent-encoded path, which HTTP/2 servers may refuse.
        self.channel = grpc.insecure_channel(
            f"unix://{socket}", options=[("grpc.default_authority", "localhost")]
        )
        grpc.channel_ready_future(self.channel).result(timeout=10)

    def stop(self):
        self.channel.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
