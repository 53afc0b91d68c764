use super::*;

fn state() -> AdminState {
    let metrics = Arc::new(Metrics::new());
    AdminState::new(metrics.clone(), Arc::new(AuditLog::disabled(metrics)))
}

#[test]
fn readiness_is_draining_first_then_the_cluster_only_when_it_gates() {
    use ClusterHealth::*;
    assert_eq!(readiness(false, false, Down), Ok(()));
    assert_eq!(readiness(false, false, Unknown), Ok(()));
    assert_eq!(readiness(true, false, Up), Err(NotReady::Draining));
    assert_eq!(readiness(true, true, Down), Err(NotReady::Draining));
    assert_eq!(
        readiness(false, true, Down),
        Err(NotReady::ClusterUnreachable)
    );
    assert_eq!(
        readiness(false, true, Unknown),
        Err(NotReady::ClusterUnreachable)
    );
    assert_eq!(readiness(false, true, Up), Ok(()));
}

/// The old rule (503 after 30 s without an upstream reply) emptied idle replicas; the
/// clock is paused and moved 31 s on, as if no request came in meanwhile.
#[tokio::test(start_paused = true)]
async fn an_idle_replica_is_still_ready_after_more_than_30_s() {
    let s = state();
    s.mark_upstream_ok();
    tokio::time::advance(Duration::from_secs(31)).await;
    assert!(s
        .since_upstream_ok()
        .is_some_and(|d| d >= Duration::from_secs(31)));
    let r = respond(&s, &Method::GET, "/readyz", None, None);
    assert_eq!(r.status(), StatusCode::OK);
    let never = state();
    tokio::time::advance(Duration::from_secs(31)).await;
    assert!(never.is_ready());
    never.set_draining();
    let r = respond(&never, &Method::GET, "/readyz", Some("verbose"), None);
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[test]
fn verbose_is_read_from_the_query() {
    assert!(wants_verbose(Some("verbose")));
    assert!(wants_verbose(Some("a=b&verbose=1")));
    assert!(!wants_verbose(Some("verbose=0")));
    assert!(!wants_verbose(None));
}

#[test]
fn wrong_method_is_405_unknown_path_404() {
    let s = state();
    let r = respond(&s, &Method::POST, "/healthz", None, None);
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers()[header::ALLOW], "GET");
    assert_eq!(
        respond(&s, &Method::GET, "/v1/bdbs", None, None).status(),
        StatusCode::NOT_FOUND
    );
}

/// `/readyz?verbose`'s document.
fn verbose_doc(s: &AdminState) -> serde_json::Value {
    let r = respond(s, &Method::GET, "/readyz", Some("verbose"), None);
    let body =
        futures_util::FutureExt::now_or_never(http_body_util::BodyExt::collect(r.into_body()))
            .and_then(Result::ok)
            .map(|b| b.to_bytes())
            .unwrap_or_default();
    serde_json::from_slice(&body).unwrap_or_default()
}

#[test]
fn a_probe_answered_with_a_redirect_says_the_upstream_is_a_follower() {
    let s = state();
    s.cluster.record_answer(307);
    let v = verbose_doc(&s);
    assert_eq!(v["checks"]["cluster"]["note"], FOLLOWER_NOTE, "{v}");
    s.cluster.record_answer(401);
    let v = verbose_doc(&s);
    assert_eq!(
        v["checks"]["cluster"]["note"],
        serde_json::Value::Null,
        "{v}"
    );
}
