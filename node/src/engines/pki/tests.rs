//! The no-I/O core end to end: a root, a leaf and an intermediate built and signed here, read
//! back with x509-parser, a CRL listing a revocation, and Vault's TTL and notAfter rules.

use super::certgen::{self, Names, Plan, Profile};
use super::keys::{self, KeyType, Signer};
use super::store::{IssuerEntry, Revoked};
use super::{authority, crl, csr};
use crate::mounts::{MountConfig, MountEntry};
use std::time::Duration;
use x509_parser::prelude::{FromDer, X509Certificate};

fn mount(default: u64, max: u64) -> MountEntry {
    MountEntry {
        path: "pki/".into(),
        kind: "pki".into(),
        description: String::new(),
        uuid: "u".into(),
        accessor: "a".into(),
        config: MountConfig {
            default_lease_ttl: default,
            max_lease_ttl: max,
            ..MountConfig::default()
        },
        options: Default::default(),
        local: false,
        seal_wrap: false,
        external_entropy_access: false,
        running_since: 0,
    }
}

fn plan(cn: &str, ttl: u64, profile: Profile) -> Plan {
    Plan {
        names: Names {
            common_name: cn.into(),
            dns: vec![cn.into()],
            ..Names::default()
        },
        not_after: crate::clock::now() + Duration::from_secs(ttl),
        profile,
        crl_distribution_points: Vec::new(),
    }
}

fn root(kind: KeyType, bits: u32) -> (IssuerEntry, Signer) {
    let pem = keys::generate_inline(kind, bits).unwrap();
    let key = Signer::from_pem(kind, &pem).unwrap();
    let issued = certgen::self_signed(
        &plan(
            "root",
            3600,
            Profile::Ca {
                max_path_length: None,
            },
        ),
        &key,
    )
    .unwrap();
    let issuer = authority::issuer_entry(&issued.pem, "", "k", Vec::new()).unwrap();
    (issuer, key)
}

#[test]
fn leaves_signed_by_each_key_type_name_their_issuer_and_carry_the_serial() {
    for (kind, bits) in [
        (KeyType::Ec, 256),
        (KeyType::Ec, 384),
        (KeyType::Ed25519, 0),
    ] {
        let (issuer, key) = root(kind, bits);
        let leaf_key = Signer::from_pem(
            KeyType::Ec,
            &keys::generate_inline(KeyType::Ec, 256).unwrap(),
        )
        .unwrap();
        let leaf = certgen::signed_by(
            &plan(
                "svc.example.com",
                600,
                Profile::Leaf {
                    server: true,
                    client: false,
                    key_usages: vec![rcgen::KeyUsagePurpose::DigitalSignature],
                },
            ),
            &leaf_key,
            &issuer,
            &key,
        )
        .unwrap();
        let der = super::fetch_api::pem_to_der(&leaf.pem).unwrap();
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        let ca_der = super::fetch_api::pem_to_der(&issuer.certificate).unwrap();
        let (_, ca) = X509Certificate::from_der(&ca_der).unwrap();
        assert_eq!(cert.issuer(), ca.subject());
        assert!(
            cert.verify_signature(Some(ca.public_key())).is_ok(),
            "{kind:?}"
        );
        assert!(!cert.is_ca() && ca.is_ca());
        assert_eq!(
            csr::cert_info(&leaf.pem).unwrap().serial_number,
            leaf.serial_number
        );
    }
}

#[test]
fn a_crl_lists_its_revocations_and_is_signed_by_the_issuer() {
    let (issuer, key) = root(KeyType::Ec, 256);
    let revoked = Revoked {
        serial_number: "1f:0a:33".into(),
        revocation_time: 1_700_000_000,
        issuer_id: issuer.id.clone(),
        not_after: 0,
    };
    let der = crl::build(&issuer, &key, 7, &[revoked]).unwrap();
    let (_, parsed) =
        x509_parser::revocation_list::CertificateRevocationList::from_der(&der).unwrap();
    let serials: Vec<Vec<u8>> = parsed
        .iter_revoked_certificates()
        .map(|r| r.raw_serial().to_vec())
        .collect();
    assert_eq!(serials, vec![vec![0x1f, 0x0a, 0x33]]);
    assert_eq!(parsed.crl_number().map(|n| n.to_string()), Some("7".into()));
    let ca_der = super::fetch_api::pem_to_der(&issuer.certificate).unwrap();
    let (_, ca) = X509Certificate::from_der(&ca_der).unwrap();
    assert!(parsed.verify_signature(ca.public_key()).is_ok());
}

#[test]
fn ttls_fall_back_and_cap_as_vault_and_nothing_outlives_its_issuer() {
    let now = certgen::unix(crate::clock::now());
    let (at, warnings) = certgen::not_after(None, 0, 0, &mount(0, 0));
    assert!((certgen::unix(at) - now - 768 * 3600).abs() <= 1);
    assert!(warnings.is_empty());
    let (at, warnings) = certgen::not_after(Some(7200), 0, 3600, &mount(0, 0));
    assert!((certgen::unix(at) - now - 3600).abs() <= 1);
    assert_eq!(warnings.len(), 1);
    let (at, _) = certgen::not_after(None, 0, 0, &mount(60, 120));
    assert!((certgen::unix(at) - now - 60).abs() <= 1);
    let (issuer, _) = root(KeyType::Ed25519, 0);
    let late = crate::clock::now() + Duration::from_secs(7200);
    let err = certgen::within_issuer(late, &issuer).unwrap_err();
    assert!(err
        .to_string()
        .contains("beyond the expiration of the CA certificate"));
    assert!(certgen::within_issuer(crate::clock::now(), &issuer).is_ok());
}
