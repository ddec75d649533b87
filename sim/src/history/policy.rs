//! A policy rewritten by one writer, and requests judged by it, recorded by the chaos clients.
//!
//! Version `k` of the policy grants read on one path only, the path of version `k`; every other
//! version denies it. A request on version `j`'s path that is allowed saw version `j` in force;
//! one that is denied saw some other version.

/// One rewrite of the policy to version `version` (versions go 1, 2, 3…, in invocation order:
/// there is one writer, and it waits for each answer or gives up on it before the next).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyWrite {
    pub version: u64,
    pub invoked_at: u64,
    /// When a 2xx or 4xx came; `None` without an answer (it may still take effect).
    pub completed_at: Option<u64>,
    /// Whether the answer was a 2xx; with `completed_at` set and this false, a 4xx (not applied).
    pub acknowledged: bool,
}

impl PolicyWrite {
    /// Whether it may have taken effect (acknowledged, or no answer).
    pub fn may_take_effect(&self) -> bool {
        self.acknowledged || self.completed_at.is_none()
    }

    /// The time it certainly took effect by.
    pub fn acknowledged_at(&self) -> Option<u64> {
        self.completed_at.filter(|_| self.acknowledged)
    }
}

/// A request on version `path_version`'s path, made with a token holding the policy, that was
/// answered allowed (2xx or 404) or denied (403). Requests with other answers are not recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRead {
    pub client: u64,
    pub path_version: u64,
    pub invoked_at: u64,
    pub completed_at: u64,
    pub allowed: bool,
}

/// The policy's writes (the first, version 0, written and acknowledged before the workload)
/// and the judged requests.
#[derive(Clone, Debug, Default)]
pub struct PolicyHistory {
    pub writes: Vec<PolicyWrite>,
    pub reads: Vec<PolicyRead>,
}

impl PolicyHistory {
    /// Rewrites acknowledged (version 0 not counted).
    pub fn flips(&self) -> usize {
        let acked = |w: &&PolicyWrite| w.version > 0 && w.acknowledged;
        self.writes.iter().filter(acked).count()
    }
}
