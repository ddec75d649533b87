"""What every transit test file needs: base64 both ways, a node with transit mounted at
transit/, and encrypt/decrypt through hvac."""
import base64

from conftest import Node, init_and_unseal


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def start_transit_node(tmp_path_factory, name):
    """One unsealed node with transit mounted at transit/: (node, root token, root client)."""
    node = Node(tmp_path_factory.mktemp(name)).start()
    root, _ = init_and_unseal(node)
    client = node.client(root)
    client.sys.enable_secrets_engine(backend_type="transit", path="transit")
    return node, root, client


def encrypt(client, name, plaintext: bytes, **kw) -> str:
    return client.secrets.transit.encrypt_data(name=name, plaintext=b64(plaintext), **kw)["data"]["ciphertext"]


def decrypt(client, name, ciphertext: str, **kw) -> bytes:
    return unb64(client.secrets.transit.decrypt_data(name=name, ciphertext=ciphertext, **kw)["data"]["plaintext"])
