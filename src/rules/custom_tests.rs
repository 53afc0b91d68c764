use super::*;
use crate::rules::{decide, Action, RuleTable};
use std::time::{Duration, UNIX_EPOCH};

fn spec<'a>(kind: &'a str, path: &'a str, successor: Option<&'a str>) -> Spec<'a> {
    Spec {
        name: "legacy-stats",
        method: "GET",
        path,
        kind,
        successor,
        docs_url: "https://example.com/migrate",
        deprecated_in: None,
        deprecation: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        sunset: None,
        mode: Mode::Auto,
    }
}

#[test]
fn a_rewrite_rule_moves_the_path_and_keeps_the_query() {
    let rule = build(
        0,
        &spec(
            "rewrite",
            "/v1/bdbs/{uid:int}/stats/last",
            Some("/v2/bdbs/{uid}/stats"),
        ),
    )
    .unwrap();
    assert_eq!(rule.id, RuleId::Custom(0));
    let table = RuleTable::new(vec![rule]);
    let m = table
        .classify(&Method::GET, "/v1/bdbs/4/stats/last/?interval=1sec")
        .unwrap();
    assert_eq!(
        rewrite_path(&m).as_deref(),
        Some("/v2/bdbs/4/stats?interval=1sec")
    );
    assert_eq!(decide(m.rule, m.rule.mode, None), Action::Translate);
    assert!(table
        .classify(&Method::GET, "/v1/bdbs/x/stats/last")
        .is_none());
    assert!(table
        .classify(&Method::POST, "/v1/bdbs/4/stats/last")
        .is_none());
}

#[test]
fn a_gone_rule_names_its_successor() {
    let rule = build(1, &spec("gone", "/v1/legacy/{uid}", Some("/v2/new/{uid}"))).unwrap();
    let table = RuleTable::new(vec![rule]);
    let m = table.classify(&Method::GET, "/v1/legacy/ab").unwrap();
    assert_eq!(decide(m.rule, Mode::Auto, None), Action::Gone);
    let e = gone(&m);
    assert_eq!(e.status, StatusCode::GONE);
    assert_eq!(
        e.text,
        "GET /v1/legacy/{uid} is no longer served; use /v2/new/ab instead"
    );
}

#[test]
fn an_observe_rule_marks_only_from_its_deprecated_in_version() {
    let mut s = spec("observe", "/v1/legacy", None);
    let rule = build(0, &s).unwrap();
    assert_eq!(
        decide(&rule, Mode::Auto, None),
        Action::Observe { mark: true }
    );
    s.deprecated_in = Some("7.22.2");
    let rule = build(0, &s).unwrap();
    assert_eq!(
        decide(&rule, Mode::Auto, None),
        Action::Observe { mark: false }
    );
    let v = Version::parse("8.0.2-17");
    assert_eq!(decide(&rule, Mode::Auto, v), Action::Observe { mark: true });
}

#[test]
fn each_invalid_field_is_named() {
    let ok = spec("rewrite", "/v1/a/{uid}", Some("/v2/a/{uid}"));
    let cases: Vec<(Spec, &str)> = vec![
        (
            Spec {
                name: "Bad Name",
                ..ok.clone()
            },
            "name",
        ),
        (
            Spec {
                name: "",
                ..ok.clone()
            },
            "name",
        ),
        (
            Spec {
                method: "get",
                ..ok.clone()
            },
            "method",
        ),
        (
            Spec {
                method: "",
                ..ok.clone()
            },
            "method",
        ),
        (
            Spec {
                path: "v1/a",
                ..ok.clone()
            },
            "path",
        ),
        (
            Spec {
                kind: "translate",
                ..ok.clone()
            },
            "kind",
        ),
        (
            Spec {
                successor: None,
                ..ok.clone()
            },
            "successor",
        ),
        (
            Spec {
                successor: Some("/v2/{bdb}"),
                ..ok.clone()
            },
            "successor",
        ),
        (
            Spec {
                successor: Some("v2"),
                ..ok.clone()
            },
            "successor",
        ),
        (
            Spec {
                docs_url: "",
                ..ok.clone()
            },
            "docs_url",
        ),
        (
            Spec {
                deprecated_in: Some("7.22"),
                ..ok.clone()
            },
            "deprecated_in",
        ),
        (
            Spec {
                sunset: Some(UNIX_EPOCH + Duration::from_secs(1)),
                ..ok.clone()
            },
            "sunset_date",
        ),
    ];
    for (s, field) in cases {
        let e = build(0, &s).unwrap_err();
        assert_eq!(e.field, field, "{s:?}: {e:?}");
    }
    assert!(build(0, &ok).is_ok());
}
