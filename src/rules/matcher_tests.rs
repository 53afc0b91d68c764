use super::*;

fn t(s: &str) -> Template {
    Template::parse(s).unwrap()
}

fn int_match(template: &Template, path: &str, name: &str) -> Option<u64> {
    match template.matches(path) {
        Outcome::Match(p) => p.int(name),
        _ => None,
    }
}

#[test]
fn module_upgrade_template_keeps_the_old_classifier_behaviour() {
    let old = t("/v1/modules/upgrade/bdb/{uid:int}");
    assert_eq!(int_match(&old, "/v1/modules/upgrade/bdb/1", "uid"), Some(1));
    assert_eq!(
        int_match(&old, "/v1/modules/upgrade/bdb/42/", "uid"),
        Some(42)
    );
    assert_eq!(
        int_match(&old, "/v1/modules/upgrade/bdb/007", "uid"),
        Some(7)
    );
    assert_eq!(
        int_match(&old, "/v1/modules/upgrade/bdb/18446744073709551615", "uid"),
        Some(u64::MAX)
    );
    for bad in [
        "/v1/modules/upgrade/bdb/abc",
        "/v1/modules/upgrade/bdb/-1",
        "/v1/modules/upgrade/bdb/+1",
        "/v1/modules/upgrade/bdb/1.5",
        "/v1/modules/upgrade/bdb/18446744073709551616",
        "/v1/modules/upgrade/bdb/",
        "/v1/modules/upgrade/bdb/1a/",
    ] {
        assert_eq!(old.matches(bad), Outcome::BadParam("uid"), "{bad}");
    }
    for path in [
        "/v1/modules/upgrade/bdb",
        "/v1/modules/upgrade/bdb//",
        "/v1/modules/upgrade/bdb/1//",
        "/v1/modules/upgrade/bdb//1",
        "/v1/modules/upgrade/bdb/1/extra",
        "/v1/modules/upgrade/bdb/%31",
        "/v1/modules/upgrade/bdb/1;x=y",
        "/v1/modules/upgrade/bdb/..",
        "/v1/modules/upgrade/bdb/.",
        "/v1/modules/upgrade/./bdb/1",
        "/v1//modules/upgrade/bdb/1",
        "/V1/modules/upgrade/bdb/1",
        "/v1/Modules/Upgrade/BDB/1",
        "/v2/modules/upgrade/bdb/1",
        "v1/modules/upgrade/bdb/1",
        "/v1/modules",
        "",
    ] {
        assert_eq!(old.matches(path), Outcome::NoMatch, "{path}");
    }
}

#[test]
fn an_empty_parameter_inside_the_path_is_not_a_match() {
    let sibling = t("/v1/bdbs/{uid:int}/modules/upgrade");
    assert_eq!(
        int_match(&sibling, "/v1/bdbs/3/modules/upgrade/", "uid"),
        Some(3)
    );
    assert_eq!(
        sibling.matches("/v1/bdbs/x/modules/upgrade"),
        Outcome::BadParam("uid")
    );
    assert_eq!(
        sibling.matches("/v1/bdbs//modules/upgrade"),
        Outcome::NoMatch
    );
    assert_eq!(
        sibling.matches("/v1/bdbs/3/modules/upgrade//"),
        Outcome::NoMatch
    );
}

#[test]
fn segment_parameters_take_any_plain_segment() {
    let delete = t("/v1/modules/{uid}");
    let uid = "98f255d5d33704c8e4e97897fd92e32d";
    match delete.matches(&format!("/v1/modules/{uid}/")) {
        Outcome::Match(p) => assert_eq!(p.get("uid"), Some(Value::Segment(uid))),
        other => panic!("{other:?}"),
    }
    assert_eq!(delete.matches("/v1/modules/"), Outcome::BadParam("uid"));
    assert_eq!(delete.matches("/v1/modules"), Outcome::NoMatch);
    assert_eq!(delete.matches("/v1/modules/a%2Fb"), Outcome::NoMatch);
    assert_eq!(delete.matches("/v1/modules/a/b"), Outcome::NoMatch);
}

#[test]
fn literal_templates_match_with_one_trailing_slash() {
    let all = t("/v1/debuginfo/all");
    assert!(matches!(
        all.matches("/v1/debuginfo/all"),
        Outcome::Match(_)
    ));
    assert!(matches!(
        all.matches("/v1/debuginfo/all/"),
        Outcome::Match(_)
    ));
    for path in [
        "/v1/debuginfo/all//",
        "/v1/debuginfo/all/x",
        "/v1/debuginfo/All",
        "/v1/debuginfo",
        "/v1/debuginfo/all/bdb/1",
    ] {
        assert_eq!(all.matches(path), Outcome::NoMatch, "{path}");
    }
}

#[test]
fn unrelated_paths_are_refused_by_the_literal_prefix() {
    // The no-match path on every request: one `starts_with` on the prefix, no segment walk.
    let bdb = t("/v1/debuginfo/all/bdb/{bdb_uid:int}");
    assert_eq!(bdb.literal_prefix(), "/v1/debuginfo/all/bdb/");
    assert_eq!(t("/v1/modules/{uid}").literal_prefix(), "/v1/modules/");
    assert_eq!(t("/v1/debuginfo/all").literal_prefix(), "/v1/debuginfo/all");
    for path in ["/v1/bdbs", "/v1/bdbs/1", "/v1/nodes/1/stats", "/", ""] {
        assert!(!path.starts_with(bdb.literal_prefix()));
        assert_eq!(bdb.matches(path), Outcome::NoMatch);
    }
}

#[test]
fn render_fills_the_successor_from_the_matched_parameters() {
    let old = t("/v1/debuginfo/all/bdb/{bdb_uid:int}");
    let new = t("/v1/bdbs/{bdb_uid:int}/debuginfo");
    let Outcome::Match(p) = old.matches("/v1/debuginfo/all/bdb/0012/") else {
        panic!()
    };
    assert_eq!(new.render(&p).as_deref(), Some("/v1/bdbs/12/debuginfo"));
    assert_eq!(t("/v1/nodes/{node_uid}/x").render(&p), None);
    assert_eq!(
        t("/v1/cluster/debuginfo")
            .render(&Params::default())
            .as_deref(),
        Some("/v1/cluster/debuginfo")
    );
}

#[test]
fn bad_templates_are_refused_with_a_reason() {
    for (bad, says) in [
        ("v1/x", "start with '/'"),
        ("/v1/x?y=1", "plain path"),
        ("/v1/a b", "plain path"),
        ("/v1//x", "empty"),
        ("/v1/./x", "empty"),
        ("/v1/x{uid}", "whole segment"),
        ("/v1/{uid", "unclosed"),
        ("/v1/{uid:hex}", "is not \"int\""),
        ("/v1/{Uid}", "lower-case"),
        ("/v1/{}", "lower-case"),
        ("/v1/{a}/{a}", "twice"),
        ("/{a}/{b}/{c}/{d}/{e}", "at most 4"),
    ] {
        let e = Template::parse(bad).unwrap_err();
        assert!(e.contains(says), "{bad}: {e}");
    }
}

#[test]
fn split_query_keeps_the_query_aside() {
    assert_eq!(split_query("/v1/x?a=1&b"), ("/v1/x", Some("a=1&b")));
    assert_eq!(split_query("/v1/x"), ("/v1/x", None));
    assert_eq!(split_query("/v1/x?"), ("/v1/x", Some("")));
}

#[test]
fn ignoring_case_compares_literals_only_and_keeps_the_other_checks() {
    let tpl = t("/v1/debuginfo/all/bdb/{bdb_uid:int}");
    assert!(matches!(
        tpl.matches("/V1/DebugInfo/all/bdb/3"),
        Outcome::NoMatch
    ));
    assert_eq!(
        tpl.matches_ignoring_case("/V1/DebugInfo/ALL/bdb/3/"),
        tpl.matches("/v1/debuginfo/all/bdb/3/")
    );
    assert_eq!(
        tpl.matches_ignoring_case("/V1/debuginfo/all/BDB/x"),
        Outcome::BadParam("bdb_uid")
    );
    for path in [
        "/V1/debuginfo/all/bdb/%33",
        "/V",
        "/V1/debuginfo/all/bdb/3/x",
    ] {
        assert_eq!(tpl.matches_ignoring_case(path), Outcome::NoMatch, "{path}");
    }
    let named = t("/v1/Legacy/{name}");
    assert!(matches!(
        named.matches_ignoring_case("/v1/legacy/Ab"),
        Outcome::Match(_)
    ));
    assert!(matches!(named.matches("/v1/legacy/Ab"), Outcome::NoMatch));
}
