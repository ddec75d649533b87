//! Where a token's cubbyhole lives: `<sha256(token)>/` inside the cubbyhole mount's storage.
//! The token store owns this layout because a token's cubbyhole goes when the token goes;
//! the cubbyhole engine and response wrapping read and write through `token_view`.

use crate::error::ApiError;
use crate::storage::StorageView;

/// The storage of one token's cubbyhole inside the mount's storage.
pub fn token_view(storage: &StorageView, token: &str) -> StorageView {
    storage.sub(&format!("{}/", super::token_hash(token)))
}

/// Delete a whole cubbyhole (the token behind `token_hash` is gone).
pub async fn destroy(storage: &StorageView, token_hash: &str) -> Result<(), ApiError> {
    let view = storage.sub(&format!("{token_hash}/"));
    for key in view.list_recursive("").await? {
        view.delete(&key).await?;
    }
    Ok(())
}
