use super::*;
use http::HeaderValue;

fn auth(value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(value).unwrap(),
    );
    h
}

fn basic(raw: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

#[test]
fn user_is_the_part_before_the_first_colon() {
    assert_eq!(
        basic_auth_user(&auth(&basic("admin@example.com:s3cr3t:x"))),
        Some("admin@example.com".into())
    );
    assert_eq!(basic_auth_user(&auth(&basic("ops:"))), Some("ops".into()));
    let lower = basic("ops:pw").replace("Basic", "basic");
    assert_eq!(basic_auth_user(&auth(&lower)), Some("ops".into()));
}

#[test]
fn malformed_authorization_gives_no_user() {
    let cases = [
        String::new(),
        "Basic".into(),
        "Basic ".into(),
        "Basic !!!notbase64!!!".into(),
        "Bearer abc.def.ghi".into(),
        basic("no-colon-here"),
        basic(":password-only"),
        basic("ctl\u{7}user:pw"),
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe, b':', b'x'])
        ),
        "Basic YWRtaW46cHc".into(), // missing padding
    ];
    for case in &cases {
        assert_eq!(basic_auth_user(&auth(case)), None, "{case:?}");
    }
    let mut h = HeaderMap::new();
    h.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_bytes(b"Basic \xff\xfe").unwrap(),
    );
    assert_eq!(basic_auth_user(&h), None);
    assert_eq!(basic_auth_user(&HeaderMap::new()), None);
}

#[test]
fn password_never_reaches_the_record() {
    let mut h = auth(&basic("legacy-tool:Hunter2-Pa55word"));
    h.insert("user-agent", HeaderValue::from_static("rladmin-script/1.0"));
    let mut rec = AuditRecord::begin(
        SystemTime::UNIX_EPOCH,
        "rid-1",
        "10.0.0.7".parse().unwrap(),
        &Method::POST,
        "/v1/modules/upgrade/bdb/{uid}",
        &h,
        false,
    );
    rec.finish(StatusCode::OK, None, None, Duration::from_millis(12));
    let line = String::from_utf8(rec.to_line().unwrap()).unwrap();
    assert!(line.contains("\"user\":\"legacy-tool\""), "{line}");
    assert!(!line.contains("Hunter2"), "{line}");
    assert!(!line.contains(&basic("legacy-tool:Hunter2-Pa55word")[6..]));
    assert!(line.ends_with("}\n") && line.matches('\n').count() == 1);
}

#[test]
fn request_id_reused_only_when_sane() {
    let mut h = HeaderMap::new();
    h.insert(REQUEST_ID_HEADER, HeaderValue::from_static("abc-123_XYZ"));
    assert_eq!(request_id(&h), "abc-123_XYZ");
    for bad in ["", "has space", &"x".repeat(129)] {
        let mut h = HeaderMap::new();
        h.insert(REQUEST_ID_HEADER, HeaderValue::from_str(bad).unwrap());
        let id = request_id(&h);
        assert_ne!(id, bad);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    }
    assert_eq!(request_id(&h).len(), 11);
    assert_eq!(request_id(&HeaderMap::new()).len(), 36);
    let long_ok = "y".repeat(128);
    let mut h = HeaderMap::new();
    h.insert(REQUEST_ID_HEADER, HeaderValue::from_str(&long_ok).unwrap());
    assert_eq!(request_id(&h), long_ok);
}

#[test]
fn outcome_follows_status_and_blame() {
    use StatusCode as S;
    assert_eq!(Outcome::of(S::OK, None), Outcome::Ok);
    assert_eq!(Outcome::of(S::BAD_REQUEST, None), Outcome::ClientError);
    assert_eq!(Outcome::of(S::BAD_GATEWAY, None), Outcome::UpstreamError);
    assert_eq!(
        Outcome::of(S::FORBIDDEN, Some(Blame::Upstream)),
        Outcome::UpstreamError
    );
    assert_eq!(
        Outcome::of(S::INTERNAL_SERVER_ERROR, Some(Blame::Shim)),
        Outcome::UpstreamError
    );
    assert_eq!(
        serde_json::to_value(Outcome::ClientError).unwrap(),
        "client_error"
    );
}

#[test]
fn record_round_trips_with_every_field() {
    let mut h = HeaderMap::new();
    h.append("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
    h.append("x-forwarded-for", HeaderValue::from_static("10.1.1.1"));
    let t = humantime::parse_rfc3339("2025-03-04T05:06:07.089Z").unwrap();
    let mut rec = AuditRecord::begin(
        t,
        "r",
        "::1".parse().unwrap(),
        &Method::POST,
        "/v1/modules/upgrade/bdb/{uid}",
        &h,
        true,
    );
    rec.bdb_uid = Some(7);
    rec.modules.push(ModuleChange {
        from_module_id: Some("a".repeat(32)),
        from_module_name: Some("ReJSON".into()),
        from_version: Some("2.4.13".into()),
        to_module_id: "b".repeat(32),
        to_version: Some("2.6.1".into()),
    });
    rec.action_uid = Some("act-1".into());
    rec.finish(
        StatusCode::NOT_ACCEPTABLE,
        Some("module_downgrade_unsupported"),
        Some(Blame::Client),
        Duration::from_micros(1500),
    );
    let v: serde_json::Value = serde_json::from_slice(&rec.to_line().unwrap()).unwrap();
    assert_eq!(v["ts"], "2025-03-04T05:06:07.089Z");
    assert_eq!(v["client"], "::1");
    assert_eq!(v["forwarded_for"], "203.0.113.9, 10.1.1.1");
    assert_eq!(v["user"], serde_json::Value::Null);
    assert_eq!(v["outcome"], "client_error");
    assert_eq!(v["duration_ms"], 1.5);
    assert_eq!(v["shim_version"], env!("CARGO_PKG_VERSION"));
    let back: AuditRecord = serde_json::from_value(v).unwrap();
    assert_eq!(back, rec);
}

#[test]
fn the_longest_possible_record_stays_far_under_what_report_reads() {
    let worst = "\u{1}".repeat(100_000);
    let mut h = HeaderMap::new();
    h.insert(
        "user-agent",
        HeaderValue::from_str(&"u".repeat(100_000)).unwrap(),
    );
    let mut rec = AuditRecord::begin(
        SystemTime::now(),
        &"r".repeat(MAX_REQUEST_ID_LEN),
        "::1".parse().unwrap(),
        &Method::POST,
        "/r",
        &h,
        false,
    );
    rec.forwarded_for = Some(worst.clone());
    rec.user = Some(worst.clone());
    rec.action_uid = Some(worst.clone());
    rec.rule = Some(worst.clone());
    rec.rule_action = Some(worst.clone());
    rec.phase = Some(worst.clone());
    rec.exemption = Some(worst.clone());
    rec.modules = (0..1000)
        .map(|_| ModuleChange {
            from_module_id: Some(worst.clone()),
            from_module_name: Some(worst.clone()),
            from_version: Some(worst.clone()),
            to_module_id: worst.clone(),
            to_version: Some(worst.clone()),
        })
        .collect();
    rec.finish(
        StatusCode::INTERNAL_SERVER_ERROR,
        Some(&worst),
        Some(Blame::Upstream),
        Duration::ZERO,
    );
    let line = rec.to_line().unwrap();
    assert!(line.len() < 320 * 1024, "{} bytes", line.len());
    assert!(line.len() < crate::audit::report::MAX_LINE_BYTES / 3);
    assert_eq!(rec.modules.len(), MAX_RECORDED_MODULES);
    assert_eq!(rec.modules_omitted, 1000 - MAX_RECORDED_MODULES as u64);
    assert_eq!(rec.user_agent.as_ref().unwrap().len(), MAX_FIELD_CHARS);
    for field in [&rec.rule, &rec.rule_action, &rec.phase, &rec.exemption] {
        assert_eq!(field.as_ref().unwrap().chars().count(), MAX_FIELD_CHARS);
    }
    let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
    assert_eq!(v["modules_omitted"], 984);
}

#[test]
fn forwarded_for_ignored_unless_trusted() {
    let mut h = HeaderMap::new();
    h.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
    let rec = AuditRecord::begin(
        SystemTime::now(),
        "r",
        "127.0.0.1".parse().unwrap(),
        &Method::POST,
        "/r",
        &h,
        false,
    );
    assert_eq!(rec.forwarded_for, None);
}

#[test]
fn rule_fields_are_left_out_when_absent_and_read_back_when_present() {
    let rec = AuditRecord::begin(
        SystemTime::now(),
        "r",
        "127.0.0.1".parse().unwrap(),
        &Method::POST,
        "/v1/modules",
        &HeaderMap::new(),
        false,
    );
    let line = String::from_utf8(rec.to_line().unwrap()).unwrap();
    for key in ["\"rule\"", "rule_action", "\"phase\"", "exemption"] {
        assert!(!line.contains(key), "{key} in {line}");
    }
    let mut rec = rec;
    rec.rule = Some("module_upload".into());
    rec.rule_action = Some("refused".into());
    rec.phase = Some("refused".into());
    rec.exemption = Some("user_agent \"rmadm/*\"".into());
    let back: AuditRecord = serde_json::from_slice(&rec.to_line().unwrap()).unwrap();
    assert_eq!(back, rec);
}
