"""Transit BYOK: `wrapping_key`, `keys/<name>/import` and `import_version`, with the key
material wrapped here with `cryptography` as a client would (RSA-OAEP of an ephemeral AES-256
key, then AES-KWP of the material), and what Coffer then does checked with the known key."""
import os

import hvac
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from conftest import assert_vault_error, http
from transit_helpers import start_transit_node, b64, unb64, encrypt, decrypt


@pytest.fixture(scope="module")
def transit(tmp_path_factory):
    node, root, client = start_transit_node(tmp_path_factory, "transit-import")
    yield node, root, client
    node.stop()


def wrap_for_import(node, root, material: bytes, hash_algorithm=hashes.SHA256()) -> str:
    """What a BYOK client does: OAEP-wrap an ephemeral AES-256 key under the mount's wrapping
    key, then AES-KWP-wrap the key material under the ephemeral key."""
    r = http(node, "GET", "transit/wrapping_key", token=root)
    assert r.status_code == 200, r.text
    wrapping = serialization.load_pem_public_key(r.json()["data"]["public_key"].encode())
    assert wrapping.key_size == 4096
    ephemeral = os.urandom(32)
    oaep = padding.OAEP(mgf=padding.MGF1(hash_algorithm), algorithm=hash_algorithm, label=None)
    return b64(wrapping.encrypt(ephemeral, oaep) + aes_key_wrap_with_padding(ephemeral, material))


def local_decrypt(material: bytes, ciphertext: str) -> bytes:
    raw = unb64(ciphertext.split(":", 2)[2])
    return AESGCM(material).decrypt(raw[:12], raw[12:], None)


def test_import_an_aes_key_made_outside(transit):
    node, root, client = transit
    first = AESGCM.generate_key(bit_length=256)
    r = http(node, "POST", "transit/keys/byok/import", token=root,
             json={"ciphertext": wrap_for_import(node, root, first), "type": "aes256-gcm96"})
    assert r.status_code == 204, r.text
    key = client.secrets.transit.read_key(name="byok")["data"]
    assert key["imported_key"] is True and key["latest_version"] == 1
    ct = encrypt(client, "byok", b"imported")
    assert local_decrypt(first, ct) == b"imported"

    # The wrapping key is the mount's own and stays the same.
    pems = {http(node, "GET", "transit/wrapping_key", token=root).json()["data"]["public_key"] for _ in range(2)}
    assert len(pems) == 1

    # An imported key is not rotated here unless its import allowed it; new material comes in
    # through import_version.
    with pytest.raises(hvac.exceptions.InternalServerError, match="does not allow rotation"):
        client.secrets.transit.rotate_key(name="byok")
    second = AESGCM.generate_key(bit_length=256)
    r = http(node, "POST", "transit/keys/byok/import_version", token=root,
             json={"ciphertext": wrap_for_import(node, root, second)})
    assert r.status_code == 204, r.text
    ct2 = encrypt(client, "byok", b"second")
    assert ct2.startswith("vault:v2:") and local_decrypt(second, ct2) == b"second"
    assert decrypt(client, "byok", ct) == b"imported"

    r = http(node, "POST", "transit/keys/byok/import", token=root,
             json={"ciphertext": wrap_for_import(node, root, first)})
    assert_vault_error(r, 500)
    client.secrets.transit.create_key(name="made-here")
    r = http(node, "POST", "transit/keys/made-here/import_version", token=root,
             json={"ciphertext": wrap_for_import(node, root, second)})
    assert_vault_error(r, 500)
    assert r.json()["errors"] == ["the import_version endpoint can only be used with an imported key"]
    # Material of the wrong size for the type, and an unknown hash, are refused.
    r = http(node, "POST", "transit/keys/short/import", token=root,
             json={"ciphertext": wrap_for_import(node, root, first[:16]), "type": "aes256-gcm96"})
    assert_vault_error(r, 400)
    r = http(node, "POST", "transit/keys/md5/import", token=root,
             json={"ciphertext": wrap_for_import(node, root, first), "hash_function": "MD5"})
    assert_vault_error(r, 400)


def test_import_an_ecdsa_key_with_sha1_oaep(transit):
    node, root, client = transit
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    r = http(node, "POST", "transit/keys/byok-ec/import", token=root, json={
        "ciphertext": wrap_for_import(node, root, der, hashes.SHA1()), "hash_function": "SHA1",
        "type": "ecdsa-p256", "allow_rotation": True,
    })
    assert r.status_code == 204, r.text
    sig = client.secrets.transit.sign_data(name="byok-ec", hash_input=b64(b"m"))["data"]["signature"]
    private.public_key().verify(unb64(sig.split(":", 2)[2]), b"m", ec.ECDSA(hashes.SHA256()))
    client.secrets.transit.rotate_key(name="byok-ec")  # allow_rotation
    assert client.secrets.transit.read_key(name="byok-ec")["data"]["latest_version"] == 2
