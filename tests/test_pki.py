"""The pki secrets engine through hvac (raw HTTP where hvac has no method): a root CA, roles,
issue and sign, revocation and the CRL, tidy, and an intermediate CA. Certificates are checked
outside Coffer: `openssl verify` for chains, Python's `cryptography` for contents and CRLs."""
import datetime
import json
import subprocess
import time

import hvac
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conftest import Node, assert_vault_error, cli, http, init_and_unseal

TEN_YEARS = "87600h"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """One unsealed node with pki mounted at pki/ (max TTL ten years) and a root CA:
    (node, root token, client, root generate answer)."""
    node = Node(tmp_path_factory.mktemp("pki")).start()
    root, _ = init_and_unseal(node)
    client = node.client(root)
    client.sys.enable_secrets_engine(backend_type="pki", path="pki")
    client.sys.tune_mount_configuration(path="pki", max_lease_ttl=TEN_YEARS)
    generated = client.secrets.pki.generate_root(
        type="internal", common_name="Coffer Test Root", extra_params={"ttl": TEN_YEARS, "issuer_name": "root-2026"}
    )
    yield node, root, client, generated["data"]
    node.stop()


def cert_of(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def serial_text(cert: x509.Certificate) -> str:
    raw = cert.serial_number.to_bytes((cert.serial_number.bit_length() + 7) // 8, "big")
    return ":".join(f"{b:02x}" for b in raw)


def openssl_verify(tmp_path, ca_pem: str, leaf_pem: str, untrusted: str = "") -> subprocess.CompletedProcess:
    (tmp_path / "ca.pem").write_text(ca_pem)
    (tmp_path / "leaf.pem").write_text(leaf_pem)
    args = ["openssl", "verify", "-CAfile", str(tmp_path / "ca.pem")]
    if untrusted:
        (tmp_path / "untrusted.pem").write_text(untrusted)
        args += ["-untrusted", str(tmp_path / "untrusted.pem")]
    return subprocess.run(args + [str(tmp_path / "leaf.pem")], capture_output=True, text=True)


def test_root_generate_answers_vaults_shape_and_the_ca_is_published(pki):
    node, root, client, gen = pki
    for field in ("certificate", "issuing_ca", "serial_number", "expiration", "issuer_id", "key_id"):
        assert gen[field], field
    assert "private_key" not in gen, "internal roots never return their key"
    assert gen["issuer_name"] == "root-2026"
    ca = cert_of(gen["certificate"])
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Coffer Test Root"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert serial_text(ca) == gen["serial_number"]
    lifetime = ca.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(days=3640) < lifetime < datetime.timedelta(days=3651)
    assert isinstance(ca.public_key(), rsa.RSAPublicKey) and ca.public_key().key_size == 2048

    # ca/pem (hvac), ca (DER), cert/<serial>, certs, issuers, issuer/<ref>.
    assert client.secrets.pki.read_ca_certificate().strip() == gen["certificate"].strip()
    der = http(node, "GET", "pki/ca", token=root)
    assert der.status_code == 200 and der.headers["Content-Type"] == "application/pkix-cert"
    assert x509.load_der_x509_certificate(der.content) == ca
    assert client.secrets.pki.read_certificate(gen["serial_number"])["data"]["certificate"].strip() == gen["certificate"].strip()
    assert gen["serial_number"] in client.secrets.pki.list_certificates()["data"]["keys"]
    issuers = client.secrets.pki.list_issuers()["data"]
    assert issuers["keys"] == [gen["issuer_id"]]
    assert issuers["key_info"][gen["issuer_id"]]["is_default"] is True
    by_name = client.secrets.pki.read_issuer("root-2026")["data"]
    assert by_name["issuer_id"] == gen["issuer_id"] and by_name["key_id"] == gen["key_id"]
    assert client.secrets.pki.read_issuer("default")["data"]["ca_chain"] == [gen["certificate"]]
    assert "private_key" not in http(node, "GET", f"pki/key/{gen['key_id']}", token=root).json()["data"]


def test_exported_roots_return_their_key_once_for_each_key_type(pki, tmp_path):
    node, root, client, _ = pki
    client.sys.enable_secrets_engine(backend_type="pki", path="pki-exp")
    for key_type, key_bits, cls in (("ec", 384, ec.EllipticCurvePrivateKey), ("ed25519", 0, ed25519.Ed25519PrivateKey), ("rsa", 3072, rsa.RSAPrivateKey)):
        answer = client.secrets.pki.generate_root(
            type="exported", common_name=f"{key_type} root", mount_point="pki-exp",
            extra_params={"key_type": key_type, "key_bits": key_bits, "ttl": "24h"},
        )["data"]
        key = serialization.load_pem_private_key(answer["private_key"].encode(), password=None)
        assert isinstance(key, cls) and answer["private_key_type"] == key_type
        cert = cert_of(answer["certificate"])
        assert cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == \
            key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        assert openssl_verify(tmp_path, answer["certificate"], answer["certificate"]).returncode == 0
    # The first root stays the default; its key never appears again.
    issuers = client.secrets.pki.list_issuers(mount_point="pki-exp")["data"]
    assert sum(1 for i in issuers["key_info"].values() if i["is_default"]) == 1
    bad = http(node, "POST", "pki-exp/root/generate/internal", token=root, json={"common_name": "x", "key_type": "ec", "key_bits": 1024})
    assert "unsupported bit length for EC key: 1024" in assert_vault_error(bad, 400)[0]
    missing = http(node, "POST", "pki-exp/root/generate/internal", token=root, json={"ttl": "1h"})
    assert "common_name field is required" in assert_vault_error(missing, 400)[0]


def test_issued_certificate_verifies_with_openssl_and_carries_the_role(pki, tmp_path):
    node, root, client, gen = pki
    client.secrets.pki.create_or_update_role(
        "web", {"allowed_domains": ["example.com"], "allow_subdomains": True, "max_ttl": "72h", "client_flag": False}
    )
    role = client.secrets.pki.read_role("web")["data"]
    assert role["allowed_domains"] == ["example.com"] and role["allow_subdomains"] is True
    assert role["max_ttl"] == 72 * 3600 and role["key_type"] == "rsa" and role["key_bits"] == 2048
    assert "web" in client.secrets.pki.list_roles()["data"]["keys"]

    issued = client.secrets.pki.generate_certificate(
        "web", "app.example.com", extra_params={"alt_names": "api.example.com", "ip_sans": "10.0.0.1", "ttl": "1h"}
    )["data"]
    for field in ("certificate", "issuing_ca", "ca_chain", "private_key", "private_key_type", "serial_number", "expiration"):
        assert issued[field], field
    assert issued["issuing_ca"].strip() == gen["certificate"].strip()
    assert issued["private_key_type"] == "rsa"
    ca_pem = client.secrets.pki.read_ca_certificate()
    result = openssl_verify(tmp_path, ca_pem, issued["certificate"])
    assert result.returncode == 0, result.stdout + result.stderr

    cert = cert_of(issued["certificate"])
    assert serial_text(cert) == issued["serial_number"]
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "app.example.com"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"app.example.com", "api.example.com"}
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["10.0.0.1"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert datetime.timedelta(minutes=59) < lifetime <= datetime.timedelta(hours=1, seconds=31)
    assert int(cert.not_valid_after_utc.timestamp()) == issued["expiration"]
    key = serialization.load_pem_private_key(issued["private_key"].encode(), password=None)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()

    # A TTL above the role's max is capped with Vault's warning.
    capped = client.secrets.pki.generate_certificate("web", "b.example.com", extra_params={"ttl": "1000h"})
    assert any("maxTTL" in w for w in capped["warnings"])
    capped_cert = cert_of(capped["data"]["certificate"])
    assert capped_cert.not_valid_after_utc - capped_cert.not_valid_before_utc <= datetime.timedelta(hours=72, seconds=31)


def test_names_outside_the_role_are_refused_with_vaults_messages(pki):
    node, root, client, _ = pki
    client.secrets.pki.create_or_update_role("narrow", {"allowed_domains": "example.com", "allow_subdomains": True, "allow_ip_sans": False})
    cases = [
        ({"common_name": "evil.com"}, "common name evil.com not allowed by this role"),
        ({"common_name": "example.com"}, "common name example.com not allowed by this role"),
        ({"common_name": "a.example.com", "alt_names": "b.other.org"}, "subject alternate name b.other.org not allowed by this role"),
        ({"common_name": "a.example.com", "ip_sans": "127.0.0.1"}, "IP Subject Alternative Names are not allowed in this role"),
        ({"common_name": "bad_name.example.com"}, "common name bad_name.example.com not allowed by this role"),
    ]
    for body, message in cases:
        errors = assert_vault_error(http(node, "POST", "pki/issue/narrow", token=root, json=body), 400)
        assert message in errors[0], (body, errors)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="unknown role: nope"):
        client.secrets.pki.generate_certificate("nope", "a.example.com")
    # allow_bare_domains and allow_any_name widen it; localhost is allowed by default.
    client.secrets.pki.create_or_update_role("bare", {"allowed_domains": "example.com", "allow_bare_domains": True})
    assert client.secrets.pki.generate_certificate("bare", "example.com")["data"]["certificate"]
    assert client.secrets.pki.generate_certificate("bare", "localhost")["data"]["certificate"]
    client.secrets.pki.create_or_update_role("any", {"allow_any_name": True, "key_type": "ec"})
    anything = client.secrets.pki.generate_certificate("any", "whatever.internal")["data"]
    assert anything["private_key_type"] == "ec"
    assert isinstance(cert_of(anything["certificate"]).public_key(), ec.EllipticCurvePublicKey)
    bad_role = http(node, "POST", "pki/roles/bad", token=root, json={"ttl": "2h", "max_ttl": "1h"})
    assert assert_vault_error(bad_role, 400)


def test_sign_takes_a_csr_and_checks_its_names(pki, tmp_path):
    node, root, client, gen = pki
    client.secrets.pki.create_or_update_role("signer", {"allowed_domains": "example.com", "allow_subdomains": True, "key_type": "ec"})
    key = ec.generate_private_key(ec.SECP256R1())

    def csr(cn, *dns):
        builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        if dns:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False)
        return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()

    signed = client.secrets.pki.sign_certificate("signer", csr("svc.example.com", "alt.example.com"), "svc.example.com")["data"]
    assert "private_key" not in signed
    cert = cert_of(signed["certificate"])
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"svc.example.com", "alt.example.com"}
    assert openssl_verify(tmp_path, gen["certificate"], signed["certificate"]).returncode == 0
    refused = http(node, "POST", "pki/sign/signer", token=root, json={"csr": csr("svc.example.com", "x.evil.org")})
    assert "subject alternate name x.evil.org not allowed by this role" in assert_vault_error(refused, 400)[0]
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_csr = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "r.example.com")])
    ).sign(rsa_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()
    wrong_type = http(node, "POST", "pki/sign/signer", token=root, json={"csr": rsa_csr})
    assert "role requires keys of type ec" in assert_vault_error(wrong_type, 400)[0]
    garbage = http(node, "POST", "pki/sign/signer", token=root, json={"csr": "not a csr"})
    assert_vault_error(garbage, 400)


def test_revoked_serial_is_in_the_crl_and_tidy_keeps_live_certificates(pki):
    node, root, client, gen = pki
    client.secrets.pki.create_or_update_role("crl", {"allowed_domains": "example.com", "allow_subdomains": True})
    keep = client.secrets.pki.generate_certificate("crl", "keep.example.com")["data"]
    gone = client.secrets.pki.generate_certificate("crl", "gone.example.com", extra_params={"ttl": "1h"})["data"]
    revoked = client.secrets.pki.revoke_certificate(gone["serial_number"])["data"]
    assert revoked["state"] == "revoked" and revoked["revocation_time"] > 0
    assert revoked["revocation_time_rfc3339"]
    # Revoking again answers the same time; a CA's own certificate is refused.
    assert client.secrets.pki.revoke_certificate(gone["serial_number"])["data"]["revocation_time"] == revoked["revocation_time"]
    own = http(node, "POST", "pki/revoke", token=root, json={"serial_number": gen["serial_number"]})
    assert "to its own CRL is not allowed" in assert_vault_error(own, 400)[0]
    unknown = http(node, "POST", "pki/revoke", token=root, json={"serial_number": "01:02:03"})
    assert_vault_error(unknown, 400)

    ca = cert_of(gen["certificate"])
    crl = x509.load_pem_x509_crl(client.secrets.pki.read_crl().encode())
    assert crl.is_signature_valid(ca.public_key())
    assert crl.issuer == ca.subject
    gone_serial = cert_of(gone["certificate"]).serial_number
    entry = crl.get_revoked_certificate_by_serial_number(gone_serial)
    assert entry is not None
    assert int(entry.revocation_date_utc.timestamp()) == revoked["revocation_time"]
    assert crl.get_revoked_certificate_by_serial_number(cert_of(keep["certificate"]).serial_number) is None
    der = http(node, "GET", "pki/crl", token=root)
    assert der.headers["Content-Type"] == "application/pkix-crl"
    der_crl = x509.load_der_x509_crl(der.content)
    assert der_crl.get_revoked_certificate_by_serial_number(gone_serial) is not None
    number = der_crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number

    rotated = client.secrets.pki.rotate_crl()
    assert rotated["data"]["success"] is True
    after = x509.load_der_x509_crl(http(node, "GET", "pki/crl", token=root).content)
    assert after.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number > number
    assert after.get_revoked_certificate_by_serial_number(gone_serial) is not None
    read = client.secrets.pki.read_certificate(gone["serial_number"])["data"]
    assert read["revocation_time"] == revoked["revocation_time"]

    # tidy with the default 72h buffer removes nothing that has not expired.
    before = set(client.secrets.pki.list_certificates()["data"]["keys"])
    tidy = http(node, "POST", "pki/tidy", token=root, json={"tidy_cert_store": True, "tidy_revoked_certs": True})
    assert tidy.status_code == 202 and tidy.json()["warnings"]
    assert set(client.secrets.pki.list_certificates()["data"]["keys"]) == before
    status = http(node, "GET", "pki/tidy-status", token=root).json()["data"]
    assert status["state"] == "Finished" and status["cert_store_deleted_count"] == 0
    nothing = http(node, "POST", "pki/tidy", token=root, json={})
    assert_vault_error(nothing, 400)


def test_tidy_removes_expired_certificates_and_revocations(pki):
    node, root, client, _ = pki
    client.sys.enable_secrets_engine(backend_type="pki", path="pki-tidy")
    client.secrets.pki.generate_root(type="internal", common_name="tidy root", mount_point="pki-tidy", extra_params={"ttl": "24h"})
    client.secrets.pki.create_or_update_role("short", {"allow_any_name": True, "ttl": "2s"}, mount_point="pki-tidy")
    short = client.secrets.pki.generate_certificate("short", "short.test", mount_point="pki-tidy")["data"]
    client.secrets.pki.revoke_certificate(short["serial_number"], mount_point="pki-tidy")
    crl = x509.load_pem_x509_crl(client.secrets.pki.read_crl(mount_point="pki-tidy").encode())
    assert len(list(crl)) == 1
    # Wait for the certificate to expire (notAfter is whole seconds), then tidy with no buffer.
    deadline = short["expiration"] + 1
    while datetime.datetime.now(datetime.timezone.utc).timestamp() <= deadline:
        time.sleep(0.2)
    tidy = http(node, "POST", "pki-tidy/tidy", token=root, json={"tidy_cert_store": True, "tidy_revoked_certs": True, "safety_buffer": "0s"})
    assert tidy.status_code == 202
    keys = client.secrets.pki.list_certificates(mount_point="pki-tidy")["data"]["keys"]
    assert short["serial_number"] not in keys
    crl = x509.load_pem_x509_crl(client.secrets.pki.read_crl(mount_point="pki-tidy").encode())
    assert len(list(crl)) == 0


def test_intermediate_ca_chain_verifies_and_revocation_reaches_its_crl(pki, tmp_path):
    node, root, client, gen = pki
    client.sys.enable_secrets_engine(backend_type="pki", path="pki_int")
    client.sys.tune_mount_configuration(path="pki_int", max_lease_ttl="43800h")
    csr_answer = client.secrets.pki.generate_intermediate(
        type="internal", common_name="Coffer Intermediate", mount_point="pki_int", extra_params={"key_type": "ec"}
    )["data"]
    assert csr_answer["csr"].startswith("-----BEGIN CERTIFICATE REQUEST-----") and csr_answer["key_id"]
    assert "private_key" not in csr_answer
    signed = client.secrets.pki.sign_intermediate(
        csr_answer["csr"], "Coffer Intermediate", extra_params={"ttl": "43800h"}
    )["data"]
    inter = cert_of(signed["certificate"])
    assert inter.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert inter.issuer == cert_of(gen["certificate"]).subject
    assert signed["issuing_ca"].strip() == gen["certificate"].strip()
    imported = client.secrets.pki.set_signed_intermediate(signed["certificate"] + "\n" + gen["certificate"], mount_point="pki_int")["data"]
    assert len(imported["imported_issuers"]) == 2
    assert imported["mapping"][imported["imported_issuers"][0]] == csr_answer["key_id"]

    client.secrets.pki.create_or_update_role("leaf", {"allowed_domains": "example.com", "allow_subdomains": True}, mount_point="pki_int")
    leaf = client.secrets.pki.generate_certificate("leaf", "svc.example.com", mount_point="pki_int")["data"]
    assert [c.strip() for c in leaf["ca_chain"]] == [signed["certificate"].strip(), gen["certificate"].strip()]
    root_pem = client.secrets.pki.read_ca_certificate()
    chained = openssl_verify(tmp_path, root_pem, leaf["certificate"], untrusted=signed["certificate"])
    assert chained.returncode == 0, chained.stdout + chained.stderr
    alone = openssl_verify(tmp_path, root_pem, leaf["certificate"])
    assert alone.returncode != 0, "without the intermediate the chain must not verify"

    client.secrets.pki.revoke_certificate(leaf["serial_number"], mount_point="pki_int")
    crl = x509.load_pem_x509_crl(client.secrets.pki.read_crl(mount_point="pki_int").encode())
    assert crl.is_signature_valid(inter.public_key())
    assert crl.get_revoked_certificate_by_serial_number(cert_of(leaf["certificate"]).serial_number) is not None
    root_crl = x509.load_pem_x509_crl(client.secrets.pki.read_crl().encode())
    assert root_crl.get_revoked_certificate_by_serial_number(cert_of(leaf["certificate"]).serial_number) is None


def test_config_urls_go_into_issued_certificates(pki):
    node, root, client, _ = pki
    client.secrets.pki.set_urls({"issuing_certificates": ["http://127.0.0.1:8200/v1/pki/ca"], "crl_distribution_points": ["http://127.0.0.1:8200/v1/pki/crl"]})
    urls = client.secrets.pki.read_urls()["data"]
    assert urls["crl_distribution_points"] == ["http://127.0.0.1:8200/v1/pki/crl"]
    leaf = client.secrets.pki.generate_certificate("web", "u.example.com")["data"]
    cdp = cert_of(leaf["certificate"]).extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert cdp[0].full_name[0].value == "http://127.0.0.1:8200/v1/pki/crl"


def test_private_keys_stay_out_of_the_log(pki):
    node, root, client, _ = pki
    issued = client.secrets.pki.generate_certificate("web", "log.example.com")["data"]
    body = issued["private_key"].splitlines()[1]
    log = node.log.read_text()
    assert body not in log and "PRIVATE KEY" not in log


def test_ca_crl_and_certificates_are_public_as_in_vault(pki):
    node, root, client, gen = pki
    ca = http(node, "GET", "pki/ca/pem")
    assert ca.status_code == 200 and ca.text.strip() == gen["certificate"].strip()
    assert x509.load_der_x509_certificate(http(node, "GET", "pki/ca").content) == cert_of(gen["certificate"])
    crl = http(node, "GET", "pki/crl/pem")
    assert crl.status_code == 200 and x509.load_pem_x509_crl(crl.content)
    one = http(node, "GET", f"pki/cert/{gen['serial_number']}")
    assert one.status_code == 200 and one.json()["data"]["certificate"].strip() == gen["certificate"].strip()
    assert http(node, "GET", "pki/issuer/default").status_code == 200
    # Everything else still needs a token.
    assert_vault_error(http(node, "POST", "pki/issue/web", json={"common_name": "x.example.com"}), 403)
    assert_vault_error(http(node, "LIST", "pki/certs"), 403)
    assert_vault_error(http(node, "GET", "pki/roles/web"), 403)


def test_cli_write_issue_prints_the_certificate(pki, tmp_path):
    node, root, client, gen = pki
    out = cli(node, "write", "-format=json", "pki/issue/web", "common_name=cli.example.com", "ttl=10m", token=root)
    data = json.loads(out.stdout)["data"]
    assert data["private_key_type"] == "rsa"
    assert openssl_verify(tmp_path, gen["certificate"], data["certificate"]).returncode == 0
    field = cli(node, "read", "-field=certificate", f"pki/cert/{data['serial_number']}", token=root)
    assert field.stdout.strip() == data["certificate"].strip()
