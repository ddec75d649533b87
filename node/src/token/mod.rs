//! Tokens: the store (entries, accessors, parent/child links, expiry), token roles, and the
//! `auth/token/*` endpoints.

mod backend;
mod entry;
mod roles;
mod store;

pub use backend::{handle as handle_token_request, TokenCall};
pub use entry::TokenEntry;
pub use roles::{boolean, secs, string_list, unsigned, TokenRole};
pub use store::{token_hash, TokenStore};
