//! Generated names and passwords, as Vault's PostgreSQL plugin and default password policy make
//! them: `v-<display name ≤8>-<role ≤8>-<20 random>-<unix seconds>`, cut to PostgreSQL's 63
//! bytes, and 20-character passwords of letters, digits and `-` with at least one of each kind.

/// PostgreSQL's identifier limit (NAMEDATALEN - 1).
const MAX_USERNAME: usize = 63;
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const PASSWORD_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";
const PASSWORD_LEN: usize = 20;

/// `n` characters drawn uniformly from `alphabet` (rejection sampling, no modulo bias).
fn random_from(alphabet: &[u8], n: usize) -> String {
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in crate::ids::random_bytes(n * 2) {
            if (b as usize) < limit && out.len() < n {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A dynamic user's name for a token with `display_name` asking for `role` at `unix`.
pub fn dynamic_username(display_name: &str, role: &str, unix: i64) -> String {
    let name = format!(
        "v-{}-{}-{}-{unix}",
        truncate(display_name, 8),
        truncate(role, 8),
        random_from(ALNUM, 20)
    );
    truncate(&name, MAX_USERNAME).to_string()
}

/// Whether `p` meets Vault's default password policy rules.
fn meets_default_policy(p: &str) -> bool {
    p.len() == PASSWORD_LEN
        && p.bytes().any(|c| c.is_ascii_lowercase())
        && p.bytes().any(|c| c.is_ascii_uppercase())
        && p.bytes().any(|c| c.is_ascii_digit())
        && p.contains('-')
}

/// A password under Vault's default policy.
pub fn password() -> String {
    loop {
        let p = random_from(PASSWORD_CHARS, PASSWORD_LEN);
        if meets_default_policy(&p) {
            return p;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_have_vaults_shape_and_fit_postgres() {
        let u = dynamic_username("token", "app", 1_700_000_000);
        let parts: Vec<&str> = u.split('-').collect();
        assert_eq!(parts[0], "v");
        assert_eq!(parts[1], "token");
        assert_eq!(parts[2], "app");
        assert_eq!(parts[3].len(), 20);
        assert_eq!(parts[4], "1700000000");
        assert_ne!(u, dynamic_username("token", "app", 1_700_000_000));
        let long = dynamic_username("userpass-alice", "a-very-long-role-name", 1_700_000_000);
        // Vault's template: display name and role each cut to 8 characters.
        assert!(long.starts_with("v-userpass-a-very-l-"), "{long}");
        assert!(long.len() <= 63);
    }

    #[test]
    fn passwords_follow_the_default_policy() {
        for _ in 0..50 {
            let p = password();
            assert!(meets_default_policy(&p), "{p}");
            assert!(p.bytes().all(|c| PASSWORD_CHARS.contains(&c)));
        }
        assert_ne!(password(), password());
    }
}
