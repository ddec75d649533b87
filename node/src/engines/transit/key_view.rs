//! The `data` Vault answers for a key (`keys/<name>` read, and create, config, rotate, trim):
//! per-version creation times for symmetric and HMAC keys, public keys for asymmetric ones.

use super::key::TransitKey;
use super::keytype::KeyType;
use serde_json::{json, Map, Value};

impl TransitKey {
    /// The `data` of `keys/<name>` (read, and the answer to create/config/rotate/trim).
    pub fn to_json(&self) -> Value {
        let visible = self
            .versions
            .iter()
            .filter(|(v, _)| **v >= self.min_decryption_version);
        let keys: Map<String, Value> = if self.kind.is_symmetric() || self.kind == KeyType::Hmac {
            visible
                .map(|(v, k)| (v.to_string(), json!(k.creation_time)))
                .collect()
        } else {
            let name = self.kind.public_name();
            visible
                .map(|(v, k)| {
                    // A derived Ed25519 key has a public key per context, none of its own.
                    let public = if self.derived {
                        ""
                    } else {
                        k.public_key.as_str()
                    };
                    let entry = json!({
                        "creation_time": k.created,
                        "name": name,
                        "public_key": public,
                        "certificate_chain": "",
                    });
                    (v.to_string(), entry)
                })
                .collect()
        };
        let mut data = json!({
            "name": self.name,
            "type": self.kind.as_str(),
            "derived": self.derived,
            "deletion_allowed": self.deletion_allowed,
            "exportable": self.exportable,
            "allow_plaintext_backup": self.allow_plaintext_backup,
            "keys": keys,
            "latest_version": self.latest_version,
            "min_available_version": self.min_available_version,
            "min_decryption_version": self.min_decryption_version,
            "min_encryption_version": self.min_encryption_version,
            "supports_encryption": self.kind.encryption_supported(),
            "supports_decryption": self.kind.encryption_supported(),
            "supports_signing": self.kind.signing_supported(),
            "supports_derivation": self.kind.derivation_supported(),
            "auto_rotate_period": self.auto_rotate_period,
            "imported_key": self.imported,
        });
        if self.imported {
            data["imported_key_allow_rotation"] = json!(self.allow_imported_key_rotation);
        }
        if self.derived {
            data["kdf"] = json!("hkdf_sha256");
            data["convergent_encryption"] = json!(self.convergent_encryption);
            if self.convergent_encryption {
                data["convergent_encryption_version"] = json!(-1);
            }
        }
        data
    }
}
