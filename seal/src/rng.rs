//! The crate's only source of randomness.
//!
//! Everything random here — keys, AEAD nonces, Shamir polynomial
//! coefficients, operation nonces, OTPs — comes from [`getrandom::fill`]
//! (getrandom 0.3), which madsim makes deterministic under `--cfg madsim`.
//! Nothing may reach `rand` 0.8's `thread_rng`/`OsRng` (getrandom 0.2, which
//! the simulator does not control); crates that want an RNG get [`SysRng`].

use std::num::NonZeroU32;

use zeroize::Zeroizing;

/// Length in bytes of unseal keys, recovery keys and KEKs.
pub const KEY_LEN: usize = 32;

/// Fills `buf` with random bytes.
///
/// # Panics
/// If the operating system's random source fails. There is no safe way to
/// continue making keys without one, and on the platforms we support
/// (Linux `getrandom(2)`, madsim) it does not fail once the process runs.
pub fn fill(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the OS random source must work to make keys");
}

/// A fresh random 32-byte key, zeroized on drop.
pub fn random_key() -> Zeroizing<[u8; KEY_LEN]> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    fill(key.as_mut());
    key
}

/// A random UUID (version 4), hyphenated, as Vault formats operation nonces.
pub fn uuid_v4() -> String {
    let mut bytes = [0u8; 16];
    fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` random characters from `[0-9A-Za-z]`, uniformly distributed (bytes
/// at or above 248 = 4·62 are redrawn, so there is no modulo bias).
pub fn random_base62(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        fill(&mut buf);
        for &b in buf.iter().filter(|&&b| b < 248) {
            if out.len() == len {
                break;
            }
            out.push(char::from(BASE62[usize::from(b % 62)]));
        }
    }
    zeroize::Zeroize::zeroize(&mut buf);
    out
}

/// An RNG over getrandom 0.3 for crates that take one: `rand_core` 0.6's
/// `RngCore + CryptoRng` (the RustCrypto crates of the transit engine) and
/// rand 0.10's `TryRng + TryCryptoRng` (`blahaj::Sharks::dealer_rng`).
/// Stateless; construct it where needed.
#[derive(Debug, Clone, Copy, Default)]
pub struct SysRng;

impl rand_core::RngCore for SysRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        fill(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        fill(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        fill(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        getrandom::fill(dest).map_err(|e| {
            let code = e
                .raw_os_error()
                .and_then(|c| u32::try_from(c).ok())
                .and_then(NonZeroU32::new)
                .unwrap_or(CUSTOM_CODE);
            rand_core::Error::from(code)
        })
    }
}

/// The code reported when getrandom fails without an OS errno.
const CUSTOM_CODE: NonZeroU32 = match NonZeroU32::new(rand_core::Error::CUSTOM_START) {
    Some(c) => c,
    None => panic!("CUSTOM_START is non-zero"),
};

impl rand_core::CryptoRng for SysRng {}

impl rand::TryRng for SysRng {
    // Infallible so rand's blanket impls make this a `rand::CryptoRng`; a
    // failing OS source panics in `fill` (see there).
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        fill(&mut b);
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        fill(&mut b);
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Self::Error> {
        fill(dest);
        Ok(())
    }
}

impl rand::TryCryptoRng for SysRng {}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::RngCore;

    #[test]
    fn keys_differ_and_have_the_right_length() {
        let a = random_key();
        let b = random_key();
        assert_eq!(a.len(), KEY_LEN);
        assert_ne!(*a, *b);
    }

    #[test]
    fn uuid_is_v4_hyphenated() {
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(u.as_bytes()[14], b'4');
        assert_eq!(u.matches('-').count(), 4);
        assert_ne!(u, uuid_v4());
    }

    #[test]
    fn base62_has_the_asked_length_and_alphabet() {
        for len in [0, 1, 28, 200] {
            let s = random_base62(len);
            assert_eq!(s.len(), len);
            assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
        }
    }

    #[test]
    fn sys_rng_fills() {
        let mut rng = SysRng;
        let mut a = [0u8; 32];
        rng.try_fill_bytes(&mut a).unwrap();
        assert_ne!(a, [0u8; 32]);
        assert_ne!(rng.next_u64(), rng.next_u64());
    }

    #[test]
    fn sys_rng_is_a_rand_010_crypto_rng() {
        fn draw<R: rand::CryptoRng>(rng: &mut R) -> [u64; 2] {
            [rand::Rng::next_u64(rng), rand::Rng::next_u64(rng)]
        }
        let [a, b] = draw(&mut SysRng);
        assert_ne!(a, b);
    }
}
