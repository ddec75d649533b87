//! KV v2 behaviour against a real (in-memory, encrypted) barrier.

use super::testkit::{is_404, Kv};
use super::{meta_key, version_key, versions_dir};
use crate::error::ApiError;
use crate::request::Operation::*;
use serde_json::{json, Value};

#[tokio::test]
async fn write_then_read_versions() {
    let kv = Kv::new().await;
    assert_eq!(kv.exists("data/app/db").await, Some(false));
    let w = kv.put("app/db", json!({"user": "a"})).await;
    assert_eq!(w["version"], 1);
    assert_eq!(w["deletion_time"], "");
    assert_eq!(w["destroyed"], false);
    assert_eq!(w["custom_metadata"], Value::Null);
    assert!(w["created_time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(kv.exists("data/app/db").await, Some(true));
    assert_eq!(kv.exists("metadata/app/db").await, Some(true));
    assert_eq!(kv.exists("config").await, None);
    kv.put("app/db", json!({"user": "b"})).await;

    let r = kv.ok(Read, "data/app/db", json!({})).await;
    assert_eq!(r["data"], json!({"user": "b"}));
    assert_eq!(r["metadata"]["version"], 2);
    let r = kv.ok(Read, "data/app/db", json!({"version": "1"})).await;
    assert_eq!(r["data"], json!({"user": "a"}));
    assert!(is_404(
        kv.call(Read, "data/app/db", json!({"version": "9"})).await
    ));
    assert!(is_404(kv.call(Read, "data/nope", json!({})).await));
    assert!(kv
        .bad(Read, "data/app/db", json!({"version": "x"}))
        .await
        .contains("version"));
}

#[tokio::test]
async fn check_and_set() {
    let kv = Kv::new().await;
    let write = |cas: Value| json!({"data": {"k": "v"}, "options": {"cas": cas}});
    assert!(kv
        .bad(Update, "data/c", write(json!(1)))
        .await
        .contains("did not match"));
    assert!(!kv.stored(&meta_key("c")).await);
    assert_eq!(kv.ok(Update, "data/c", write(json!(0))).await["version"], 1);
    assert!(kv
        .bad(Update, "data/c", write(json!(0)))
        .await
        .contains("did not match"));
    assert_eq!(kv.ok(Update, "data/c", write(json!(1))).await["version"], 2);

    kv.no_content(Update, "config", json!({"cas_required": true}))
        .await;
    let msg = kv.bad(Update, "data/c", json!({"data": {"k": "v"}})).await;
    assert_eq!(msg, "check-and-set parameter required for this call");
    assert_eq!(kv.ok(Update, "data/c", write(json!(2))).await["version"], 3);
    kv.no_content(Update, "config", json!({"cas_required": false}))
        .await;

    kv.no_content(Update, "metadata/c", json!({"cas_required": true}))
        .await;
    assert!(kv
        .bad(Update, "data/c", json!({"data": {"k": "v"}}))
        .await
        .contains("required"));
    assert_eq!(
        kv.ok(Read, "metadata/c", json!({})).await["current_version"],
        3
    );
}

#[tokio::test]
async fn soft_delete_undelete_and_destroy() {
    let kv = Kv::new().await;
    kv.put("s", json!({"v": 1})).await;
    kv.put("s", json!({"v": 2})).await;
    kv.no_content(Delete, "data/s", json!({})).await;
    let d = kv.raw_404(Read, "data/s", json!({})).await;
    assert_eq!(d["data"], Value::Null);
    assert_eq!(d["metadata"]["version"], 2);
    assert_ne!(d["metadata"]["deletion_time"], "");
    assert_eq!(
        kv.ok(Read, "data/s", json!({"version": 1})).await["data"]["v"],
        1
    );

    kv.no_content(Update, "undelete/s", json!({"versions": [2]}))
        .await;
    assert_eq!(kv.ok(Read, "data/s", json!({})).await["data"]["v"], 2);
    kv.no_content(Update, "delete/s", json!({"versions": [1, 2]}))
        .await;
    kv.raw_404(Read, "data/s", json!({"version": "1"})).await;
    assert!(
        kv.stored(&version_key("s", 1)).await,
        "soft delete keeps the data"
    );

    kv.no_content(Update, "destroy/s", json!({"versions": [1]}))
        .await;
    assert!(!kv.stored(&version_key("s", 1)).await);
    let dump = kv.physical.dump();
    assert!(!dump.iter().any(|(k, _)| k.ends_with(&version_key("s", 1))));
    let d = kv.raw_404(Read, "data/s", json!({"version": 1})).await;
    assert_eq!(d["metadata"]["destroyed"], true);
    kv.no_content(Update, "undelete/s", json!({"versions": [1]}))
        .await;
    kv.raw_404(Read, "data/s", json!({"version": 1})).await;
    let m = kv.ok(Read, "metadata/s", json!({})).await;
    assert_eq!(m["versions"]["1"]["destroyed"], true);
    assert!(kv
        .bad(Update, "destroy/s", json!({}))
        .await
        .contains("no version number"));
    assert!(kv
        .bad(Update, "delete/s", json!({"versions": "x"}))
        .await
        .contains("versions"));
}

#[tokio::test]
async fn max_versions_trims_oldest_data() {
    let kv = Kv::new().await;
    kv.no_content(Update, "config", json!({"max_versions": 3}))
        .await;
    assert_eq!(kv.ok(Read, "config", json!({})).await["max_versions"], 3);
    for i in 1..=5 {
        kv.put("t", json!({ "i": i })).await;
    }
    let m = kv.ok(Read, "metadata/t", json!({})).await;
    assert_eq!(m["current_version"], 5);
    assert_eq!(m["oldest_version"], 3);
    let kept: Vec<&String> = m["versions"].as_object().unwrap().keys().collect();
    assert_eq!(kept, ["3", "4", "5"]);
    assert!(!kv.stored(&version_key("t", 1)).await);
    assert!(!kv.stored(&version_key("t", 2)).await);
    assert!(kv.stored(&version_key("t", 3)).await);
    assert!(is_404(kv.call(Read, "data/t", json!({"version": 2})).await));

    kv.no_content(Update, "metadata/t", json!({"max_versions": 1}))
        .await;
    kv.put("t", json!({"i": 6})).await;
    let listed = kv.storage.list(&versions_dir("t")).await.unwrap();
    assert_eq!(listed, ["6"]);
}

#[tokio::test]
async fn metadata_list_read_update_and_delete() {
    let kv = Kv::new().await;
    kv.put("app/db", json!({"a": 1})).await;
    kv.put("app/web/cfg", json!({"a": 1})).await;
    kv.put("app", json!({"a": 1})).await;
    let l = kv.ok(List, "metadata/", json!({})).await;
    assert_eq!(l["keys"], json!(["app", "app/"]));
    let l = kv.ok(List, "metadata/app", json!({})).await;
    assert_eq!(l["keys"], json!(["db", "web/"]));
    assert!(is_404(kv.call(List, "metadata/none/", json!({})).await));

    let body = json!({"max_versions": 4, "delete_version_after": "3h25m19s", "custom_metadata": {"owner": "ops"}});
    kv.no_content(Update, "metadata/app/db", body).await;
    let m = kv.ok(Read, "metadata/app/db", json!({})).await;
    assert_eq!(m["max_versions"], 4);
    assert_eq!(m["delete_version_after"], "3h25m19s");
    assert_eq!(m["custom_metadata"], json!({"owner": "ops"}));
    assert_eq!(m["cas_required"], false);
    let w = kv.put("app/db", json!({"a": 2})).await;
    assert_eq!(w["custom_metadata"], json!({"owner": "ops"}));
    assert_ne!(
        w["deletion_time"], "",
        "delete_version_after sets a deletion time"
    );
    assert_eq!(kv.ok(Read, "data/app/db", json!({})).await["data"]["a"], 2);

    kv.no_content(
        Patch,
        "metadata/app/db",
        json!({"custom_metadata": {"owner": null, "team": "x"}}),
    )
    .await;
    let m = kv.ok(Read, "metadata/app/db", json!({})).await;
    assert_eq!(m["custom_metadata"], json!({"team": "x"}));

    kv.no_content(Delete, "metadata/app/db", json!({})).await;
    assert!(is_404(kv.call(Read, "metadata/app/db", json!({})).await));
    assert!(is_404(kv.call(Read, "data/app/db", json!({})).await));
    assert!(kv
        .storage
        .list(&versions_dir("app/db"))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(kv.exists("data/app/db").await, Some(false));
}

#[tokio::test]
async fn patch_merges_into_latest() {
    let kv = Kv::new().await;
    assert!(is_404(
        kv.call(Patch, "data/p", json!({"data": {"a": 1}})).await
    ));
    kv.put("p", json!({"a": 1, "b": {"c": 2, "d": 3}})).await;
    let w = kv
        .ok(
            Patch,
            "data/p",
            json!({"data": {"a": 9, "b": {"d": null}, "e": "new"}}),
        )
        .await;
    assert_eq!(w["version"], 2);
    let r = kv.ok(Read, "data/p", json!({})).await;
    assert_eq!(r["data"], json!({"a": 9, "b": {"c": 2}, "e": "new"}));
    assert!(kv
        .bad(
            Patch,
            "data/p",
            json!({"data": {"a": 1}, "options": {"cas": 1}})
        )
        .await
        .contains("did not match"));
    assert!(kv
        .bad(Patch, "data/p", json!({}))
        .await
        .contains("no data provided"));
    kv.no_content(Delete, "data/p", json!({})).await;
    let d = kv.raw_404(Patch, "data/p", json!({"data": {"a": 1}})).await;
    assert_eq!(d["version"], 2);
}

#[tokio::test]
async fn subkeys_hide_values() {
    let kv = Kv::new().await;
    kv.put("sk", json!({"a": "secret", "b": {"c": 1, "d": {}}}))
        .await;
    let r = kv.ok(Read, "subkeys/sk", json!({})).await;
    assert_eq!(
        r["subkeys"],
        json!({"a": null, "b": {"c": null, "d": null}})
    );
    assert_eq!(r["metadata"]["version"], 1);
    let r = kv.ok(Read, "subkeys/sk", json!({"depth": "1"})).await;
    assert_eq!(r["subkeys"], json!({"a": null, "b": null}));
}

#[tokio::test]
async fn bad_input_writes_nothing() {
    let kv = Kv::new().await;
    let before = kv.physical.dump();
    assert_eq!(
        kv.bad(Update, "data/x", json!({"k": "v"})).await,
        "no data provided"
    );
    assert!(kv
        .bad(Update, "data/x", json!({"data": "str"}))
        .await
        .contains("\"data\""));
    assert!(kv
        .bad(Update, "data/x", json!({"data": {}, "options": 3}))
        .await
        .contains("options"));
    assert!(kv
        .bad(
            Update,
            "data/x",
            json!({"data": {}, "options": {"cas": "z"}})
        )
        .await
        .contains("check-and-set"));
    assert!(kv
        .bad(Update, "config", json!({"max_versions": "many"}))
        .await
        .contains("max_versions"));
    assert!(kv
        .bad(Update, "config", json!({"cas_required": [1]}))
        .await
        .contains("cas_required"));
    assert!(kv
        .bad(Update, "config", json!({"delete_version_after": "soon"}))
        .await
        .contains("delete_version_after"));
    assert!(kv
        .bad(Update, "metadata/x", json!({"max_versions": -1}))
        .await
        .contains("max_versions"));
    assert!(kv
        .bad(Update, "metadata/x", json!({"custom_metadata": {"k": ""}}))
        .await
        .contains("custom_metadata"));
    assert_eq!(kv.physical.dump(), before);
    kv.no_content(Update, "metadata/x", json!({})).await;
    assert!(
        !kv.stored(&meta_key("x")).await,
        "an empty metadata write creates nothing"
    );
}

#[tokio::test]
async fn config_round_trip_and_routing_errors() {
    let kv = Kv::new().await;
    let c = kv.ok(Read, "config", json!({})).await;
    assert_eq!(
        c,
        json!({"cas_required": false, "delete_version_after": "0s", "max_versions": 0})
    );
    kv.no_content(
        Update,
        "config",
        json!({"delete_version_after": "1h", "max_versions": "5"}),
    )
    .await;
    let c = kv.ok(Read, "config", json!({})).await;
    assert_eq!(c["delete_version_after"], "1h0m0s");
    assert_eq!(c["max_versions"], 5);
    kv.no_content(Update, "config", json!({"delete_version_after": "-5s"}))
        .await;
    assert_eq!(
        kv.ok(Read, "config", json!({})).await["delete_version_after"],
        "-1s"
    );
    assert_eq!(
        kv.put("n", json!({"a": 1})).await["deletion_time"],
        "",
        "negative disables"
    );

    let unsupported = kv.call(Read, "bogus/x", json!({})).await;
    assert!(matches!(unsupported, Err(ApiError::NotFound(m)) if m == "unsupported path"));
    assert!(matches!(
        kv.call(List, "data/x", json!({})).await,
        Err(ApiError::UnsupportedOperation)
    ));
    assert!(matches!(
        kv.call(Delete, "config", json!({})).await,
        Err(ApiError::UnsupportedOperation)
    ));
}

#[tokio::test]
async fn delete_version_after_makes_reads_act_deleted() {
    let kv = Kv::new().await;
    kv.put("old", json!({"a": 1})).await;
    // Backdate the deletion time, as if delete_version_after had elapsed.
    let mut meta: super::model::KeyMeta = kv
        .storage
        .get_json(&meta_key("old"))
        .await
        .unwrap()
        .unwrap();
    meta.versions.get_mut(&1).unwrap().deletion_time = "2000-01-01T00:00:00Z".into();
    kv.storage.put_json(&meta_key("old"), &meta).await.unwrap();
    let d = kv.raw_404(Read, "data/old", json!({})).await;
    assert_eq!(d["metadata"]["deletion_time"], "2000-01-01T00:00:00Z");
}

#[tokio::test]
async fn concurrent_cas_creates_admit_one_writer() {
    let kv = Kv::new().await;
    let body = json!({"data": {"k": "v"}, "options": {"cas": 0}});
    let calls = (0..8).map(|_| kv.call(Update, "data/race", body.clone()));
    let results = futures::future::join_all(calls).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    let m = kv.ok(Read, "metadata/race", json!({})).await;
    assert_eq!(m["current_version"], 1);
}
