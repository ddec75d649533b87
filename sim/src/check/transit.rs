//! Every ciphertext whose encryption was acknowledged decrypts to its plaintext.

use super::{Violation, ViolationKind};

/// One acknowledged encryption and what decrypting its ciphertext answered: `Ok(plaintext)`,
/// or `Err(description)` when the cluster refused or failed to decrypt it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decrypted {
    pub plaintext: String,
    pub ciphertext: String,
    pub answer: Result<String, String>,
}

/// Checks every decryption; returns how many were checked.
pub fn check_transit(decrypted: &[Decrypted]) -> Result<usize, Violation> {
    for d in decrypted {
        if d.answer.as_ref() != Ok(&d.plaintext) {
            let explanation = format!(
                "ciphertext {} of an acknowledged encryption of {:?} decrypted to {:?}",
                d.ciphertext, d.plaintext, d.answer
            );
            return Err(Violation {
                kind: ViolationKind::CiphertextLost,
                key: "transit".into(),
                explanation,
                ops: Vec::new(),
            });
        }
    }
    Ok(decrypted.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(answer: Result<&str, &str>) -> Decrypted {
        Decrypted {
            plaintext: "p1".into(),
            ciphertext: "vault:v2:xyz".into(),
            answer: answer.map(String::from).map_err(String::from),
        }
    }

    #[test]
    fn matching_plaintexts_pass() {
        assert_eq!(check_transit(&[d(Ok("p1")), d(Ok("p1"))]), Ok(2));
    }

    #[test]
    fn wrong_or_missing_plaintext_is_caught() {
        let kind = |all: &[Decrypted]| check_transit(all).err().map(|v| v.kind);
        assert_eq!(
            kind(&[d(Ok("p1")), d(Ok("p2"))]),
            Some(ViolationKind::CiphertextLost)
        );
        let refused = d(Err("400: unknown key version"));
        assert_eq!(kind(&[refused]), Some(ViolationKind::CiphertextLost));
    }
}
