use super::*;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};

fn some_facts() -> RoleFacts {
    RoleFacts::read(&json!([{"uid": 7, "management": "db_viewer"}]), &json!([])).unwrap_or_default()
}

#[tokio::test]
async fn concurrent_calls_with_one_key_share_one_look_up() {
    let cache: Arc<RoleCache<u64>> = Arc::new(RoleCache::default());
    let fetches = Arc::new(AtomicUsize::new(0));
    let calls = (0..8).map(|_| {
        let (cache, fetches) = (cache.clone(), fetches.clone());
        tokio::spawn(async move {
            cache
                .get(1, || async move {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Some(some_facts())
                })
                .await
        })
    });
    for call in calls.collect::<Vec<_>>() {
        assert!(call.await.expect("joined").is_some());
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    assert_eq!(cache.look_ups(), 1);
}

#[tokio::test]
async fn another_key_looks_up_for_itself_and_failures_are_not_cached() {
    let cache: RoleCache<u64> = RoleCache::default();
    assert!(cache
        .get(1, || async { Some(some_facts()) })
        .await
        .is_some());
    assert!(cache.get(2, || async { None }).await.is_none());
    assert!(cache
        .get(2, || async { Some(some_facts()) })
        .await
        .is_some());
    assert!(cache.get(1, || async { None }).await.is_some(), "cached");
    assert_eq!(cache.look_ups(), 3);
}

#[tokio::test]
async fn an_expired_answer_is_looked_up_again() {
    let cache: RoleCache<u64> = RoleCache::new(Duration::from_millis(20), 4);
    assert!(cache
        .get(1, || async { Some(some_facts()) })
        .await
        .is_some());
    tokio::time::sleep(Duration::from_millis(40)).await;
    assert!(cache.get(1, || async { None }).await.is_none());
    assert_eq!(cache.look_ups(), 2);
}

#[tokio::test]
async fn the_cache_holds_at_most_its_bound_and_counts_evictions() {
    let cache: RoleCache<u64> = RoleCache::new(ROLE_TTL, 3);
    for key in 0..10 {
        assert!(cache
            .get(key, || async { Some(some_facts()) })
            .await
            .is_some());
        assert!(cache.len() <= 3, "{} entries", cache.len());
    }
    assert_eq!(cache.len(), 3);
    assert_eq!(cache.evicted(), 7);
    // The oldest went first: the newest key is still cached.
    assert!(cache.get(9, || async { None }).await.is_some());
    assert!(cache.get(0, || async { None }).await.is_none());
}

#[tokio::test]
async fn hits_fetches_failures_and_skips_count_into_the_shared_counters() {
    let counters = RoleCounters::default();
    let cache: RoleCache<u64> = RoleCache::counted(ROLE_TTL, 4, counters.clone());
    assert!(cache.get(1, || async { None }).await.is_none());
    assert!(cache
        .get(1, || async { Some(some_facts()) })
        .await
        .is_some());
    assert!(cache.get(1, || async { None }).await.is_some());
    assert!(cache.get(1, || async { None }).await.is_some());
    cache.skipped();
    let seen = |c: &prometheus_client::metrics::counter::Counter| c.get();
    assert_eq!(
        [
            &counters.hit,
            &counters.fetched,
            &counters.failed,
            &counters.skipped
        ]
        .map(seen),
        [2, 1, 1, 1]
    );
    // A second cache on the same counters (an App after a reload) goes on counting.
    let next: RoleCache<u64> = RoleCache::counted(ROLE_TTL, 4, counters.clone());
    assert!(next.get(1, || async { Some(some_facts()) }).await.is_some());
    assert_eq!((counters.fetched.get(), next.look_ups()), (2, 3));
    assert_eq!(cache.hits(), 2);
}
