//! Certificate serial numbers: random, 20 bytes, positive and without a leading zero byte (so
//! the DER INTEGER is exactly these bytes), shown as Vault shows them (`1f:0a:...`, lower-case
//! hex with colons) and stored under the hyphenated form (`certs/1f-0a-...`).

use super::PkiError;

/// A fresh serial number.
pub fn generate() -> Vec<u8> {
    let mut bytes = crate::ids::random_bytes(20);
    bytes[0] &= 0x7f;
    if bytes[0] == 0 {
        bytes[0] = 1;
    }
    bytes
}

/// The colon form of big-endian serial bytes (leading zero bytes dropped, as Go's big.Int).
pub fn colon(bytes: &[u8]) -> String {
    let start = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    bytes[start..]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A serial as a client gives it (colons or hyphens, any case), in the colon form.
pub fn normalize(input: &str) -> Result<String, PkiError> {
    let text = input.trim().to_ascii_lowercase().replace('-', ":");
    let valid = !text.is_empty()
        && text
            .split(':')
            .all(|p| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
    if valid {
        Ok(text)
    } else {
        Err(PkiError::user(format!("invalid serial number: {input}")))
    }
}

/// The storage key segment of a colon-form serial.
pub fn storage_form(colon: &str) -> String {
    colon.replace(':', "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_positive_twenty_bytes_and_print_like_vault() {
        let s = generate();
        assert_eq!(s.len(), 20);
        assert!(s[0] > 0 && s[0] < 0x80);
        assert_eq!(colon(&[0, 0x1f, 0x0a]), "1f:0a");
        assert_eq!(normalize("1F-0A").unwrap(), "1f:0a");
        assert_eq!(storage_form("1f:0a"), "1f-0a");
        assert!(normalize("zz:01").is_err());
        assert!(normalize("").is_err());
    }
}
