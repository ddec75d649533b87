//! Tokens: the store (entries, accessors, parent/child links, expiry), token roles, the
//! `auth/token/*` endpoints, and the plain rules of who may create which token
//! (`creation_rules`) and how long one lives (`lifetime`).

mod backend;
mod create;
pub mod creation_rules;
mod entry;
pub mod lifetime;
mod roles;
mod store;

pub use backend::{handle as handle_token_request, TokenCall};
pub use entry::TokenEntry;
pub use roles::{boolean, secs, string_list, unsigned, TokenRole};
pub use store::{token_hash, TokenStore};
