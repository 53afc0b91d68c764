use super::*;

fn action(status: &str, code: Option<&str>, message: Option<&str>) -> Action {
    Action {
        action_uid: Some("a-1".into()),
        name: None,
        object_name: None,
        status: status.into(),
        progress: None,
        error_code: code.map(Into::into),
        error_message: message.map(Into::into),
        error: None,
    }
}

#[test]
fn the_v2_reply_gives_the_action_and_the_module_uid() {
    let body = br#"{"action_uid":"dfc0152c","uid":"98f255d5","module_name":"rg"}"#;
    assert_eq!(
        accepted(body),
        Accepted {
            action_uid: Some("dfc0152c".into()),
            module_uid: Some("98f255d5".into())
        }
    );
    assert_eq!(accepted(b"{}"), Accepted::default());
    assert_eq!(accepted(br#"{"action_uid":""}"#), Accepted::default());
    assert_eq!(accepted(b"nonsense"), Accepted::default());
}

#[test]
fn running_actions_keep_polling_and_completed_ones_are_done() {
    for status in ["pending", "active", "queued", "running", "something-new"] {
        assert_eq!(upload_step(&action(status, None, None)), Step::KeepPolling);
    }
    assert_eq!(upload_step(&action("completed", None, None)), Step::Done);
    assert_eq!(delete_step(&action("COMPLETED", None, None)), Step::Done);
}

#[test]
fn a_failed_upload_is_400_with_the_actions_code_or_invalid_module() {
    let Step::Fail(e) = upload_step(&action("failed", Some("module_exists"), Some("dup"))) else {
        panic!()
    };
    assert_eq!(e.status, StatusCode::BAD_REQUEST);
    assert_eq!(e.error_code, "module_exists");
    assert_eq!(e.text, "dup");
    assert_eq!(e.extra["action_uid"], "a-1");
    let Step::Fail(e) = upload_step(&action("aborted", None, None)) else {
        panic!()
    };
    assert_eq!(e.error_code, "invalid_module");
    assert_eq!(e.text, "module action a-1 ended with status aborted");
}

#[test]
fn a_failed_delete_is_406_module_delete_failed() {
    let Step::Fail(e) = delete_step(&action("cancelled", Some(" "), None)) else {
        panic!()
    };
    assert_eq!(e.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(e.error_code, "module_delete_failed");
}

#[test]
fn the_upload_reply_is_the_module_object_without_action_uid() {
    let body =
        br#"{"uid":"u1","module_name":"ReJSON","semantic_version":"2.6.17","action_uid":"a-1"}"#;
    let Some(Ok(v)) = upload_reply(StatusCode::OK, body) else {
        panic!()
    };
    assert_eq!(
        v,
        serde_json::json!({"uid":"u1","module_name":"ReJSON","semantic_version":"2.6.17"})
    );
    let Some(Err(e)) = upload_reply(StatusCode::NOT_FOUND, b"") else {
        panic!()
    };
    assert_eq!(
        (e.status, e.error_code.as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, "upload_failed")
    );
    assert_eq!(upload_reply(StatusCode::FORBIDDEN, b"{}"), None);
    let Some(Err(e)) = upload_reply(StatusCode::OK, b"[]") else {
        panic!()
    };
    assert_eq!(e.error_code, "upstream_invalid_reply");
}

#[test]
fn on_8x_the_old_routes_are_gone_naming_the_user_defined_apis() {
    let e = gone(true);
    assert_eq!(e.status, StatusCode::GONE);
    assert_eq!(e.error_code, "route_removed");
    assert_eq!(e.blame, Blame::Client);
    assert_eq!(
        e.text,
        "POST /v1/modules is not available on Redis Software 8.x. Add custom modules with \
         POST /v2/modules/user-defined and POST /v2/local/modules/user-defined/artifacts on every node."
    );
    assert!(gone(false)
        .text
        .contains("DELETE /v2/modules/user-defined/{uid}"));
}

#[test]
fn timeouts_are_504_with_the_action_uid() {
    let e = timeout(true, Some("a-9"));
    assert_eq!(
        (e.status, e.error_code.as_str()),
        (StatusCode::GATEWAY_TIMEOUT, "upload_timeout")
    );
    assert_eq!(e.extra["action_uid"], "a-9");
    assert_eq!(timeout(false, None).error_code, "delete_timeout");
}

#[test]
fn audit_names_the_module_and_never_carries_the_package() {
    let v: Value = serde_json::from_slice(
        br#"{"uid":"u1","module_name":"rg","semantic_version":"1.2.1","action_uid":"a","sha256":"x"}"#,
    )
    .unwrap();
    let a = audit(v.as_object().unwrap());
    assert_eq!(a.module_uid.as_deref(), Some("u1"));
    assert_eq!(a.module_name.as_deref(), Some("rg"));
    assert_eq!(a.semantic_version.as_deref(), Some("1.2.1"));
    assert_eq!(a.action_uid.as_deref(), Some("a"));
    assert_eq!(v2_delete_path(Param::Segment("u1")), "/v2/modules/u1");
}

#[test]
fn only_plain_uids_may_go_into_a_path() {
    assert!(plain_uid("98f255d5d33704c8e4e97897fd92e32d"));
    assert!(plain_uid("dfc0152c-8449-4b1c-9184-480ea7cb526c"));
    for bad in ["", "../v1/cluster", "a b", "a?b", "a/b", &"x".repeat(129)] {
        assert!(!plain_uid(bad), "{bad}");
    }
}
