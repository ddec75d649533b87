"""The transit secrets engine through hvac: every operation for every key type it applies to,
checked against an independent implementation (`cryptography`) where the format is Vault's."""
import base64
import json

import hvac
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from conftest import http, init_and_unseal
from transit_helpers import start_transit_node, b64, unb64, encrypt, decrypt

SYMMETRIC = ["aes256-gcm96", "chacha20-poly1305"]
ENCRYPTING = SYMMETRIC + ["rsa-2048"]
SIGNING = ["ed25519", "ecdsa-p256", "rsa-2048"]


@pytest.fixture(scope="module")
def transit(tmp_path_factory):
    """One unsealed node with transit mounted at transit/: (node, root client)."""
    node, _root, client = start_transit_node(tmp_path_factory, "transit")
    yield node, client
    node.stop()


@pytest.mark.parametrize("key_type", ENCRYPTING)
def test_encrypt_decrypt_round_trip_and_batches(transit, key_type):
    _, client = transit
    name = f"enc-{key_type}"
    client.secrets.transit.create_key(name=name, key_type=key_type)
    key = client.secrets.transit.read_key(name=name)["data"]
    assert key["type"] == key_type
    assert key["supports_encryption"] is True and key["supports_decryption"] is True
    assert key["latest_version"] == 1 and key["min_decryption_version"] == 1
    ct = encrypt(client, name, b"attack at dawn")
    assert ct.startswith("vault:v1:")
    assert decrypt(client, name, ct) == b"attack at dawn"
    assert encrypt(client, name, b"attack at dawn") != ct, "every encryption is randomised"

    batch = [{"plaintext": b64(f"item-{i}".encode()), "reference": f"r{i}"} for i in range(3)]
    out = client.secrets.transit.encrypt_data(name=name, batch_input=batch)["data"]["batch_results"]
    assert [r["reference"] for r in out] == ["r0", "r1", "r2"]
    assert all(r["ciphertext"].startswith("vault:v1:") and r["key_version"] == 1 for r in out)
    back = client.secrets.transit.decrypt_data(
        name=name, batch_input=[{"ciphertext": r["ciphertext"]} for r in out]
    )["data"]["batch_results"]
    assert [unb64(r["plaintext"]) for r in back] == [b"item-0", b"item-1", b"item-2"]


@pytest.mark.parametrize("key_type", SYMMETRIC)
def test_ciphertext_is_nonce_then_sealed_bytes_as_vault_lays_it_out(transit, key_type):
    _, client = transit
    name = f"layout-{key_type}"
    client.secrets.transit.create_key(name=name, key_type=key_type, exportable=True)
    ct = encrypt(client, name, b"interop")
    prefix, version, body = ct.split(":", 2)
    assert (prefix, version) == ("vault", "v1")
    raw = unb64(body)
    key = unb64(client.secrets.transit.export_key(name=name, key_type="encryption-key", version=1)["data"]["keys"]["1"])
    aead = AESGCM(key) if key_type == "aes256-gcm96" else ChaCha20Poly1305(key)
    assert aead.decrypt(raw[:12], raw[12:], None) == b"interop"
    # And the other way round: a ciphertext made outside decrypts inside.
    nonce = bytes(range(12))
    outside = "vault:v1:" + b64(nonce + aead.encrypt(nonce, b"from outside", None))
    assert decrypt(client, name, outside) == b"from outside"


def test_encrypt_creates_a_missing_key_and_derived_keys_need_their_context(transit):
    _, client = transit
    ct = encrypt(client, "upserted", b"x")
    assert client.secrets.transit.read_key(name="upserted")["data"]["type"] == "aes256-gcm96"
    assert decrypt(client, "upserted", ct) == b"x"
    client.secrets.transit.create_key(name="derived", derived=True)
    assert client.secrets.transit.read_key(name="derived")["data"]["kdf"] == "hkdf_sha256"
    ct = encrypt(client, "derived", b"tenant data", context=b64(b"tenant-1"))
    assert decrypt(client, "derived", ct, context=b64(b"tenant-1")) == b"tenant data"
    with pytest.raises(hvac.exceptions.InvalidRequest):
        decrypt(client, "derived", ct, context=b64(b"tenant-2"))
    with pytest.raises(hvac.exceptions.InvalidRequest, match="missing 'context'"):
        encrypt(client, "derived", b"no context")


def test_rotate_rewrap_and_min_decryption_version(transit):
    node, client = transit
    client.secrets.transit.create_key(name="rot")
    old = encrypt(client, "rot", b"written under v1")
    rotated = client.secrets.transit.rotate_key(name="rot")["data"]
    assert rotated["latest_version"] == 2
    assert set(client.secrets.transit.read_key(name="rot")["data"]["keys"]) == {"1", "2"}
    assert encrypt(client, "rot", b"new").startswith("vault:v2:")
    assert decrypt(client, "rot", old) == b"written under v1", "old ciphertexts still decrypt"
    pinned = client.secrets.transit.encrypt_data(name="rot", plaintext=b64(b"p"), key_version=1)["data"]
    assert pinned["ciphertext"].startswith("vault:v1:") and pinned["key_version"] == 1

    rewrapped = client.secrets.transit.rewrap_data(name="rot", ciphertext=old)["data"]["ciphertext"]
    assert rewrapped.startswith("vault:v2:")
    assert decrypt(client, "rot", rewrapped) == b"written under v1"
    batch = client.secrets.transit.rewrap_data(name="rot", ciphertext=None, batch_input=[{"ciphertext": old}])
    assert batch["data"]["batch_results"][0]["ciphertext"].startswith("vault:v2:")

    client.secrets.transit.update_key_configuration(name="rot", min_decryption_version=2)
    r = http(node, "POST", "transit/decrypt/rot", token=client.token, json={"ciphertext": old})
    assert r.status_code == 400
    assert r.json()["errors"] == ["ciphertext or signature version is disallowed by policy (too old)"]
    assert decrypt(client, "rot", rewrapped) == b"written under v1"
    assert set(client.secrets.transit.read_key(name="rot")["data"]["keys"]) == {"2"}
    # A batch with one refused item answers 400 and still carries every result.
    r = http(node, "POST", "transit/decrypt/rot", token=client.token,
             json={"batch_input": [{"ciphertext": rewrapped}, {"ciphertext": old}]})
    assert r.status_code == 400
    results = r.json()["data"]["batch_results"]
    assert unb64(results[0]["plaintext"]) == b"written under v1"
    assert "too old" in results[1]["error"]


def test_config_and_trim(transit):
    node, client = transit
    client.secrets.transit.create_key(name="trim")
    for _ in range(3):
        client.secrets.transit.rotate_key(name="trim")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="minimum encryption version is not set"):
        client.secrets.transit.trim_key(name="trim", min_version=2)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="latest key version is 4"):
        client.secrets.transit.update_key_configuration(name="trim", min_decryption_version=5)
    # (hvac refuses these two combinations itself, so they go through its adapter.)
    config = lambda body: client.adapter.post("/v1/transit/keys/trim/config", json=body)  # noqa: E731
    with pytest.raises(hvac.exceptions.InvalidRequest, match="must be greater than or equal to min decryption"):
        config({"min_decryption_version": 3, "min_encryption_version": 2})
    assert client.secrets.transit.read_key(name="trim")["data"]["min_decryption_version"] == 1, "a refused config changes nothing"
    config({"min_decryption_version": 3, "min_encryption_version": 4})
    with pytest.raises(hvac.exceptions.InvalidRequest, match="less than the minimum encryption key version"):
        client.secrets.transit.encrypt_data(name="trim", plaintext=b64(b"x"), key_version=3)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="greater than minimum decryption version"):
        client.secrets.transit.trim_key(name="trim", min_version=4)
    trimmed = client.secrets.transit.trim_key(name="trim", min_version=3)["data"]
    assert trimmed["min_available_version"] == 3
    with pytest.raises(hvac.exceptions.InvalidRequest, match="cannot be decremented"):
        client.secrets.transit.trim_key(name="trim", min_version=2)
    # Trimmed versions are gone for good: they cannot be brought back into view.
    with pytest.raises(hvac.exceptions.InvalidRequest, match="min available version"):
        client.secrets.transit.update_key_configuration(name="trim", min_decryption_version=1)
    assert set(client.secrets.transit.read_key(name="trim")["data"]["keys"]) == {"3", "4"}


@pytest.mark.parametrize("key_type", ENCRYPTING)
def test_datakeys(transit, key_type):
    _, client = transit
    name = f"dk-{key_type}"
    client.secrets.transit.create_key(name=name, key_type=key_type)
    for bits in (256, 512):
        plain = client.secrets.transit.generate_data_key(name=name, key_type="plaintext", bits=bits)["data"]
        key = unb64(plain["plaintext"])
        assert len(key) == bits // 8
        assert decrypt(client, name, plain["ciphertext"]) == key
    wrapped = client.secrets.transit.generate_data_key(name=name, key_type="wrapped")["data"]
    assert "plaintext" not in wrapped
    assert len(decrypt(client, name, wrapped["ciphertext"])) == 32
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.adapter.post(f"/v1/transit/datakey/plaintext/{name}", json={"bits": 100})


@pytest.mark.parametrize("key_type", SYMMETRIC + SIGNING)
def test_hmac_and_verify(transit, key_type):
    _, client = transit
    name = f"hmac-{key_type}"
    client.secrets.transit.create_key(name=name, key_type=key_type, exportable=True)
    mac = client.secrets.transit.generate_hmac(name=name, hash_input=b64(b"message"))["data"]["hmac"]
    assert mac.startswith("vault:v1:")
    hmac_key = unb64(client.secrets.transit.export_key(name=name, key_type="hmac-key")["data"]["keys"]["1"])
    import hmac as std_hmac
    import hashlib
    assert unb64(mac.split(":", 2)[2]) == std_hmac.new(hmac_key, b"message", hashlib.sha256).digest()
    verify = client.secrets.transit.verify_signed_data
    assert verify(name=name, hash_input=b64(b"message"), hmac=mac)["data"]["valid"] is True
    assert verify(name=name, hash_input=b64(b"messagE"), hmac=mac)["data"]["valid"] is False
    mac512 = client.secrets.transit.generate_hmac(name=name, hash_input=b64(b"m"), algorithm="sha2-512")["data"]["hmac"]
    assert len(unb64(mac512.split(":", 2)[2])) == 64
    batch = client.adapter.post(f"/v1/transit/hmac/{name}", json={"batch_input": [{"input": b64(b"a")}, {"input": b64(b"b")}]})
    macs = [r["hmac"] for r in batch["data"]["batch_results"]]
    checked = client.adapter.post(
        f"/v1/transit/verify/{name}",
        json={"batch_input": [{"input": b64(b"a"), "hmac": macs[0]}, {"input": b64(b"a"), "hmac": macs[1]}]},
    )["data"]["batch_results"]
    assert [r["valid"] for r in checked] == [True, False]


def public_key(client, name, version="1"):
    return client.secrets.transit.read_key(name=name)["data"]["keys"][version]["public_key"]


@pytest.mark.parametrize("key_type", SIGNING)
def test_sign_and_verify(transit, key_type):
    _, client = transit
    name = f"sig-{key_type}"
    client.secrets.transit.create_key(name=name, key_type=key_type)
    key = client.secrets.transit.read_key(name=name)["data"]
    assert key["supports_signing"] is True and key["supports_derivation"] is (key_type == "ed25519")
    sig = client.secrets.transit.sign_data(name=name, hash_input=b64(b"signed message"))["data"]["signature"]
    assert sig.startswith("vault:v1:")
    verify = client.secrets.transit.verify_signed_data
    assert verify(name=name, hash_input=b64(b"signed message"), signature=sig)["data"]["valid"] is True
    assert verify(name=name, hash_input=b64(b"signed messagE"), signature=sig)["data"]["valid"] is False

    # The signature verifies outside Coffer with the public key `read` shows.
    raw = unb64(sig.split(":", 2)[2])
    pub = public_key(client, name)
    if key_type == "ed25519":
        ed25519.Ed25519PublicKey.from_public_bytes(unb64(pub)).verify(raw, b"signed message")
    elif key_type == "ecdsa-p256":
        serialization.load_pem_public_key(pub.encode()).verify(raw, b"signed message", ec.ECDSA(hashes.SHA256()))
    else:
        serialization.load_pem_public_key(pub.encode()).verify(
            raw, b"signed message",
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO), hashes.SHA256())

    # After a rotation, old signatures still verify; min_decryption_version retires them.
    client.secrets.transit.rotate_key(name=name)
    new_sig = client.secrets.transit.sign_data(name=name, hash_input=b64(b"m2"))["data"]["signature"]
    assert new_sig.startswith("vault:v2:")
    assert verify(name=name, hash_input=b64(b"signed message"), signature=sig)["data"]["valid"] is True
    client.secrets.transit.update_key_configuration(name=name, min_decryption_version=2)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="too old"):
        verify(name=name, hash_input=b64(b"signed message"), signature=sig)

    batch = client.secrets.transit.sign_data(name=name, batch_input=[{"input": b64(b"x")}, {"input": b64(b"y")}])
    sigs = [r["signature"] for r in batch["data"]["batch_results"]]
    assert all(s.startswith("vault:v2:") for s in sigs)
    checked = client.adapter.post(
        f"/v1/transit/verify/{name}",
        json={"batch_input": [{"input": b64(b"x"), "signature": sigs[0]}, {"input": b64(b"x"), "signature": sigs[1]}]},
    )["data"]["batch_results"]
    assert [r["valid"] for r in checked] == [True, False]


def test_signature_options_ecdsa_jws_rsa_pkcs1v15_prehashed(transit):
    _, client = transit
    sign, verify = client.secrets.transit.sign_data, client.secrets.transit.verify_signed_data
    client.secrets.transit.create_key(name="ec-opts", key_type="ecdsa-p256")
    jws = sign(name="ec-opts", hash_input=b64(b"m"), marshaling_algorithm="jws")["data"]["signature"]
    raw = base64.urlsafe_b64decode(jws.split(":", 2)[2] + "==")
    assert len(raw) == 64, "JWS marshaling is r|s"
    assert verify(name="ec-opts", hash_input=b64(b"m"), signature=jws, marshaling_algorithm="jws")["data"]["valid"] is True
    sha384 = sign(name="ec-opts", hash_input=b64(b"m"), hash_algorithm="sha2-384")["data"]["signature"]
    serialization.load_pem_public_key(public_key(client, "ec-opts").encode()).verify(
        unb64(sha384.split(":", 2)[2]), b"m", ec.ECDSA(hashes.SHA384()))
    with pytest.raises(hvac.exceptions.InvalidRequest, match="supplied signature is invalid"):
        verify(name="ec-opts", hash_input=b64(b"m"), signature="vault:v1:" + b64(b"not DER"))

    client.secrets.transit.create_key(name="rsa-opts", key_type="rsa-2048")
    pub = serialization.load_pem_public_key(public_key(client, "rsa-opts").encode())
    pkcs = sign(name="rsa-opts", hash_input=b64(b"m"), signature_algorithm="pkcs1v15")["data"]["signature"]
    pub.verify(unb64(pkcs.split(":", 2)[2]), b"m", padding.PKCS1v15(), hashes.SHA256())
    assert verify(name="rsa-opts", hash_input=b64(b"m"), signature=pkcs, signature_algorithm="pkcs1v15")["data"]["valid"] is True
    assert verify(name="rsa-opts", hash_input=b64(b"m"), signature=pkcs)["data"]["valid"] is False, "not a PSS signature"
    digest = hashes.Hash(hashes.SHA256())
    digest.update(b"big document")
    prehashed = sign(name="rsa-opts", hash_input=b64(digest.finalize()), prehashed=True)["data"]["signature"]
    pub.verify(unb64(prehashed.split(":", 2)[2]), b"big document",
               padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO), hashes.SHA256())

    client.secrets.transit.create_key(name="aes-nosign")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="does not support signing"):
        sign(name="aes-nosign", hash_input=b64(b"m"))


def test_export_only_when_exportable(transit):
    _, client = transit
    export = client.secrets.transit.export_key
    client.secrets.transit.create_key(name="locked", key_type="ed25519")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="not exportable"):
        export(name="locked", key_type="signing-key")
    client.secrets.transit.update_key_configuration(name="locked", exportable=True)
    private = unb64(export(name="locked", key_type="signing-key", version="latest")["data"]["keys"]["1"])
    assert len(private) == 64
    sk = ed25519.Ed25519PrivateKey.from_private_bytes(private[:32])
    pub = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert pub == private[32:] and b64(pub) == public_key(client, "locked")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="encryption not supported"):
        export(name="locked", key_type="encryption-key")
    # Exportable cannot be switched off again.
    client.secrets.transit.update_key_configuration(name="locked", exportable=False)
    assert client.secrets.transit.read_key(name="locked")["data"]["exportable"] is True

    client.secrets.transit.create_key(name="ec-export", key_type="ecdsa-p256", exportable=True)
    pem = export(name="ec-export", key_type="signing-key")["data"]["keys"]["1"]
    assert pem.startswith("-----BEGIN EC PRIVATE KEY-----")
    ec_key = serialization.load_pem_private_key(pem.encode(), password=None)
    sig = unb64(client.secrets.transit.sign_data(name="ec-export", hash_input=b64(b"z"))["data"]["signature"].split(":", 2)[2])
    ec_key.public_key().verify(sig, b"z", ec.ECDSA(hashes.SHA256()))

    client.secrets.transit.create_key(name="rsa-export", key_type="rsa-2048", exportable=True)
    for kind in ("encryption-key", "signing-key"):
        pem = export(name="rsa-export", key_type=kind)["data"]["keys"]["1"]
        assert pem.startswith("-----BEGIN RSA PRIVATE KEY-----")
    rsa_key = serialization.load_pem_private_key(pem.encode(), password=None)
    ct = encrypt(client, "rsa-export", b"for the holder of the key")
    plain = rsa_key.decrypt(unb64(ct.split(":", 2)[2]),
                            padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    assert plain == b"for the holder of the key"


def test_list_and_delete_only_when_allowed(transit):
    node, client = transit
    client.secrets.transit.create_key(name="doomed")
    assert "doomed" in client.secrets.transit.list_keys()["data"]["keys"]
    with pytest.raises(hvac.exceptions.InvalidRequest, match="deletion is not allowed"):
        client.secrets.transit.delete_key(name="doomed")
    assert client.secrets.transit.read_key(name="doomed")["data"]["deletion_allowed"] is False
    client.secrets.transit.update_key_configuration(name="doomed", deletion_allowed=True)
    client.secrets.transit.delete_key(name="doomed")
    assert "doomed" not in client.secrets.transit.list_keys()["data"]["keys"]
    assert http(node, "GET", "transit/keys/doomed", token=client.token).status_code == 404


def test_bad_input_is_a_vault_error_and_changes_nothing(transit):
    node, client = transit
    client.secrets.transit.create_key(name="strict")
    before = client.secrets.transit.read_key(name="strict")["data"]
    cases = [
        ("transit/keys/strict2", {"type": "aes1024"}),
        ("transit/encrypt/strict", {"plaintext": "not base64!"}),
        ("transit/encrypt/strict", {}),
        ("transit/decrypt/strict", {"ciphertext": "vault:v9:AAAA"}),
        ("transit/decrypt/strict", {"ciphertext": "nope"}),
        ("transit/keys/strict/config", {"min_decryption_version": 7}),
        ("transit/keys/strict/trim", {"min_available_version": 1}),
        ("transit/encrypt/strict", {"plaintext": b64(b"x"), "batch_input": []}),
    ]
    for path, body in cases:
        r = http(node, "POST", path, token=client.token, json=body)
        assert r.status_code == 400, (path, body, r.text)
        assert isinstance(r.json()["errors"], list) and r.json()["errors"], r.text
    assert http(node, "GET", "transit/keys/strict2", token=client.token).status_code == 404
    assert client.secrets.transit.read_key(name="strict")["data"] == before
    assert http(node, "POST", "transit/nonsense/strict", token=client.token, json={}).status_code == 404
    assert http(node, "GET", "transit/encrypt/strict", token=client.token).status_code == 405


def test_random_and_hash(transit):
    _, client = transit
    rnd = client.secrets.transit.generate_random_bytes(n_bytes=48)["data"]["random_bytes"]
    assert len(unb64(rnd)) == 48
    hexed = client.adapter.post("/v1/transit/random/16", json={"format": "hex"})["data"]["random_bytes"]
    assert len(bytes.fromhex(hexed)) == 16
    import hashlib
    got = client.secrets.transit.hash_data(hash_input=b64(b"abc"), algorithm="sha2-512")["data"]["sum"]
    assert got == hashlib.sha512(b"abc").hexdigest()


def test_policy_limits_transit_paths_and_creating_by_encrypt_needs_create(transit):
    node, client = transit
    client.secrets.transit.create_key(name="scoped")
    client.sys.create_or_update_policy(
        name="encrypt-only", policy='path "transit/encrypt/*" { capabilities = ["update"] }')
    token = client.auth.token.create(policies=["encrypt-only"], ttl="1h")["auth"]["client_token"]
    limited = node.client(token)
    ct = encrypt(limited, "scoped", b"x")
    with pytest.raises(hvac.exceptions.Forbidden):
        decrypt(limited, "scoped", ct)
    # Encrypting to a missing key would create it: that needs `create`, which the policy lacks.
    with pytest.raises(hvac.exceptions.Forbidden):
        encrypt(limited, "not-yet", b"x")
    assert http(node, "GET", "transit/keys/not-yet", token=client.token).status_code == 404


def test_no_plaintext_key_material_under_the_data_dir(node):
    root, _ = init_and_unseal(node)
    client = node.client(root)
    client.sys.enable_secrets_engine(backend_type="transit", path="transit")
    needles = []
    for key_type in ("aes256-gcm96", "chacha20-poly1305", "ed25519"):
        name = f"scan-{key_type}"
        client.secrets.transit.create_key(name=name, key_type=key_type, exportable=True)
        kind = "signing-key" if key_type == "ed25519" else "encryption-key"
        for export_type in (kind, "hmac-key"):
            material = unb64(client.secrets.transit.export_key(name=name, key_type=export_type)["data"]["keys"]["1"])
            needles.append(material[:32])
    for key_type in ("ecdsa-p256", "rsa-2048"):
        name = f"scan-{key_type}"
        client.secrets.transit.create_key(name=name, key_type=key_type, exportable=True)
        pem = client.secrets.transit.export_key(name=name, key_type="signing-key")["data"]["keys"]["1"]
        private = serialization.load_pem_private_key(pem.encode(), password=None)
        der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
        if key_type == "ecdsa-p256":
            needles.append(private.private_numbers().private_value.to_bytes(32, "big"))
        else:
            needles.append(der[-64:])
    plaintext = b"transit-plaintext-never-stored-3b1d"
    encrypt(client, "scan-aes256-gcm96", plaintext)
    node.stop()  # flush RocksDB memtables to files
    forms = []
    for raw in needles + [plaintext]:
        forms.append(raw)
        for pad in range(3):
            encoded = base64.b64encode(b"\0" * pad + raw).rstrip(b"=")
            start = (pad * 4 + 2) // 3
            forms.append(encoded[start:-2])
        forms.append(json.dumps(list(raw), separators=(",", ":")).encode()[1:-1])
    files = [p for p in node.data_dir.rglob("*") if p.is_file()]
    assert files
    for path in files:
        blob = path.read_bytes()
        for needle in forms:
            assert needle not in blob, f"key material found in {path}"
