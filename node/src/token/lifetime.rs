//! How long a token lives: Vault's `framework.CalculateTTL` as a plain function, used when a
//! token is created and every time it is renewed. A non-periodic token never outlives its start
//! plus the smallest of the mount's max TTL, the system's, its backend's max and its explicit
//! max; a periodic one renews by its period (capped by the max TTL) until its explicit max.
//! All arithmetic saturates: no input can overflow a timestamp.

/// The TTL limits in force for a token, seconds: its mount's, within the system's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub default_ttl: u64,
    pub max_ttl: u64,
}

impl Limits {
    /// A mount's tuned values (0: unset) within the system's.
    pub fn of_mount(mount_default: u64, mount_max: u64, sys_default: u64, sys_max: u64) -> Self {
        let or = |v: u64, fallback: u64| if v == 0 { fallback } else { v };
        let max_ttl = or(mount_max, sys_max).min(sys_max);
        Limits {
            default_ttl: or(mount_default, sys_default).min(max_ttl),
            max_ttl,
        }
    }
}

/// One TTL calculation, seconds (0: not given) and unix milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ask {
    /// A renewal's requested increment.
    pub increment: u64,
    /// The TTL asked for at creation (or granted then, on renewal).
    pub ttl: u64,
    pub period: u64,
    /// The backend's own max (a role's or login's), within the mount's.
    pub backend_max: u64,
    pub explicit_max: u64,
    /// When the token was created.
    pub start_ms: i64,
    pub now_ms: i64,
}

/// The result: the TTL granted from now and the expiry it means (always after `now_ms`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    pub ttl: u64,
    pub expire_at_ms: i64,
    pub warnings: Vec<String>,
}

/// Why no TTL can be granted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TtlError {
    #[error("past the max TTL, cannot renew")]
    PastMax,
    #[error("max TTL must be greater than zero")]
    NoMax,
}

/// `now_ms + secs` in milliseconds, saturating.
pub fn after(now_ms: i64, secs: u64) -> i64 {
    let ms = i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    now_ms.saturating_add(ms)
}

/// Vault's `CalculateTTL`.
pub fn calculate(limits: Limits, ask: Ask) -> Result<Granted, TtlError> {
    let mut warnings = Vec::new();
    let mut max_ttl = limits.max_ttl;
    for bound in [ask.backend_max, ask.explicit_max] {
        if bound > 0 && bound < max_ttl {
            max_ttl = bound;
        }
    }
    if max_ttl == 0 {
        return Err(TtlError::NoMax);
    }
    let (ttl, max_valid_ms) = if ask.period > 0 {
        let mut period = ask.period;
        if period > max_ttl {
            warnings.push(format!(
                "period of {period}s exceeded the effective max_ttl of {max_ttl}s; period value is capped accordingly"
            ));
            period = max_ttl;
        }
        let until = (ask.explicit_max > 0).then(|| after(ask.start_ms, ask.explicit_max));
        (period, until)
    } else {
        let ttl = [ask.increment, ask.ttl, limits.default_ttl]
            .into_iter()
            .find(|t| *t > 0)
            .unwrap_or(max_ttl);
        (ttl, Some(after(ask.start_ms, max_ttl)))
    };
    let mut expire_at_ms = after(ask.now_ms, ttl);
    if let Some(max_valid_ms) = max_valid_ms {
        if max_valid_ms <= ask.now_ms {
            return Err(TtlError::PastMax);
        }
        if expire_at_ms > max_valid_ms {
            let left = (max_valid_ms - ask.now_ms) as u64;
            warnings.push(format!(
                "TTL of {ttl}s exceeded the effective max_ttl of {}s; TTL value is capped accordingly",
                left / 1000
            ));
            expire_at_ms = max_valid_ms;
        }
    }
    Ok(Granted {
        ttl: ((expire_at_ms - ask.now_ms) as u64).div_ceil(1000),
        expire_at_ms,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYS: Limits = Limits {
        default_ttl: 3600,
        max_ttl: 7200,
    };

    #[test]
    fn mount_limits_stay_within_the_systems() {
        assert_eq!(Limits::of_mount(0, 0, 3600, 7200), SYS);
        assert_eq!(
            Limits::of_mount(60, 600, 3600, 7200),
            Limits {
                default_ttl: 60,
                max_ttl: 600
            }
        );
        assert_eq!(Limits::of_mount(0, 99_999, 3600, 7200).max_ttl, 7200);
        assert_eq!(Limits::of_mount(0, 600, 3600, 7200).default_ttl, 600);
    }

    #[test]
    fn a_ttl_falls_back_to_the_default_and_is_capped_by_the_max() {
        let g = calculate(SYS, Ask::default()).unwrap();
        assert_eq!((g.ttl, g.expire_at_ms), (3600, 3_600_000));
        let asked = Ask {
            ttl: 999_999,
            ..Default::default()
        };
        let g = calculate(SYS, asked).unwrap();
        assert_eq!(g.ttl, 7200);
        assert_eq!(g.warnings.len(), 1);
        let explicit = Ask {
            ttl: 5000,
            explicit_max: 100,
            ..Default::default()
        };
        assert_eq!(calculate(SYS, explicit).unwrap().ttl, 100);
    }

    #[test]
    fn renewals_never_pass_start_plus_max() {
        // Created at 0 with the max of 7200 s; renewed at 7000 s for another hour.
        let renew = Ask {
            increment: 3600,
            ttl: 3600,
            start_ms: 0,
            now_ms: 7_000_000,
            ..Default::default()
        };
        let g = calculate(SYS, renew).unwrap();
        assert_eq!((g.ttl, g.expire_at_ms), (200, 7_200_000));
        let late = Ask {
            now_ms: 7_200_000,
            ..renew
        };
        assert_eq!(calculate(SYS, late), Err(TtlError::PastMax));
    }

    #[test]
    fn periods_renew_by_the_period_until_the_explicit_max() {
        let periodic = Ask {
            period: 60,
            now_ms: 1_000_000_000,
            ..Default::default()
        };
        assert_eq!(calculate(SYS, periodic).unwrap().ttl, 60);
        let huge = Ask {
            period: u64::MAX,
            ..periodic
        };
        let g = calculate(SYS, huge).unwrap();
        assert_eq!(g.ttl, 7200, "a period is capped by the max TTL");
        let bounded = Ask {
            explicit_max: 100,
            now_ms: 90_000,
            ..periodic
        };
        assert_eq!(calculate(SYS, bounded).unwrap().ttl, 10);
    }

    #[test]
    fn absurd_values_saturate_instead_of_overflowing() {
        assert_eq!(after(i64::MAX - 5, u64::MAX), i64::MAX);
        let unlimited = Limits {
            default_ttl: u64::MAX,
            max_ttl: u64::MAX,
        };
        let g = calculate(
            unlimited,
            Ask {
                ttl: u64::MAX,
                now_ms: 1,
                start_ms: 1,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(g.expire_at_ms, i64::MAX);
    }
}
