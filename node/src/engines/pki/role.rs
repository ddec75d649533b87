//! A PKI role (`roles/<name>`): which names it may certify and how, with Vault 1.16's defaults,
//! and Vault's name rules (`ValidateNames`) as plain functions.

use super::keys::{checked_bits, KeyType};
use super::PkiError;
use crate::error::ApiError;
use crate::fields::Fields;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// One role, as stored at `role/<name>`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Role {
    pub ttl: u64,
    pub max_ttl: u64,
    pub allow_localhost: bool,
    pub allowed_domains: Vec<String>,
    pub allow_bare_domains: bool,
    pub allow_subdomains: bool,
    pub allow_glob_domains: bool,
    pub allow_wildcard_certificates: bool,
    pub allow_any_name: bool,
    pub enforce_hostnames: bool,
    pub allow_ip_sans: bool,
    pub server_flag: bool,
    pub client_flag: bool,
    /// `rsa`, `ec`, `ed25519` or `any` (sign only).
    pub key_type: String,
    pub key_bits: u32,
    pub key_usage: Vec<String>,
    pub use_csr_common_name: bool,
    pub use_csr_sans: bool,
    pub require_cn: bool,
    pub issuer_ref: String,
    pub no_store: bool,
    /// Vault's `generate_lease`: an issued certificate comes with a lease whose TTL is the
    /// certificate's; revoking the lease revokes the certificate.
    #[serde(default)]
    pub generate_lease: bool,
}

impl Default for Role {
    fn default() -> Self {
        Role {
            ttl: 0,
            max_ttl: 0,
            allow_localhost: true,
            allowed_domains: Vec::new(),
            allow_bare_domains: false,
            allow_subdomains: false,
            allow_glob_domains: false,
            allow_wildcard_certificates: true,
            allow_any_name: false,
            enforce_hostnames: true,
            allow_ip_sans: true,
            server_flag: true,
            client_flag: true,
            key_type: "rsa".into(),
            key_bits: 2048,
            key_usage: vec![
                "DigitalSignature".into(),
                "KeyAgreement".into(),
                "KeyEncipherment".into(),
            ],
            use_csr_common_name: true,
            use_csr_sans: true,
            require_cn: true,
            issuer_ref: "default".into(),
            no_store: false,
            generate_lease: false,
        }
    }
}

impl Role {
    /// A role from a write's fields: every field not given takes Vault's default.
    pub fn from_fields(data: &Map<String, Value>) -> Result<Role, ApiError> {
        let f = Fields(data);
        let d = Role::default();
        let b = |k: &str, def: bool| f.bool_or(k, def);
        let list = |k: &str| Ok::<_, ApiError>(f.list_opt(k)?.unwrap_or_default());
        let key_type = f.str_opt("key_type")?.unwrap_or(d.key_type.clone());
        let bits = match data.get("key_bits") {
            None | Some(Value::Null) => 0,
            Some(v) => u32::try_from(crate::fields::unsigned(v, "key_bits")?)
                .map_err(|_| ApiError::bad("key_bits: out of range"))?,
        };
        let key_bits = if key_type == "any" {
            0
        } else {
            checked_bits(KeyType::parse(&key_type)?, bits)?
        };
        let role = Role {
            ttl: f.secs_opt("ttl")?.unwrap_or(0),
            max_ttl: f.secs_opt("max_ttl")?.unwrap_or(0),
            allow_localhost: b("allow_localhost", d.allow_localhost)?,
            allowed_domains: list("allowed_domains")?,
            allow_bare_domains: b("allow_bare_domains", d.allow_bare_domains)?,
            allow_subdomains: b("allow_subdomains", d.allow_subdomains)?,
            allow_glob_domains: b("allow_glob_domains", d.allow_glob_domains)?,
            allow_wildcard_certificates: b(
                "allow_wildcard_certificates",
                d.allow_wildcard_certificates,
            )?,
            allow_any_name: b("allow_any_name", d.allow_any_name)?,
            enforce_hostnames: b("enforce_hostnames", d.enforce_hostnames)?,
            allow_ip_sans: b("allow_ip_sans", d.allow_ip_sans)?,
            server_flag: b("server_flag", d.server_flag)?,
            client_flag: b("client_flag", d.client_flag)?,
            key_type,
            key_bits,
            key_usage: f.list_opt("key_usage")?.unwrap_or(d.key_usage),
            use_csr_common_name: b("use_csr_common_name", d.use_csr_common_name)?,
            use_csr_sans: b("use_csr_sans", d.use_csr_sans)?,
            require_cn: b("require_cn", d.require_cn)?,
            issuer_ref: f.str_opt("issuer_ref")?.unwrap_or(d.issuer_ref),
            no_store: b("no_store", d.no_store)?,
            generate_lease: b("generate_lease", d.generate_lease)?,
        };
        if role.max_ttl > 0 && role.ttl > role.max_ttl {
            return Err(ApiError::bad(
                r#""ttl" value must be less than "max_ttl" value"#,
            ));
        }
        Ok(role)
    }

    /// The read answer, with Vault's fields this engine does not vary at their defaults.
    pub fn to_json(&self) -> Value {
        let mut out = json!({
            "ttl": self.ttl,
            "max_ttl": self.max_ttl,
            "allow_localhost": self.allow_localhost,
            "allowed_domains": self.allowed_domains,
            "allowed_domains_template": false,
            "allow_bare_domains": self.allow_bare_domains,
            "allow_subdomains": self.allow_subdomains,
            "allow_glob_domains": self.allow_glob_domains,
            "allow_wildcard_certificates": self.allow_wildcard_certificates,
            "allow_any_name": self.allow_any_name,
            "enforce_hostnames": self.enforce_hostnames,
            "allow_ip_sans": self.allow_ip_sans,
            "allowed_uri_sans": [],
            "allowed_uri_sans_template": false,
            "allowed_other_sans": [],
            "allowed_serial_numbers": [],
            "allowed_user_ids": [],
            "allow_token_displayname": false,
        });
        let rest = json!({
            "server_flag": self.server_flag,
            "client_flag": self.client_flag,
            "code_signing_flag": false,
            "email_protection_flag": false,
            "key_type": self.key_type,
            "key_bits": self.key_bits,
            "signature_bits": if self.key_type == "ec" && self.key_bits == 384 { 384 } else { 256 },
            "use_pss": false,
            "key_usage": self.key_usage,
            "ext_key_usage": [],
            "ext_key_usage_oids": [],
            "use_csr_common_name": self.use_csr_common_name,
            "use_csr_sans": self.use_csr_sans,
            "ou": [], "organization": [], "country": [], "locality": [], "province": [],
            "street_address": [], "postal_code": [],
            "generate_lease": self.generate_lease,
            "no_store": self.no_store,
            "require_cn": self.require_cn,
            "cn_validations": ["email", "hostname"],
            "policy_identifiers": [],
            "basic_constraints_valid_for_non_ca": false,
            "not_before_duration": 30,
            "not_after": "",
            "issuer_ref": self.issuer_ref,
        });
        if let (Value::Object(a), Value::Object(b)) = (&mut out, rest) {
            a.extend(b);
        }
        out
    }

    /// The first of `names` this role does not allow, if any (Vault's `ValidateNames`).
    pub fn first_bad_name<'a>(&self, names: &'a [String]) -> Option<&'a str> {
        names.iter().find(|n| !self.allows(n)).map(String::as_str)
    }

    fn allows(&self, name: &str) -> bool {
        let (reduced, is_email) = match name.split_once('@') {
            Some((_, domain)) if !domain.contains('@') => (domain, true),
            Some(_) => return false,
            None => (name, false),
        };
        let is_wildcard = reduced.contains('*');
        let (label, reduced) = if is_wildcard {
            if !self.allow_wildcard_certificates || is_email || reduced.matches('*').count() > 1 {
                return false;
            }
            match reduced.split_once('.') {
                Some((label, rest)) if !rest.contains('*') => (label, rest),
                Some(_) => return false,
                None => (reduced, ""),
            }
        } else {
            ("", reduced)
        };
        if self.enforce_hostnames {
            if !reduced.is_empty() && !is_hostname(reduced) {
                return false;
            }
            if is_wildcard && !is_wildcard_label(label) {
                return false;
            }
        }
        if self.allow_any_name {
            return true;
        }
        if self.allow_localhost {
            if matches!(reduced, "localhost" | "localdomain") && !is_wildcard {
                return true;
            }
            if self.allow_subdomains
                && (reduced.ends_with(".localhost")
                    || reduced.ends_with(".localdomain")
                    || (is_wildcard && matches!(reduced, "localhost" | "localdomain")))
            {
                return true;
            }
        }
        self.allowed_domains
            .iter()
            .filter(|d| !d.is_empty())
            .any(|d| {
                (self.allow_bare_domains
                    && (name.eq_ignore_ascii_case(d)
                        || (is_email && reduced.eq_ignore_ascii_case(d))))
                    || (self.allow_subdomains
                        && (reduced.ends_with(&format!(".{d}"))
                            || (is_wildcard && reduced.eq_ignore_ascii_case(d))))
                    || (self.allow_glob_domains
                        && d.contains('*')
                        && glob(&d.to_ascii_lowercase(), &name.to_ascii_lowercase()))
            })
    }
}

/// Vault's `hostnameRegex`: dot-separated labels of letters, digits and inner hyphens, an
/// optional trailing dot.
fn is_hostname(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Vault's `leftWildLabelRegex`: one `*` among letters, digits and hyphens.
fn is_wildcard_label(label: &str) -> bool {
    label.matches('*').count() == 1
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'*')
}

/// go-glob's match: `*` stands for any run of characters, nothing else is special.
fn glob(pattern: &str, subject: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == subject;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !subject.starts_with(first) || subject.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &subject[first.len()..];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// Key usages by Vault's names (case-insensitive), unknown ones ignored as Vault does.
pub fn key_usages(names: &[String]) -> Vec<rcgen::KeyUsagePurpose> {
    use rcgen::KeyUsagePurpose as K;
    names
        .iter()
        .filter_map(|n| match n.to_ascii_lowercase().as_str() {
            "digitalsignature" => Some(K::DigitalSignature),
            "contentcommitment" => Some(K::ContentCommitment),
            "keyencipherment" => Some(K::KeyEncipherment),
            "dataencipherment" => Some(K::DataEncipherment),
            "keyagreement" => Some(K::KeyAgreement),
            "certsign" => Some(K::KeyCertSign),
            "crlsign" => Some(K::CrlSign),
            "encipheronly" => Some(K::EncipherOnly),
            "decipheronly" => Some(K::DecipherOnly),
            _ => None,
        })
        .collect()
}

/// Role checks on a CSR's key (`sign/<role>`).
pub fn check_csr_key(role: &Role, kind: KeyType, bits: u32) -> Result<(), PkiError> {
    if role.key_type == "any" {
        return Ok(());
    }
    if role.key_type != kind.name() {
        return Err(PkiError::user(format!(
            "role requires keys of type {}",
            role.key_type
        )));
    }
    if kind != KeyType::Ed25519 && bits < role.key_bits {
        return Err(PkiError::user(format!(
            "role requires a minimum of a {}-bit key, but CSR's key is {bits} bits",
            role.key_bits
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(v: Value) -> Role {
        Role::from_fields(v.as_object().unwrap()).unwrap()
    }

    fn allows(r: &Role, name: &str) -> bool {
        r.first_bad_name(&[name.to_string()]).is_none()
    }

    #[test]
    fn domains_subdomains_bare_and_wildcards_follow_vault() {
        let r = role(json!({"allowed_domains": "example.com", "allow_subdomains": true}));
        assert!(allows(&r, "www.example.com"));
        assert!(allows(&r, "a.b.example.com"));
        assert!(allows(&r, "*.example.com"));
        assert!(!allows(&r, "example.com"), "bare needs allow_bare_domains");
        assert!(!allows(&r, "evil.com"));
        assert!(!allows(&r, "wwwexample.com"));
        assert!(allows(&r, "localhost"), "allow_localhost defaults to true");
        let bare = role(json!({"allowed_domains": ["example.com"], "allow_bare_domains": true}));
        assert!(allows(&bare, "example.com"));
        assert!(!allows(&bare, "www.example.com"));
        let no_local = role(json!({"allow_localhost": false}));
        assert!(!allows(&no_local, "localhost"));
    }

    #[test]
    fn any_name_still_enforces_hostnames_and_globs_match() {
        let any = role(json!({"allow_any_name": true}));
        assert!(allows(&any, "anything.test"));
        assert!(!allows(&any, "bad_name!"));
        let loose = role(json!({"allow_any_name": true, "enforce_hostnames": false}));
        assert!(allows(&loose, "bad_name!"));
        let g = role(json!({"allowed_domains": "*.svc.local", "allow_glob_domains": true}));
        assert!(allows(&g, "api.svc.local"));
        assert!(!allows(&g, "api.other.local"));
        assert!(glob("a*c*e", "abcde") && !glob("a*c", "abd"));
    }

    #[test]
    fn ttl_above_max_ttl_and_bad_key_bits_are_refused() {
        let data = json!({"ttl": "2h", "max_ttl": "1h"});
        assert!(Role::from_fields(data.as_object().unwrap()).is_err());
        let data = json!({"key_type": "ec", "key_bits": 2048});
        assert!(Role::from_fields(data.as_object().unwrap()).is_err());
        let r = role(json!({"key_type": "ec"}));
        assert_eq!(r.key_bits, 256);
        assert!(check_csr_key(&r, KeyType::Rsa, 2048).is_err());
        assert!(check_csr_key(&r, KeyType::Ec, 256).is_ok());
    }
}
