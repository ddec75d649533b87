"""The cluster port speaks only mutual TLS with the cluster certificate made at init: it is
closed until the node is unsealed, names `coffer-cluster`, and drops a peer that presents no
certificate or one from another CA."""
import socket
import ssl
import subprocess

from conftest import Node

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True


def handshake(port, cert=None):
    """TLS to the cluster port, presenting `cert` (a (cert, key) pair) or nothing. Returns the
    server's certificate (DER) and whether the server then dropped the connection."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    if cert:
        ctx.load_cert_chain(*cert)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        try:
            tls = ctx.wrap_socket(raw)
        except (ssl.SSLError, ConnectionResetError):
            return None, True
        with tls:
            server_cert = tls.getpeercert(binary_form=True)
            try:
                # TLS 1.3 checks the client's certificate after the client's side of the
                # handshake is done: the verdict comes with the first read.
                tls.sendall(H2_PREFACE + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
                dropped = tls.recv(64) == b""
            except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
                dropped = True
            return server_cert, dropped


def stranger_cert(tmp_path):
    """A self-signed certificate for `coffer-cluster` from no cluster's CA."""
    key, crt = tmp_path / "stranger.key", tmp_path / "stranger.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", key, "-out", crt, "-days", "1", "-subj", "/CN=coffer-cluster",
         "-addext", "subjectAltName=DNS:coffer-cluster"],
        check=True, capture_output=True,
    )
    return str(crt), str(key)


def test_cluster_port_is_closed_until_unseal_then_mutual_tls_only(tmp_path):
    node = Node(tmp_path, "solo").start()
    try:
        assert refused(node.cluster_port), "an uninitialised node must not serve the cluster port"
        client = node.client()
        init = client.sys.initialize(secret_shares=1, secret_threshold=1)
        assert refused(node.cluster_port), "init alone does not open it"
        assert client.sys.submit_unseal_key(init["keys"][0])["sealed"] is False

        server_cert, dropped = handshake(node.cluster_port)
        assert server_cert and b"coffer-cluster" in server_cert
        assert dropped, "a peer without a client certificate must be dropped"

        _, dropped = handshake(node.cluster_port, stranger_cert(tmp_path))
        assert dropped, "a certificate from another CA must be refused"

        # After a restart the certificate comes from behind the barrier: closed while sealed.
        node.stop()
        node.start()
        assert refused(node.cluster_port)
        assert node.client().sys.submit_unseal_key(init["keys"][0])["sealed"] is False
        again, _ = handshake(node.cluster_port)
        assert again == server_cert, "the same cluster certificate after a restart"
    finally:
        node.stop()
