"""A TLS listener (rustls) serves the API; clients verify it with the CA, as VAULT_CACERT does."""
import subprocess

import hvac
import pytest
import requests

import os

from conftest import Node, cli


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_cert(workdir):
    """A test CA and a server certificate it signs for 127.0.0.1 / localhost (openssl)."""
    ca_cert, ca_key = workdir / "ca.crt", workdir / "ca.key"
    cert, key, csr = workdir / "tls.crt", workdir / "tls.key", workdir / "tls.csr"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-days", "2", "-subj", "/CN=coffer-test-ca",
            "-keyout", str(ca_key), "-out", str(ca_cert))
    openssl("req", "-new", *ec, "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(csr))
    ext = workdir / "ext.cnf"
    ext.write_text("basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
            "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(cert))
    return ca_cert, cert, key


class TlsNode(Node):
    def __init__(self, workdir):
        super().__init__(workdir, "tls1")
        self.ca, self.cert, self.key = make_cert(workdir)
        self.verify = str(self.ca)
        self.addr = f"https://127.0.0.1:{self.port}"
        self.config.write_text(
            f'''
storage "inmem" {{}}
listener "tcp" {{
  address       = "127.0.0.1:{self.port}"
  tls_cert_file = "{self.cert}"
  tls_key_file  = "{self.key}"
}}
'''
        )


def test_tls_listener_serves_hvac_and_cli_with_the_ca(tmp_path):
    node = TlsNode(tmp_path).start()
    try:
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{node.addr}/v1/sys/health", timeout=5)  # unknown CA is refused
        client = hvac.Client(url=node.addr, verify=str(node.ca))
        result = client.sys.initialize(secret_shares=1, secret_threshold=1)
        client.sys.submit_unseal_key(result["keys"][0])
        client.token = result["root_token"]
        assert client.sys.read_health_status(method="GET")["sealed"] is False

        os.environ["VAULT_CACERT"] = str(node.ca)
        try:
            out = cli(node, "status", "-format=json")
            assert '"sealed": false' in out.stdout
        finally:
            del os.environ["VAULT_CACERT"]
        failed = cli(node, "status", check=False)
        assert failed.returncode != 0, "the CLI must not trust an unknown CA without VAULT_CACERT"
    finally:
        node.stop()
