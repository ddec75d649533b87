//! Tokens: the store (entries, accessors, parent/child links, expiry), token roles, and where a
//! token's cubbyhole lives. The `auth/token/*` endpoints are `auth::token_backend`.

pub mod cubbyhole;
mod entry;
mod roles;
mod store;
pub mod wrapping;

pub use entry::TokenEntry;
pub use roles::TokenRole;
pub use store::{token_hash, TokenStore};
