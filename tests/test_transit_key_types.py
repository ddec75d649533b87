"""Transit's larger key types (aes128-gcm96, ecdsa-p384/p521, rsa-3072/4096, hmac), checked
against an independent implementation (`cryptography`): what Coffer encrypts, signs or MACs
opens or verifies outside it with the exported or public key."""
import base64
import hashlib
import hmac as py_hmac

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conftest import assert_vault_error, http
from transit_helpers import start_transit_node, b64, unb64


@pytest.fixture(scope="module")
def transit(tmp_path_factory):
    node, root, client = start_transit_node(tmp_path_factory, "transit-types")
    yield node, root, client
    node.stop()


def test_aes128_gcm96_encrypts_with_a_16_byte_key(transit):
    node, root, client = transit
    # hvac does not list aes128-gcm96 among its key types: raw HTTP, as Vault's API has it.
    r = http(node, "POST", "transit/keys/a128", token=root, json={"type": "aes128-gcm96", "exportable": True})
    assert r.status_code == 200, r.text
    key = client.secrets.transit.read_key(name="a128")["data"]
    assert key["type"] == "aes128-gcm96" and key["supports_encryption"] is True
    ct = client.secrets.transit.encrypt_data(name="a128", plaintext=b64(b"sixteen bytes!"))["data"]["ciphertext"]
    raw = unb64(ct.split(":", 2)[2])
    exported = client.secrets.transit.export_key(name="a128", key_type="encryption-key", version=1)
    material = unb64(exported["data"]["keys"]["1"])
    assert len(material) == 16
    assert AESGCM(material).decrypt(raw[:12], raw[12:], None) == b"sixteen bytes!"
    # Derived AES-128 keys work too (the derived key is 16 bytes as well).
    http(node, "POST", "transit/keys/a128d", token=root, json={"type": "aes128-gcm96", "derived": True})
    ctx = b64(b"tenant")
    ct = client.secrets.transit.encrypt_data(name="a128d", plaintext=b64(b"x"), context=ctx)["data"]["ciphertext"]
    assert unb64(client.secrets.transit.decrypt_data(name="a128d", ciphertext=ct, context=ctx)["data"]["plaintext"]) == b"x"


@pytest.mark.parametrize("key_type,curve,hash_name", [
    ("ecdsa-p384", "P-384", "sha2-384"),
    ("ecdsa-p521", "P-521", "sha2-512"),
    ("ecdsa-p521", "P-521", "sha2-256"),
])
def test_ecdsa_p384_and_p521_signatures_verify_outside(transit, key_type, curve, hash_name):
    _, _, client = transit
    name = f"sig-{key_type}-{hash_name}"
    client.secrets.transit.create_key(name=name, key_type=key_type, exportable=True)
    key = client.secrets.transit.read_key(name=name)["data"]
    assert key["supports_signing"] is True and key["supports_encryption"] is False
    assert key["keys"]["1"]["name"] == curve
    public = serialization.load_pem_public_key(key["keys"]["1"]["public_key"].encode())
    algo = {"sha2-256": hashes.SHA256(), "sha2-384": hashes.SHA384(), "sha2-512": hashes.SHA512()}[hash_name]
    for marshaling in ("asn1", "jws"):
        sig = client.secrets.transit.sign_data(
            name=name, hash_input=b64(b"message"), hash_algorithm=hash_name, marshaling_algorithm=marshaling,
        )["data"]["signature"]
        body = sig.split(":", 2)[2]
        if marshaling == "asn1":
            der = unb64(body)
        else:
            raw = base64.urlsafe_b64decode(body + "==")
            half = len(raw) // 2
            der = encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))
        public.verify(der, b"message", ec.ECDSA(algo))
        assert client.secrets.transit.verify_signed_data(
            name=name, hash_input=b64(b"message"), signature=sig, hash_algorithm=hash_name,
            marshaling_algorithm=marshaling,
        )["data"]["valid"] is True
    # The exported private key is an EC PRIVATE KEY on the same curve.
    pem = client.secrets.transit.export_key(name=name, key_type="signing-key", version=1)["data"]["keys"]["1"]
    private = serialization.load_pem_private_key(pem.encode(), password=None)
    assert private.curve.name == {"P-384": "secp384r1", "P-521": "secp521r1"}[curve]


@pytest.mark.parametrize("key_type,bits", [("rsa-3072", 3072), ("rsa-4096", 4096)])
def test_rsa_3072_and_4096_encrypt_and_sign(transit, key_type, bits):
    _, _, client = transit
    name = f"rsa-{bits}"
    client.secrets.transit.create_key(name=name, key_type=key_type, exportable=True)
    key = client.secrets.transit.read_key(name=name)["data"]
    assert key["type"] == key_type and key["keys"]["1"]["name"] == key_type
    public = serialization.load_pem_public_key(key["keys"]["1"]["public_key"].encode())
    assert public.key_size == bits
    ct = client.secrets.transit.encrypt_data(name=name, plaintext=b64(b"rsa secret"))["data"]["ciphertext"]
    assert unb64(client.secrets.transit.decrypt_data(name=name, ciphertext=ct)["data"]["plaintext"]) == b"rsa secret"
    pem = client.secrets.transit.export_key(name=name, key_type="encryption-key", version=1)["data"]["keys"]["1"]
    private = serialization.load_pem_private_key(pem.encode(), password=None)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    assert private.decrypt(unb64(ct.split(":", 2)[2]), oaep) == b"rsa secret"
    sig = client.secrets.transit.sign_data(name=name, hash_input=b64(b"m"))["data"]["signature"]
    public.verify(unb64(sig.split(":", 2)[2]), b"m",
                  padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO), hashes.SHA256())


def test_hmac_keys_take_a_key_size_and_only_mac(transit):
    node, root, client = transit
    # hvac does not list `hmac` among its key types: raw HTTP.
    r = http(node, "POST", "transit/keys/mac", token=root, json={"type": "hmac", "key_size": 64, "exportable": True})
    assert r.status_code == 200, r.text
    key = r.json()["data"]
    assert key["type"] == "hmac" and key["supports_encryption"] is False and key["supports_signing"] is False
    assert isinstance(key["keys"]["1"], int)
    material = unb64(client.secrets.transit.export_key(name="mac", key_type="hmac-key", version=1)["data"]["keys"]["1"])
    assert len(material) == 64
    mac = client.secrets.transit.generate_hmac(name="mac", hash_input=b64(b"data"), algorithm="sha2-512")["data"]["hmac"]
    assert unb64(mac.split(":", 2)[2]) == py_hmac.new(material, b"data", hashlib.sha512).digest()
    assert client.secrets.transit.verify_signed_data(
        name="mac", hash_input=b64(b"data"), hmac=mac, hash_algorithm="sha2-512")["data"]["valid"] is True

    r = http(node, "POST", "transit/encrypt/mac", token=root, json={"plaintext": b64(b"x")})
    assert_vault_error(r, 400)
    assert r.json()["errors"] == ["message encryption not supported for key type hmac"]
    assert_vault_error(http(node, "POST", "transit/sign/mac", token=root, json={"input": b64(b"x")}), 400)
    r = http(node, "POST", "transit/keys/mac-default", token=root, json={"type": "hmac", "exportable": True})
    assert r.status_code == 200, r.text
    exported = client.secrets.transit.export_key(name="mac-default", key_type="hmac-key", version=1)
    assert len(unb64(exported["data"]["keys"]["1"])) == 32, "Vault's default key_size"
    # Vault's key_size rules.
    r = http(node, "POST", "transit/keys/mac-small", token=root, json={"type": "hmac", "key_size": 16})
    assert_vault_error(r, 400)
    assert r.json()["errors"] == ["invalid key_size 16"]
    r = http(node, "POST", "transit/keys/aes-sized", token=root, json={"type": "aes256-gcm96", "key_size": 64})
    assert_vault_error(r, 400)
    assert r.json()["errors"] == ["key_size is not valid for algorithm aes256-gcm96"]
    assert_vault_error(http(node, "POST", "transit/keys/mac-derived", token=root,
                            json={"type": "hmac", "derived": True}), 400)
