//! openraft's random source (election timeouts, tick jitter), drawn from getrandom 0.3.
//!
//! Under madsim getrandom ≥ 0.3 is answered by the simulator's seeded RNG, so a seed replays the
//! same elections; outside it this is the OS CSPRNG. rand 0.8 / getrandom 0.2 are never touched.

use std::convert::Infallible;

/// A stateless generator: every draw asks getrandom.
#[derive(Debug, Default, Clone, Copy)]
pub struct CofferRng;

/// The OS (or the simulator) could not produce random bytes, which Linux only does before the
/// entropy pool is first initialised; there is nothing sensible to continue with.
const NO_ENTROPY: &str = "getrandom must be able to produce random bytes";

impl rand::TryRng for CofferRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(getrandom::u32().expect(NO_ENTROPY))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(getrandom::u64().expect(NO_ENTROPY))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        getrandom::fill(dst).expect(NO_ENTROPY);
        Ok(())
    }
}
