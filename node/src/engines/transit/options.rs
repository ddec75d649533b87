//! The fields that describe a new key, shared by create (`keys/<name>`), encrypt's
//! create-on-first-use and import: `type`, `key_size`, `derived`, `convergent_encryption`,
//! `exportable`, `allow_plaintext_backup`, `auto_rotate_period`.

use super::batch::{boolean, int, Item};
use super::key::CreateOptions;
use super::keytype::{KeyType, HMAC_KEY_SIZE_MAX, HMAC_KEY_SIZE_MIN};
use crate::error::ApiError;

/// The options of a new key from a create (or encrypt's create-on-first-use) request.
pub fn create_options(data: &Item) -> Result<(KeyType, CreateOptions), ApiError> {
    let kind = match data.get("type").and_then(|v| v.as_str()) {
        None | Some("") => KeyType::Aes256Gcm96,
        Some(t) => KeyType::parse(t)?,
    };
    let key_size = int(data, "key_size").map_err(ApiError::BadRequest)?;
    if key_size != 0 {
        if kind != KeyType::Hmac {
            return Err(ApiError::bad(format!(
                "key_size is not valid for algorithm {}",
                kind.as_str()
            )));
        }
        let bounds = HMAC_KEY_SIZE_MIN as i64..=HMAC_KEY_SIZE_MAX as i64;
        if !bounds.contains(&key_size) {
            return Err(ApiError::bad(format!("invalid key_size {key_size}")));
        }
    }
    let opts = CreateOptions {
        key_size: u32::try_from(key_size).unwrap_or(0),
        derived: boolean(data, "derived", false).map_err(ApiError::BadRequest)?,
        convergent: boolean(data, "convergent_encryption", false).map_err(ApiError::BadRequest)?,
        exportable: boolean(data, "exportable", false).map_err(ApiError::BadRequest)?,
        allow_plaintext_backup: boolean(data, "allow_plaintext_backup", false)
            .map_err(ApiError::BadRequest)?,
    };
    Ok((kind, opts))
}

/// `auto_rotate_period`, if given (a duration or seconds).
pub fn auto_rotate_period(data: &Item) -> Result<Option<u64>, ApiError> {
    crate::fields::Fields(data).secs_opt("auto_rotate_period")
}
