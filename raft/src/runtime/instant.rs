//! The monotonic clock openraft reads: `tokio::time::Instant`, which is the simulated clock under
//! madsim and the real one otherwise.

use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

/// A point on the runtime's monotonic clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CofferInstant(pub(crate) tokio::time::Instant);

impl Add<Duration> for CofferInstant {
    type Output = Self;
    fn add(self, rhs: Duration) -> Self {
        Self(self.0 + rhs)
    }
}

impl AddAssign<Duration> for CofferInstant {
    fn add_assign(&mut self, rhs: Duration) {
        self.0 += rhs;
    }
}

impl Sub<Duration> for CofferInstant {
    type Output = Self;
    fn sub(self, rhs: Duration) -> Self {
        Self(self.0 - rhs)
    }
}

impl Sub<CofferInstant> for CofferInstant {
    type Output = Duration;
    fn sub(self, rhs: CofferInstant) -> Duration {
        self.0.saturating_duration_since(rhs.0)
    }
}

impl SubAssign<Duration> for CofferInstant {
    fn sub_assign(&mut self, rhs: Duration) {
        self.0 -= rhs;
    }
}

impl openraft_rt::Instant for CofferInstant {
    fn now() -> Self {
        Self(tokio::time::Instant::now())
    }
}
