//! Tokens: the store (entries, accessors, parent/child links, expiry), token roles, where a
//! token's cubbyhole lives, and the plain rules of who may create which token
//! (`creation_rules`) and how long one lives (`lifetime`). The `auth/token/*` endpoints are
//! `auth::token` and `auth::token_create`.

pub mod creation_rules;
pub mod cubbyhole;
mod entry;
pub mod lifetime;
mod roles;
mod store;
pub mod wrapping;

pub use entry::TokenEntry;
pub use roles::TokenRole;
pub use store::{token_hash, RevocationListener, TokenStore};
