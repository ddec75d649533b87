//! The crate's only source of randomness: `getrandom` 0.3, which madsim makes deterministic.
//! (Never rand 0.8's `OsRng`/`thread_rng` nor `AeadCore::generate_nonce`: they reach getrandom
//! 0.2, which the simulator does not control.)

use crate::error::BarrierError;

/// Fill `buf` with random bytes.
pub(crate) fn fill(buf: &mut [u8]) -> Result<(), BarrierError> {
    getrandom::fill(buf).map_err(|e| BarrierError::Random(e.to_string()))
}
