//! The fault switches' one-shot and counted behaviour, and the JSON patch's merge.

use super::*;
use serde_json::json;

#[test]
fn counted_route_fault_clears_itself() {
    let f = Faults::default();
    f.respond_with_status(500, RouteMatch::method("GET", "/v1/bdbs").times(2));
    assert_eq!(f.take_route_fault("POST", "/v1/bdbs/1"), None);
    assert_eq!(
        f.take_route_fault("get", "/v1/bdbs/1"),
        Some(RouteFault::Status(500))
    );
    assert_eq!(
        f.take_route_fault("GET", "/v1/bdbs"),
        Some(RouteFault::Status(500))
    );
    assert_eq!(f.take_route_fault("GET", "/v1/bdbs"), None);
    assert_eq!(f.get(), FaultSet::default());
}

#[test]
fn action_fate_switches_are_one_shot() {
    let f = Faults::default();
    f.stall_next_action();
    assert_eq!(f.take_action_fate(), Fate::Stall);
    assert_eq!(f.take_action_fate(), Fate::Complete);
}

#[test]
fn json_patch_merges_and_null_clears() {
    let f = Faults::default();
    f.merge_json(&json!({"latency_ms": 20, "fail_next_action": true}))
        .expect("valid");
    let set = f
        .merge_json(&json!({"latency_ms": null, "drop": {"path_prefix": "/v1"}}))
        .expect("valid");
    assert_eq!(set.latency_ms, 0);
    assert_eq!(set.fail_next_action, Some(ActionFailure::default()));
    assert_eq!(set.drop, Some(RouteMatch::any("/v1")));
    assert!(f.merge_json(&json!({"latncy_ms": 1})).is_err());
    assert_eq!(f.get(), set, "a rejected patch changes nothing");
}
