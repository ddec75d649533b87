//! Shamir secret sharing over GF(256), with Vault's parameter rules.
//!
//! A share is `x(1) | y(len(secret))` (the sharks/blahaj layout), so a share of a
//! 32-byte key is 33 bytes, the same size as a Vault unseal key share. With a
//! single share there is no splitting: the share *is* the secret, as in Vault.
//! Polynomial coefficients come from [`crate::rng::SysRng`].

use std::collections::HashSet;

use blahaj::{Share, Sharks};
use zeroize::Zeroizing;

use crate::error::SealError;
use crate::rng::SysRng;

/// Bytes a share adds to the secret it carries (the x coordinate).
pub const SHARE_OVERHEAD: usize = 1;

/// Checks a share count and threshold the way Vault's `SealConfig.Validate`
/// does, with its messages.
pub fn validate_params(shares: u8, threshold: u8) -> Result<(), SealError> {
    let msg = if shares < 1 {
        "shares must be at least one"
    } else if threshold < 1 {
        "threshold must be at least one"
    } else if shares > 1 && threshold == 1 {
        "threshold must be greater than one for multiple shares"
    } else if threshold > shares {
        "threshold cannot be larger than shares"
    } else {
        return Ok(());
    };
    Err(SealError::InvalidShares(msg.to_owned()))
}

/// Splits `secret` into `shares` shares, any `threshold` of which recombine it.
///
/// `shares` 1..=255, `threshold` 1..=`shares`, and `threshold` 1 only with a
/// single share (which is then the secret itself).
pub fn split(
    secret: &[u8],
    shares: u8,
    threshold: u8,
) -> Result<Vec<Zeroizing<Vec<u8>>>, SealError> {
    validate_params(shares, threshold)?;
    if secret.is_empty() {
        return Err(SealError::InvalidShares(
            "cannot split an empty secret".to_owned(),
        ));
    }
    if shares == 1 {
        return Ok(vec![Zeroizing::new(secret.to_vec())]);
    }
    let parts: Vec<_> = Sharks(threshold)
        .dealer_rng(secret, &mut SysRng)
        .take(usize::from(shares))
        .map(|share| Zeroizing::new(Vec::from(&share)))
        .collect();
    debug_assert_eq!(parts.len(), usize::from(shares));
    debug_assert!(parts
        .iter()
        .all(|p| p.len() == secret.len() + SHARE_OVERHEAD));
    Ok(parts)
}

/// Recombines shares made by [`split`] with `shares > 1`.
///
/// Like Vault's `shamir.Combine` this cannot know the threshold: fewer shares
/// than the threshold give a wrong secret, not an error. Callers check the
/// result (it must open the sealed root key). At least two shares are needed;
/// with a threshold of one the single share is the secret and needs no
/// combining (see [`crate::KeyCollector`]).
pub fn combine(parts: &[&[u8]]) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let invalid = |m: &str| Err(SealError::InvalidShares(m.to_owned()));
    if parts.len() < 2 {
        return invalid("less than two parts cannot be used to reconstruct the secret");
    }
    let len = parts[0].len();
    if len < 2 {
        return invalid("parts must be at least two bytes");
    }
    if parts.iter().any(|p| p.len() != len) {
        return invalid("all parts must be the same length");
    }
    let mut seen = HashSet::with_capacity(parts.len());
    let mut shares = Vec::with_capacity(parts.len());
    for part in parts {
        // x = 0 would be the secret itself: never produced by `split`.
        if part[0] == 0 {
            return invalid("invalid key share");
        }
        if !seen.insert(part[0]) {
            return invalid("duplicate part detected");
        }
        let share = Share::try_from(*part).map_err(|e| SealError::InvalidShares(e.to_owned()))?;
        shares.push(share);
    }
    // At most 255 distinct non-zero x coordinates, so the count fits a u8.
    let count = u8::try_from(shares.len())
        .map_err(|_| SealError::InvalidShares("too many parts".to_owned()))?;
    let secret = Sharks(count)
        .recover(&shares)
        .map_err(|e| SealError::InvalidShares(e.to_owned()))?;
    Ok(Zeroizing::new(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Vec<u8> {
        (0u8..32)
            .map(|i| i.wrapping_mul(7).wrapping_add(3))
            .collect()
    }

    fn refs(parts: &[Zeroizing<Vec<u8>>], idx: &[usize]) -> Vec<Vec<u8>> {
        idx.iter().map(|&i| parts[i].to_vec()).collect()
    }

    #[test]
    fn any_three_of_five_reconstruct() {
        let s = secret();
        let parts = split(&s, 5, 3).unwrap();
        assert_eq!(parts.len(), 5);
        assert!(parts.iter().all(|p| p.len() == 33));
        let mut combos = 0;
        for a in 0..5 {
            for b in a + 1..5 {
                for c in b + 1..5 {
                    let chosen = refs(&parts, &[c, a, b]);
                    let chosen: Vec<&[u8]> = chosen.iter().map(Vec::as_slice).collect();
                    assert_eq!(*combine(&chosen).unwrap(), s, "shares {a},{b},{c}");
                    combos += 1;
                }
            }
        }
        assert_eq!(combos, 10);
    }

    #[test]
    fn two_of_five_do_not_reconstruct() {
        let s = secret();
        let parts = split(&s, 5, 3).unwrap();
        let chosen = refs(&parts, &[0, 3]);
        let chosen: Vec<&[u8]> = chosen.iter().map(Vec::as_slice).collect();
        assert_ne!(*combine(&chosen).unwrap(), s);
    }

    #[test]
    fn single_share_is_the_secret() {
        let s = secret();
        let parts = split(&s, 1, 1).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(*parts[0], s);
    }

    #[test]
    fn splits_differ_each_time() {
        let s = secret();
        assert_ne!(split(&s, 3, 2).unwrap(), split(&s, 3, 2).unwrap());
    }

    #[test]
    fn invalid_parameters_are_rejected_with_vault_wording() {
        let s = secret();
        let msg = |r: Result<_, SealError>| r.unwrap_err().to_string();
        assert_eq!(msg(split(&s, 0, 0)), "shares must be at least one");
        assert_eq!(msg(split(&s, 3, 0)), "threshold must be at least one");
        assert_eq!(
            msg(split(&s, 3, 1)),
            "threshold must be greater than one for multiple shares"
        );
        assert_eq!(
            msg(split(&s, 3, 4)),
            "threshold cannot be larger than shares"
        );
        assert_eq!(msg(split(&[], 3, 2)), "cannot split an empty secret");
        assert!(split(&s, 255, 255).is_ok());
    }

    /// Shares made by the sharks 0.5 code this crate used before blahaj, for
    /// `secret()` (3 of 5) and b"coffer" (2 of 3). Barriers sealed then must
    /// still unseal: the byte layout (x, then one y per secret byte) and the
    /// GF(256) arithmetic are unchanged, only the coefficient draw is.
    const SHARKS_05_SHARES: [&str; 5] = [
        "01b472dcc7c2a8d6d185fcf4d944f0c74cd0bc71c3d67a995c22dc5cc748516de6",
        "02d6960c40d4fcb6ca004dd7580351bc134056bea7f3db26a376dd6ab1104e659c",
        "0361eec19f09724d2fbef36ad110ff1e33e3904eecaa37225bffb38fb69fd1dda6",
        "041682796339c4db7138f9ab5c2a65f06ea8ecd00868160025639a12c30365fb8c",
        "05a1fab4bce44a2094864716d539cb524e0b2a204331fa04ddeaf4f7c48cfa43b6",
    ];
    const SHARKS_05_SHORT: [&str; 3] = ["0197b5569a56ed", "0296c606830351", "03621c367f30ce"];

    #[test]
    fn shares_made_by_sharks_05_still_combine() {
        let old: Vec<Vec<u8>> = SHARKS_05_SHARES
            .iter()
            .map(|h| hex::decode(h).unwrap())
            .collect();
        for idx in [[0, 1, 2], [4, 2, 0], [1, 3, 4], [2, 3, 4]] {
            let chosen: Vec<&[u8]> = idx.iter().map(|&i| old[i].as_slice()).collect();
            assert_eq!(*combine(&chosen).unwrap(), secret(), "shares {idx:?}");
        }
        let all: Vec<&[u8]> = old.iter().map(Vec::as_slice).collect();
        assert_eq!(*combine(&all).unwrap(), secret());
        let short: Vec<Vec<u8>> = SHARKS_05_SHORT
            .iter()
            .map(|h| hex::decode(h).unwrap())
            .collect();
        let chosen: Vec<&[u8]> = vec![&short[2], &short[0]];
        assert_eq!(*combine(&chosen).unwrap(), b"coffer");
    }

    #[test]
    fn share_byte_format_matches_sharks_05() {
        // Same length, and x coordinates 1..=n in order, as sharks made them.
        let s = secret();
        let new = split(&s, 5, 3).unwrap();
        for (i, (part, old)) in new.iter().zip(SHARKS_05_SHARES).enumerate() {
            let old = hex::decode(old).unwrap();
            assert_eq!(part.len(), old.len());
            assert_eq!(usize::from(part[0]), i + 1);
            assert_eq!(part[0], old[0]);
            // The bytes survive the library's own parse/serialise unchanged.
            let share = Share::try_from(part.as_slice()).unwrap();
            assert_eq!(Vec::from(&share), part.to_vec());
        }
    }

    #[test]
    fn coefficients_can_be_zero() {
        // RUSTSEC-2024-0398: sharks never drew a zero coefficient, so for a
        // 2-of-n split share 1 = secret ^ a with a != 0 always, and one share
        // ruled a byte value out. Over many one-byte splits the unfixed code
        // never returns a share y equal to the secret; the fixed one does
        // (probability 1/256 each, so 4096 draws miss with p ~ 1e-7).
        let hit = (0..4096).any(|_| {
            let parts = split(&[0x5a], 2, 2).unwrap();
            parts[0][1] == 0x5a
        });
        assert!(
            hit,
            "a zero coefficient never came up: share bytes leak the secret"
        );
    }

    #[test]
    fn malformed_parts_are_rejected() {
        let parts = split(&secret(), 3, 2).unwrap();
        let (a, b) = (parts[0].as_slice(), parts[1].as_slice());
        assert!(combine(&[a]).is_err());
        assert!(combine(&[a, a]).is_err());
        assert!(combine(&[a, &b[..10]]).is_err());
        assert!(combine(&[&[1], &[2]]).is_err());
        let mut zero = b.to_vec();
        zero[0] = 0;
        assert!(combine(&[a, &zero]).is_err());
    }
}
