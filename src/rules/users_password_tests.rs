use super::*;
use crate::rules::build_range::{any_node, RS161290};
use http::HeaderValue;

const EMPTY_BASIC: &str = "Basic Og==";

fn v(s: &str) -> Version {
    Version::parse(s).unwrap()
}

fn headers(values: &[&str]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for value in values {
        h.append(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
    }
    h
}

/// `Basic base64(user ":" password)`.
fn basic(user: &str, password: &str) -> String {
    let pair = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// Where a cluster with these nodes stands against RS161290.
fn nodes(versions: &[&str]) -> Membership {
    let versions: Vec<Version> = versions.iter().map(|s| v(s)).collect();
    any_node(&RS161290, &versions)
}

fn audit_of(d: &Decision) -> &Audit {
    match d {
        Decision::Forward { audit }
        | Decision::ForwardWithoutAuthorization { audit }
        | Decision::Send { audit, .. }
        | Decision::Refuse { audit, .. } => audit,
    }
}

fn sent(d: Decision) -> (String, Body, Audit) {
    match d {
        Decision::Send {
            authorization,
            body,
            audit,
        } => (
            authorization.header_value().to_str().unwrap().to_owned(),
            body,
            audit,
        ),
        other => panic!("{other:?}"),
    }
}

fn refused(d: Decision) -> (ApiError, Audit) {
    match d {
        Decision::Refuse { error, audit } => (error, audit),
        other => panic!("{other:?}"),
    }
}

fn rewritten(body: Body) -> Value {
    match body {
        Body::Rewritten(bytes) => serde_json::from_slice(&bytes).unwrap(),
        Body::Original => panic!("original"),
    }
}

const LEGACY_PUT: &[u8] =
    br#"{"username":"alice","old_password":"old-secret","new_password":"new-secret","x":1}"#;
const ADMIN_FOR_BOB: &[u8] = br#"{"username":"bob","new_password":"new-secret"}"#;

// --- Step 1 and the RS161290 guard (step 5) ------------------------------------------------

#[test]
fn the_two_rs161290_ranges_and_build_less_maybes_fire_the_guard() {
    let h = headers(&[&basic("admin", "pw")]);
    for (cluster, fires) in [
        (&["7.8.2-34"][..], true),
        (&["7.8.6-95"], true),
        (&["7.8.6-118"], true),
        (&["7.8.4"], true),  // build-less, wholly inside: in
        (&["7.8.6"], true),  // build-less, depends on the build: maybe
        (&["7.22.0"], true), // maybe
        (&["7.22.0-95"], true),
        (&["7.22.0-215"], true),
        (&["7.8.6-119"], false),
        (&["7.8.6-303"], false),
        (&["7.22.0-216"], false),
        (&["7.22.2-14"], false),
        (&["7.8.1-999"], false),
        (&["7.4.6-272"], false),
        (&["8.0.20-68"], false),
        (&["8.2.0"], false),
        // a rolling upgrade: any node in range fires
        (&["7.8.6-119", "7.8.6-95"], true),
        (&["7.22.2-170", "7.22.0-95"], true),
        (&["7.22.2-170", "8.0.20-68"], false),
    ] {
        let guard = nodes(cluster);
        for method in [Method::PUT, Method::POST, Method::DELETE] {
            let d = plan(&method, &h, ADMIN_FOR_BOB, Some(v("7.8.6-119")), guard);
            if fires {
                let (error, audit) = refused(d);
                assert_eq!(error.status, StatusCode::NOT_ACCEPTABLE, "{cluster:?}");
                assert_eq!(error.error_code, "unsafe_on_cluster_build");
                assert!(audit.refused && !audit.translated);
            } else {
                assert!(matches!(d, Decision::Forward { .. }), "{cluster:?} {d:?}");
            }
        }
    }
}

#[test]
fn the_refusal_names_the_target_in_the_contract_text_and_never_a_password() {
    let h = headers(&[&basic("admin", "admin-pw")]);
    let body = br#"{"username":"bob","old_password":"bob-old","new_password":"bob-new"}"#;
    let (error, audit) = refused(plan(&Method::PUT, &h, body, None, Membership::In));
    assert_eq!(
        error.text,
        "RS161290: this Redis Software build changes the caller's own password, not bob's. \
         Authenticate as that user or upgrade to 7.8.6-119 / 7.22.0-216 or later"
    );
    assert_eq!(error.body_json()["message"], error.text.as_str());
    assert_eq!(audit.user.as_deref(), Some("admin"));
    assert_eq!(audit.target.as_deref(), Some("bob"));
    assert!(audit.old_password_present);
    let shown = format!("{error:?} {audit:?} {}", error.body_json());
    for secret in ["admin-pw", "bob-old", "bob-new"] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[test]
fn the_guard_does_not_fire_when_the_body_names_the_basic_user_or_nobody() {
    let h = headers(&[&basic("alice", "pw")]);
    for body in [
        &br#"{"username":"alice","new_password":"n"}"#[..],
        br#"{"new_password":"n"}"#,
        br#"{"username":null,"new_password":"n"}"#,
        b"not json",
        b"[]",
        b"",
    ] {
        assert!(!needs_guard(&Method::PUT, &h, body), "{body:?}");
        let d = plan(&Method::PUT, &h, body, None, Membership::In);
        assert!(matches!(d, Decision::Forward { .. }), "{body:?} {d:?}");
    }
}

#[test]
fn byte_equality_decides_so_case_and_unicode_forms_differ() {
    let h = headers(&[&basic("Alice", "pw")]);
    assert!(needs_guard(
        &Method::POST,
        &h,
        br#"{"username":"alice","new_password":"n"}"#
    ));
    // "é" precomposed in the header, decomposed in the body
    let h = headers(&[&basic("\u{e9}", "pw")]);
    assert!(needs_guard(
        &Method::POST,
        &h,
        "{\"username\":\"e\u{301}\"}".as_bytes()
    ));
    let h = headers(&[&basic("", "pw")]);
    assert!(!needs_guard(&Method::POST, &h, br#"{"username":""}"#));
}

#[test]
fn any_other_scheme_or_an_undecodable_basic_leaves_the_user_unknown() {
    for value in [
        "Bearer abc",
        "JWT eyJ0eXAi",
        "Basic !!!not-base64",
        "Basic bm9jb2xvbg==", // "nocolon"
        "Basic /w==",         // a lone 0xFF byte, no colon
        "Basic",
    ] {
        let h = headers(&[value]);
        assert!(needs_guard(&Method::PUT, &h, ADMIN_FOR_BOB), "{value}");
        assert!(
            !needs_guard(&Method::PUT, &h, br#"{"new_password":"n"}"#),
            "{value}"
        );
        let (_, audit) = refused(plan(
            &Method::PUT,
            &h,
            ADMIN_FOR_BOB,
            None,
            Membership::Maybe,
        ));
        assert_eq!(audit.user, None, "{value}");
        assert_eq!(audit.target.as_deref(), Some("bob"));
    }
}

#[test]
fn a_non_string_or_repeated_username_may_name_someone_else() {
    let h = headers(&[&basic("alice", "pw")]);
    let (error, audit) = refused(plan(
        &Method::PUT,
        &h,
        br#"{"username":42,"new_password":"n"}"#,
        None,
        Membership::In,
    ));
    assert!(error.text.contains("not 42's"), "{}", error.text);
    assert_eq!(audit.target.as_deref(), Some("42"));
    // Which of the two the cluster reads is undocumented.
    for body in [
        &br#"{"username":"bob","username":"alice"}"#[..],
        br#"{"username":"alice","username":"alice"}"#,
    ] {
        assert!(needs_guard(&Method::PUT, &h, body));
        assert!(matches!(
            plan(&Method::PUT, &h, body, None, Membership::In),
            Decision::Refuse { .. }
        ));
    }
}

#[test]
fn with_a_header_the_request_is_forwarded_untouched_on_every_version_band() {
    let h = headers(&[&basic("alice", "pw")]);
    for version in [
        None,
        Some(v("7.4.6-272")),
        Some(v("7.8.2-34")),
        Some(v("8.2.0-25")),
    ] {
        // a legacy body too: the header wins, nothing is translated
        let d = plan(&Method::PUT, &h, LEGACY_PUT, version, Membership::Out);
        let Decision::Forward { audit } = d else {
            panic!("{version:?} {d:?}")
        };
        assert_eq!(audit.user.as_deref(), Some("alice"));
        assert!(!audit.translated && !audit.refused && !audit.empty_basic);
        assert!(audit.old_password_present, "observed for step 8");
    }
}

#[test]
fn the_guard_membership_is_not_read_when_it_is_not_needed() {
    let h = headers(&[&basic("alice", "pw")]);
    let body = br#"{"username":"alice","old_password":"o","new_password":"n"}"#;
    assert!(!needs_guard(&Method::PUT, &h, body));
    for guard in [Membership::In, Membership::Maybe, Membership::Out] {
        assert!(matches!(
            plan(&Method::PUT, &h, body, None, guard),
            Decision::Forward { .. }
        ));
    }
}

// --- Step 2: body credentials → Basic, by version band ------------------------------------------

#[test]
fn on_7_8_2_and_later_put_and_post_drop_old_password_and_keep_the_rest() {
    for version in [
        "7.8.2-0",
        "7.8.2-34",
        "7.8.6-95",
        "7.22.0-95",
        "8.0.20-68",
        "8.2.0-25",
    ] {
        for method in [Method::PUT, Method::POST] {
            let d = plan(
                &method,
                &HeaderMap::new(),
                LEGACY_PUT,
                Some(v(version)),
                Membership::In, // step 2 never trips the guard
            );
            let (header, body, audit) = sent(d);
            // base64("alice:old-secret")
            assert_eq!(header, "Basic YWxpY2U6b2xkLXNlY3JldA==");
            assert_eq!(
                rewritten(body),
                serde_json::json!({"username":"alice","new_password":"new-secret","x":1})
            );
            assert_eq!(audit.user.as_deref(), Some("alice"));
            assert_eq!(audit.target.as_deref(), Some("alice"));
            assert!(audit.translated && !audit.refused && audit.old_password_present);
        }
    }
}

#[test]
fn on_7_8_2_and_later_delete_keeps_the_body_whole() {
    let body = br#"{"username":"alice","old_password":"to-delete"}"#;
    let (header, sent_body, audit) = sent(plan(
        &Method::DELETE,
        &HeaderMap::new(),
        body,
        Some(v("7.22.2-170")),
        Membership::Out,
    ));
    assert_eq!(header, basic("alice", "to-delete"));
    assert_eq!(sent_body, Body::Original);
    assert_eq!(audit.method, Method::DELETE);
}

#[test]
fn on_an_unknown_version_the_header_goes_with_the_original_body() {
    for method in [Method::PUT, Method::POST, Method::DELETE] {
        let (header, body, audit) = sent(plan(
            &method,
            &HeaderMap::new(),
            LEGACY_PUT,
            None,
            Membership::Maybe,
        ));
        assert_eq!(header, basic("alice", "old-secret"));
        assert_eq!(body, Body::Original, "{method}");
        assert!(audit.translated);
    }
}

#[test]
fn below_7_8_2_the_body_carries_the_credentials_and_goes_untouched() {
    for version in ["7.4.6-272", "7.8.1", "7.2.4-52"] {
        let d = plan(
            &Method::PUT,
            &HeaderMap::new(),
            LEGACY_PUT,
            Some(v(version)),
            Membership::Out,
        );
        let Decision::Forward { audit } = d else {
            panic!("{version} {d:?}")
        };
        assert_eq!(audit.user.as_deref(), Some("alice"));
        assert!(!audit.translated);
        // A pair that could not be a header is not refused: the old cluster reads the body.
        let colon = br#"{"username":"a:b","old_password":"o"}"#;
        let d = plan(
            &Method::PUT,
            &HeaderMap::new(),
            colon,
            Some(v(version)),
            Membership::Out,
        );
        assert!(matches!(d, Decision::Forward { .. }), "{d:?}");
    }
}

#[test]
fn basic_og_counts_as_no_header_and_is_replaced_or_removed_never_forwarded() {
    for spelling in [EMPTY_BASIC, "basic Og==", "BASIC   Og==  "] {
        let h = headers(&[spelling]);
        assert!(is_empty_basic(&HeaderValue::from_str(spelling).unwrap()));
        assert!(!needs_guard(&Method::PUT, &h, ADMIN_FOR_BOB), "{spelling}");
        // ≥ 7.8.2 and unknown: replaced by the body's pair
        for version in [Some(v("7.8.6-95")), None] {
            let (header, _, audit) =
                sent(plan(&Method::PUT, &h, LEGACY_PUT, version, Membership::In));
            assert_eq!(header, basic("alice", "old-secret"));
            assert!(audit.empty_basic);
        }
        // < 7.8.2: removed, the body untouched
        let d = plan(
            &Method::PUT,
            &h,
            LEGACY_PUT,
            Some(v("7.4.6")),
            Membership::Out,
        );
        let Decision::ForwardWithoutAuthorization { audit } = d else {
            panic!("{d:?}")
        };
        assert!(audit.empty_basic && !audit.translated);
        // step 3: removed too, the cluster answers for the body
        let d = plan(
            &Method::PUT,
            &h,
            ADMIN_FOR_BOB,
            Some(v("8.0.20")),
            Membership::In,
        );
        assert!(
            matches!(d, Decision::ForwardWithoutAuthorization { .. }),
            "{d:?}"
        );
    }
    // several fields, all empty: still no header
    let h = headers(&[EMPTY_BASIC, EMPTY_BASIC]);
    assert!(matches!(
        plan(&Method::PUT, &h, LEGACY_PUT, None, Membership::In),
        Decision::Send { .. }
    ));
}

#[test]
fn an_empty_basic_beside_a_real_header_or_a_near_miss_is_a_header() {
    for h in [
        headers(&[EMPTY_BASIC, &basic("bob", "pw")]),
        headers(&[&basic("bob", "pw"), &basic("bob", "pw")]),
        headers(&["Basic OjA="]), // ":0"
        headers(&["Bearer Og=="]),
    ] {
        let d = plan(&Method::PUT, &h, LEGACY_PUT, None, Membership::Out);
        assert!(matches!(d, Decision::Forward { .. }), "{h:?} {d:?}");
        // The user is unknown, or not alice: the guard applies.
        let d = plan(&Method::PUT, &h, LEGACY_PUT, None, Membership::In);
        assert!(matches!(d, Decision::Refuse { .. }), "{h:?} {d:?}");
    }
}

// --- Step 3: other bodies without a header -------------------------------------------------

#[test]
fn bodies_that_are_not_the_legacy_form_are_forwarded_untouched() {
    for body in [
        &b""[..],
        b"not json",
        b"[1]",
        b"{}",
        br#"{"username":"a"}"#,
        br#"{"old_password":"o"}"#,
        br#"{"username":1,"old_password":"o"}"#,
        br#"{"username":"a","old_password":null}"#,
        br#"{"username":"a","old_password":"o","old_password":"p"}"#,
        br#"{"username":"a","username":"b","old_password":"o"}"#,
        br#"{"username":"a","old_password":"o"} trailing"#,
    ] {
        for version in [None, Some(v("7.4.6")), Some(v("8.2.0"))] {
            let d = plan(
                &Method::PUT,
                &HeaderMap::new(),
                body,
                version,
                Membership::In,
            );
            let Decision::Forward { audit } = d else {
                panic!("{body:?} {d:?}")
            };
            assert_eq!(audit.user, None, "{body:?}");
            assert!(!audit.translated && !audit.refused);
        }
    }
}

// --- Step 4: unencodable credentials --------------------------------------------------------

#[test]
fn colon_or_control_characters_are_refused_as_r1_without_echoing_the_password() {
    for body in [
        &br#"{"username":"a:b","old_password":"secret-pw"}"#[..],
        br#"{"username":"a\nb","old_password":"secret-pw"}"#,
        br#"{"username":"a","old_password":"secret\u0000pw"}"#,
        br#"{"username":"a","old_password":"secret\u007fpw","new_password":"secret-new"}"#,
    ] {
        for version in [None, Some(v("7.8.2"))] {
            let (error, audit) = refused(plan(
                &Method::POST,
                &HeaderMap::new(),
                body,
                version,
                Membership::Out,
            ));
            assert_eq!(error.status, StatusCode::BAD_REQUEST);
            assert_eq!(error.error_code, "invalid_credentials_format");
            assert!(audit.refused && !audit.translated);
            let shown = format!("{error:?} {audit:?} {}", error.body_json());
            assert!(!shown.contains("secret"), "{shown}");
        }
    }
}

// --- Secrets, methods, audit ----------------------------------------------------------------

#[test]
fn no_decision_shows_a_password_or_the_header_in_debug_output() {
    let h = headers(&[&basic("admin", "hdr-secret")]);
    let decisions = [
        plan(
            &Method::PUT,
            &HeaderMap::new(),
            LEGACY_PUT,
            Some(V7_8_2),
            Membership::Out,
        ),
        plan(
            &Method::DELETE,
            &HeaderMap::new(),
            LEGACY_PUT,
            None,
            Membership::Out,
        ),
        plan(&Method::PUT, &h, LEGACY_PUT, None, Membership::In),
        plan(&Method::PUT, &h, LEGACY_PUT, None, Membership::Out),
    ];
    for d in decisions {
        let shown = format!("{d:?}");
        for secret in [
            "old-secret",
            "new-secret",
            "hdr-secret",
            "YWxpY2U6b2xkLXNlY3JldA",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
        if let Decision::Send { authorization, .. } = &d {
            assert!(authorization.header_value().is_sensitive());
            assert!(shown.contains("<redacted>"), "{shown}");
        }
    }
}

#[test]
fn other_methods_are_not_this_rule() {
    let h = headers(&[&basic("admin", "pw")]);
    for method in [Method::GET, Method::PATCH, Method::HEAD] {
        assert!(!needs_guard(&method, &h, ADMIN_FOR_BOB));
        let d = plan(&method, &h, ADMIN_FOR_BOB, None, Membership::In);
        assert!(matches!(d, Decision::Forward { .. }), "{d:?}");
        let d = plan(&method, &HeaderMap::new(), LEGACY_PUT, None, Membership::In);
        assert!(matches!(d, Decision::Forward { .. }), "{d:?}");
        assert_eq!(audit_of(&d).method, method);
    }
}

#[test]
fn old_password_presence_is_audited_whatever_its_value() {
    let h = headers(&[&basic("alice", "pw")]);
    for (body, present) in [
        (&br#"{"new_password":"n","old_password":"o"}"#[..], true),
        (br#"{"new_password":"n","old_password":null}"#, true),
        (br#"{"new_password":"n"}"#, false),
        (b"nope", false),
    ] {
        let d = plan(&Method::PUT, &h, body, Some(v("8.2.0-25")), Membership::Out);
        assert_eq!(audit_of(&d).old_password_present, present, "{body:?}");
    }
}

#[test]
fn a_rewritten_body_shows_only_its_size() {
    assert_eq!(
        format!("{:?}", Body::Rewritten(b"{}".to_vec())),
        "Rewritten(<2 bytes>)"
    );
    assert_eq!(format!("{:?}", Body::Original), "Original");
}
