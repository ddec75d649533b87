//! The lease manager against a small test engine: registration caps the TTL, expiry revokes
//! through the engine, failures are retried with backoff and keep the lease, renewal is capped,
//! a second revocation is refused, and a manager restores the schedule from storage.

use super::*;
use crate::engines::{LeaseCall, MountRequest};
use crate::testkit::{mount_entry, unsealed_barrier};
use async_trait::async_trait;
use coffer_barrier::MemPhysical;
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicUsize};

/// Counts revocations; fails them while `down`; grants renewals of `increment` (or 3600 s).
#[derive(Default)]
struct TestEngine {
    revoked: AtomicUsize,
    down: AtomicBool,
}

#[async_trait]
impl SecretEngine for TestEngine {
    async fn handle(&self, _m: MountRequest<'_>) -> Result<Option<Response>, ApiError> {
        Ok(None)
    }
    async fn revoke_secret(&self, _call: LeaseCall<'_>) -> Result<(), ApiError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(ApiError::Internal("backend unreachable".into()));
        }
        self.revoked.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn renew_secret(&self, call: LeaseCall<'_>) -> Result<Option<u64>, ApiError> {
        Ok(Some(if call.increment_secs > 0 {
            call.increment_secs
        } else {
            3600
        }))
    }
}

struct OneMount {
    entry: MountEntry,
    engine: Arc<TestEngine>,
    storage: StorageView,
}

impl EngineLookup for OneMount {
    fn by_uuid(&self, uuid: &str) -> Option<(MountEntry, Arc<dyn SecretEngine>, StorageView)> {
        (uuid == self.entry.uuid).then(|| {
            let engine: Arc<dyn SecretEngine> = self.engine.clone();
            (self.entry.clone(), engine, self.storage.clone())
        })
    }
}

struct Fixture {
    root: StorageView,
    mount: Arc<OneMount>,
}

async fn fixture(max_ttl: u64) -> Fixture {
    let barrier = unsealed_barrier(Arc::new(MemPhysical::default())).await;
    let root = StorageView::new(barrier, "");
    let mut entry = mount_entry("test/", "test");
    entry.config.max_lease_ttl = max_ttl;
    let mount = Arc::new(OneMount {
        entry,
        engine: Arc::new(TestEngine::default()),
        storage: root.sub("logical/test/"),
    });
    Fixture { root, mount }
}

impl Fixture {
    fn manager(&self) -> Arc<LeaseManager> {
        Arc::new(LeaseManager::new(
            self.root.sub("sys/expire/"),
            self.mount.clone(),
            3600,
            7200,
        ))
    }

    fn revoked(&self) -> usize {
        self.mount.engine.revoked.load(Ordering::SeqCst)
    }
}

async fn issue(mgr: &LeaseManager, mount: &MountEntry, ttl: u64, renewable: bool) -> Response {
    let secret = SecretLease {
        ttl_secs: ttl,
        max_ttl_secs: 0,
        renewable,
        internal: json!({"user": "u1"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    };
    let mut resp = Response::default();
    mgr.register(mount, "test/creds/app", "acc1", secret, &mut resp)
        .await
        .unwrap();
    resp
}

#[tokio::test]
async fn register_caps_the_ttl_and_names_the_lease_after_the_path() {
    let f = fixture(60).await;
    let mgr = f.manager();
    let resp = issue(&mgr, &f.mount.entry, 600, true).await;
    assert!(
        resp.lease_id.starts_with("test/creds/app/"),
        "{}",
        resp.lease_id
    );
    assert_eq!(resp.lease_duration, 60, "capped at the mount's max TTL");
    assert!(resp.renewable);
    let data = mgr.lookup(&resp.lease_id).await.unwrap().unwrap();
    assert_eq!(data["id"], json!(resp.lease_id));
    assert!(data["ttl"].as_u64().unwrap() <= 60);
    assert!(data["last_renewal"].is_null());
    assert!(
        !data.to_string().contains("u1"),
        "internal data is never shown"
    );
    assert_eq!(
        mgr.store().by_token("acc1").await.unwrap(),
        vec![resp.lease_id]
    );
}

#[tokio::test]
async fn revoking_twice_calls_the_engine_once_and_the_second_is_invalid() {
    let f = fixture(0).await;
    let mgr = f.manager();
    let id = issue(&mgr, &f.mount.entry, 60, false).await.lease_id;
    let (a, b) = tokio::join!(mgr.revoke(&id, false), mgr.revoke(&id, false));
    assert!(
        a.is_ok() != b.is_ok(),
        "exactly one of two concurrent revokes wins"
    );
    let err = mgr.revoke(&id, false).await.unwrap_err();
    assert_eq!(err.to_string(), "invalid lease");
    assert_eq!(f.revoked(), 1);
    assert!(mgr.lookup(&id).await.unwrap().is_none());
    assert!(mgr.store().by_token("acc1").await.unwrap().is_empty());
}

#[tokio::test]
async fn renewal_is_capped_by_the_max_ttl_and_refused_when_not_renewable() {
    let f = fixture(100).await;
    let mgr = f.manager();
    let id = issue(&mgr, &f.mount.entry, 10, true).await.lease_id;
    let renewed = mgr.renew(&id, 50).await.unwrap();
    assert!((49..=50).contains(&renewed.lease_duration));
    let capped = mgr.renew(&id, 10_000).await.unwrap();
    assert!(capped.lease_duration <= 100, "{}", capped.lease_duration);
    assert!(mgr.lookup(&id).await.unwrap().unwrap()["last_renewal"].is_string());
    let fixed = issue(&mgr, &f.mount.entry, 10, false).await.lease_id;
    let err = mgr.renew(&fixed, 5).await.unwrap_err();
    assert_eq!(err.to_string(), "lease is not renewable");
}

#[tokio::test]
async fn expiry_revokes_through_the_engine_and_retries_failures_keeping_the_lease() {
    let f = fixture(0).await;
    let mgr = f.manager();
    let id = issue(&mgr, &f.mount.entry, 1, false).await.lease_id;
    f.mount.engine.down.store(true, Ordering::SeqCst);
    let due = mgr.scheduled(&id).unwrap();
    // The task's round, run by hand at the due time (the clock is real here).
    while crate::clock::unix_now_ms() < due {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    mgr.tick(0).await;
    assert_eq!(f.revoked(), 0);
    assert!(
        mgr.lookup(&id).await.unwrap().is_some(),
        "a failed revoke keeps the lease"
    );
    let retry = mgr.scheduled(&id).unwrap();
    assert!(
        retry >= due + schedule::FIRST_BACKOFF_MS,
        "retried after a backoff"
    );
    f.mount.engine.down.store(false, Ordering::SeqCst);
    mgr.tick(0).await;
    assert_eq!(f.revoked(), 0, "not before the backoff is over");
    while crate::clock::unix_now_ms() < retry {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    mgr.tick(0).await;
    assert_eq!(f.revoked(), 1);
    assert!(mgr.lookup(&id).await.unwrap().is_none());
    assert_eq!(mgr.scheduled(&id), None);
}

#[tokio::test]
async fn a_new_manager_restores_the_schedule_and_revokes_expired_leases_at_once() {
    let f = fixture(0).await;
    let first = f.manager();
    let live = issue(&first, &f.mount.entry, 3600, false).await.lease_id;
    let short = issue(&first, &f.mount.entry, 1, false).await.lease_id;
    first.stop();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // The next active node's manager: nothing scheduled until it restores.
    let next = f.manager();
    assert_eq!(next.scheduled(&live), None);
    let task = tokio::spawn(run_expiry(next.clone(), 0, || true));
    for _ in 0..100 {
        if f.revoked() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(f.revoked(), 1, "the expired lease is revoked on restore");
    assert!(next.lookup(&short).await.unwrap().is_none());
    assert!(next.scheduled(&live).is_some(), "the live one is scheduled");
    next.stop();
    task.await.unwrap();
    assert!(next.lookup(&live).await.unwrap().is_some());
}

#[tokio::test]
async fn a_revoked_token_takes_its_leases_with_it() {
    use crate::token::RevocationListener;
    let f = fixture(0).await;
    let mgr = f.manager();
    let id = issue(&mgr, &f.mount.entry, 3600, false).await.lease_id;
    mgr.token_revoked("acc1");
    mgr.tick(0).await;
    assert_eq!(f.revoked(), 1);
    assert!(mgr.lookup(&id).await.unwrap().is_none());
}

#[tokio::test]
async fn an_expiry_keeps_looking_for_a_lease_whose_registration_has_not_settled() {
    // A leader cut off from its peers: the registering write of a lease has not answered when
    // the lease comes due, and is committed once the leader reaches a quorum again.
    let f = fixture(0).await;
    let mgr = f.manager();
    let now = crate::clock::unix_now_ms();
    let rec = LeaseRecord {
        lease_id: "test/creds/app/unsettled".into(),
        mount_uuid: f.mount.entry.uuid.clone(),
        mount_path: f.mount.entry.path.clone(),
        path: "test/creds/app".into(),
        issue_time_ms: now - 2_000,
        expire_time_ms: now - 1_000,
        last_renewal_ms: None,
        max_expire_ms: now,
        renewable: false,
        internal: Default::default(),
        accessor: "acc1".into(),
    };
    let id = rec.lease_id.clone();
    mgr.unsettled.lock().insert(id.clone());
    mgr.schedule_at(&id, rec.expire_time_ms);
    mgr.tick(0).await;
    let retry = mgr
        .scheduled(&id)
        .expect("a missing record of an unsettled lease stays scheduled");
    // The write is committed late.
    mgr.store.put(&rec).await.unwrap();
    while crate::clock::unix_now_ms() < retry {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    mgr.tick(0).await;
    assert_eq!(f.revoked(), 1, "revoked once its record showed up");
    assert!(mgr.lookup(&id).await.unwrap().is_none());
    assert!(!mgr.unsettled.lock().contains(&id));

    // A settled lease whose record is gone (revoked elsewhere) is let go at once.
    let gone = "test/creds/app/gone";
    mgr.schedule_at(gone, now - 1_000);
    mgr.tick(0).await;
    assert_eq!(mgr.scheduled(gone), None);
}
