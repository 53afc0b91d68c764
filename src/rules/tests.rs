//! The decision table per version band (API-RULES §7: A 7.2.4, B 7.4.2, C 7.8.2, D 7.22.2,
//! E 8.0.x, F 8.2.x), per mode, and classification over the whole built-in table.

use super::*;
use crate::rules::debuginfo::{NodeBdbDebuginfo, NodeDebuginfo};
use crate::rules::modules::ModulesOn8x;

const BANDS: [&str; 6] = [
    "7.2.4-52",
    "7.4.2-54",
    "7.8.2-34",
    "7.22.2-14",
    "8.0.2-17",
    "8.2.0-25",
];

fn table(options: Options) -> RuleTable {
    RuleTable::new(builtin(&options).unwrap())
}

fn v(s: &str) -> Option<Version> {
    Version::parse(s)
}

const T: Action = Action::Translate;
const G: Action = Action::Gone;
const P: Action = Action::PassThrough;
const U: Action = Action::VersionUnknown;
const O: Action = Action::Observe { mark: false };

/// Auto: one row per rule, bands A–F then unknown.
#[test]
fn auto_follows_each_rules_gate_in_every_band() {
    let t = table(Options::default());
    let rows: [(&str, [Action; 7]); 9] = [
        ("module_upgrade", [T, T, T, T, T, T, T]),
        ("authorize", [O, O, T, T, T, T, T]),
        ("update_cert", [O, O, O, T, T, T, U]),
        ("module_upload", [T, T, T, T, G, G, U]),
        ("module_delete", [T, T, T, T, G, G, U]),
        ("debuginfo_all", [O, T, T, T, T, T, U]),
        ("debuginfo_all_bdb", [O, T, T, T, T, T, U]),
        ("debuginfo_node", [O, T, T, T, T, T, U]),
        ("debuginfo_node_bdb", [O, T, T, T, T, T, U]),
    ];
    for (name, expected) in rows {
        let rule = t.get(name).unwrap();
        let versions = BANDS.iter().map(|b| v(b)).chain([None]);
        for (version, want) in versions.zip(expected) {
            assert_eq!(
                decide(rule, Mode::Auto, version),
                want,
                "{name} at {version:?}"
            );
        }
    }
}

#[test]
fn auto_observes_module_routes_older_than_7_2() {
    let t = table(Options::default());
    let upload = t.get("module_upload").unwrap();
    assert_eq!(decide(upload, Mode::Auto, v("7.0.4-1")), O);
    assert_eq!(decide(upload, Mode::Auto, v("7.2.0")), T);
}

#[test]
fn observe_marks_only_at_or_past_the_deprecation() {
    let t = table(Options::default());
    let cert = t.get("update_cert").unwrap();
    let marked = |version| decide(cert, Mode::Observe, v(version));
    assert_eq!(marked("7.8.2-34"), Action::Observe { mark: false });
    assert_eq!(marked("7.22.2-1"), Action::Observe { mark: true });
    assert_eq!(marked("8.2.0"), Action::Observe { mark: true });
    assert_eq!(decide(cert, Mode::Observe, None), O);
    let debug = t.get("debuginfo_all").unwrap();
    assert_eq!(decide(debug, Mode::Observe, v("7.4.1")), O);
    assert_eq!(
        decide(debug, Mode::Observe, v("7.4.2")),
        Action::Observe { mark: true }
    );
    // The sibling route: its concept was deprecated in 7.8.2 (API-CATALOGUE §2.1).
    let sibling = t.get("module_upgrade_sibling").unwrap();
    assert_eq!(decide(sibling, Mode::Observe, None), O);
    assert_eq!(
        decide(sibling, Mode::Observe, v("7.8.2-34")),
        Action::Observe { mark: true }
    );
}

#[test]
fn translate_applies_whatever_the_version_and_off_never_does() {
    let t = table(Options::default());
    for rule in t.rules() {
        for version in BANDS.iter().map(|b| v(b)).chain([None, v("6.4.2")]) {
            let want = match rule.kind {
                Kind::Gone => G,
                // R18 has no translation: observed, marked from its deprecation (§8.2).
                Kind::Observe => decide(rule, Mode::Observe, version),
                Kind::Translate | Kind::Rewrite => T,
            };
            assert_eq!(
                decide(rule, Mode::Translate, version),
                want,
                "{}",
                rule.name
            );
            assert_eq!(decide(rule, Mode::Off, version), P, "{}", rule.name);
        }
    }
}

#[test]
fn forward_v2_removes_the_gone_band() {
    let t = table(Options {
        modules_on_8x: ModulesOn8x::ForwardV2,
        ..Options::default()
    });
    for name in ["module_upload", "module_delete"] {
        let rule = t.get(name).unwrap();
        assert!(rule.gone_band.is_none());
        assert_eq!(decide(rule, Mode::Auto, v("8.2.0-25")), T);
    }
}

#[test]
fn debuginfo_switches_turn_rules_into_observe_or_gone() {
    let t = table(Options {
        node_debuginfo: NodeDebuginfo::Passthrough,
        node_bdb_debuginfo: NodeBdbDebuginfo::Gone,
        ..Options::default()
    });
    let node = t.get("debuginfo_node").unwrap();
    assert_eq!(
        decide(node, Mode::Auto, v("8.0.2")),
        Action::Observe { mark: true }
    );
    let node_bdb = t.get("debuginfo_node_bdb").unwrap();
    assert_eq!(decide(node_bdb, Mode::Auto, v("8.0.2")), G);
    assert_eq!(decide(node_bdb, Mode::Auto, v("7.2.4")), O);
    let passthrough = table(Options {
        node_bdb_debuginfo: NodeBdbDebuginfo::Passthrough,
        ..Options::default()
    });
    let node_bdb = passthrough.get("debuginfo_node_bdb").unwrap();
    assert_eq!(node_bdb.kind, Kind::Observe);
}

#[test]
fn only_gated_rules_ask_for_a_version_look_up() {
    let t = table(Options::default());
    let need = |name, mode| version_need(t.get(name).unwrap(), mode);
    assert_eq!(need("module_upgrade", Mode::Auto), VersionNeed::None);
    assert_eq!(need("authorize", Mode::Auto), VersionNeed::CachedOnly);
    assert_eq!(need("authorize", Mode::Translate), VersionNeed::CachedOnly);
    assert_eq!(need("update_cert", Mode::Auto), VersionNeed::LookUp);
    assert_eq!(need("update_cert", Mode::Observe), VersionNeed::LookUp);
    assert_eq!(need("update_cert", Mode::Translate), VersionNeed::None);
    assert_eq!(need("module_upload", Mode::Off), VersionNeed::None);
}

#[test]
fn classify_finds_each_builtin_route_and_keeps_the_query() {
    let t = table(Options::default());
    let cases = [
        (Method::POST, "/v1/modules/upgrade/bdb/1", "module_upgrade"),
        (Method::POST, "/v1/users/authorize", "authorize"),
        (Method::POST, "/v1/users/authorize/", "authorize"),
        (Method::PUT, "/v1/cluster/update_cert", "update_cert"),
        (Method::POST, "/v1/modules", "module_upload"),
        (Method::DELETE, "/v1/modules/98f255d5", "module_delete"),
        (Method::GET, "/v1/debuginfo/all?x=1", "debuginfo_all"),
        (Method::GET, "/v1/debuginfo/all/bdb/2", "debuginfo_all_bdb"),
        (Method::GET, "/v1/debuginfo/node", "debuginfo_node"),
        (
            Method::GET,
            "/v1/debuginfo/node/bdb/2/",
            "debuginfo_node_bdb",
        ),
    ];
    for (method, path, name) in cases {
        let m = t
            .classify(&method, path)
            .unwrap_or_else(|| panic!("{path}"));
        assert_eq!(m.rule.name, name, "{path}");
        assert_eq!(m.bad_param, None);
    }
    assert_eq!(
        t.classify(&Method::GET, "/v1/debuginfo/all?x=1")
            .unwrap()
            .query,
        Some("x=1")
    );
}

#[test]
fn unrelated_and_near_miss_requests_match_nothing() {
    let t = table(Options::default());
    for (method, path) in [
        (Method::GET, "/v1/bdbs"),
        (Method::GET, "/v1/modules"),
        (Method::POST, "/v2/modules"),
        (Method::DELETE, "/v2/modules/abc"),
        (Method::PUT, "/v1/cluster/certificates"),
        (Method::POST, "/v1/cluster/update_cert"),
        (Method::GET, "/v1/users/authorize"),
        (Method::POST, "/v1/users/refresh_jwt"),
        (Method::GET, "/v1/debuginfo/all/bdb/x"),
        (Method::GET, "/v1/cluster/debuginfo"),
        (Method::POST, "/v1/modules/upgrade/bdb//"),
        (Method::GET, "/v1/bdbs/3/syncer_state/crdt"),
        (Method::GET, "/v1/bdbs/3/peer_stats"),
        (Method::GET, "/v1/bdbs/3/stats"),
        (Method::GET, "/v1/cluster/stats/1"),
        (Method::PUT, "/v1/bdbs/3/actions/revamp"),
        (Method::GET, "/v1/users/password"),
        (Method::POST, "/v1/nodes/1/actions/maintenance_off"),
    ] {
        assert!(t.classify(&method, path).is_none(), "{method} {path}");
    }
}

#[test]
fn the_module_upgrade_route_keeps_its_bad_uid_404_and_successor() {
    let t = table(Options::default());
    let m = t
        .classify(&Method::POST, "/v1/modules/upgrade/bdb/abc")
        .unwrap();
    assert_eq!(m.rule.id, RuleId::ModuleUpgrade);
    assert_eq!(m.bad_param, Some("uid"));
    let m = t
        .classify(&Method::POST, "/v1/modules/upgrade/bdb/7")
        .unwrap();
    assert_eq!(m.params.int("uid"), Some(7));
    assert_eq!(m.successor_path().as_deref(), Some("/v1/bdbs/7/upgrade"));
    let mut headers = http::HeaderMap::new();
    m.rule
        .marks
        .apply(&mut headers, m.successor_path().as_deref());
    assert_eq!(headers["deprecation"], "@1730419200");
    assert_eq!(
        headers["link"],
        "</v1/bdbs/7/upgrade>; rel=\"successor-version\", \
         <https://redis.io/docs/latest/operate/rs/references/rest-api/requests/bdbs/upgrade/>; \
         rel=\"deprecation\"; type=\"text/html\""
    );
}

#[test]
fn the_sibling_route_is_translated_from_8_0_and_observed_below() {
    let mut t = table(Options::default());
    let m = t
        .classify(&Method::POST, "/v1/bdbs/3/modules/upgrade")
        .unwrap();
    assert_eq!(m.rule.id, RuleId::ModuleUpgradeSibling);
    assert_eq!(decide(m.rule, m.rule.mode, v("8.0.20-68")), T);
    assert_eq!(decide(m.rule, m.rule.mode, v("7.22.2-170")), O);
    t.get_mut("module_upgrade_sibling").unwrap().mode = Mode::Off;
    assert!(t
        .classify(&Method::POST, "/v1/bdbs/3/modules/upgrade")
        .is_none());
}

#[test]
fn every_route_of_a_rule_matches_and_names_its_own_template() {
    let t = table(Options::default());
    for method in [Method::PUT, Method::POST, Method::DELETE] {
        let m = t.classify(&method, "/v1/users/password").unwrap();
        assert_eq!(m.rule.id, RuleId::UsersPassword, "{method}");
    }
    for (path, template) in [
        ("/v1/cluster/stats", "/v1/cluster/stats"),
        (
            "/v1/bdbs/stats/last/7?interval=1sec",
            "/v1/bdbs/stats/last/{uid:int}",
        ),
        ("/v1/shards/stats/12", "/v1/shards/stats/{uid:int}"),
        ("/v1/endpoints/stats", "/v1/endpoints/stats"),
    ] {
        let m = t.classify(&Method::GET, path).unwrap();
        assert_eq!(m.rule.id, RuleId::StatsV1, "{path}");
        assert_eq!(m.template.as_str(), template, "{path}");
    }
    let m = t
        .classify(&Method::POST, "/v1/bdbs/4/modules/config")
        .unwrap();
    assert_eq!(m.rule.id, RuleId::ModuleConfig);
    assert_eq!(m.params.int("uid"), Some(4));
    assert_eq!(m.successor_path().as_deref(), Some("/v1/bdbs/4"));
    // A POST of the stats paths is not R18's.
    assert!(t.classify(&Method::POST, "/v1/cluster/stats").is_none());
}

#[test]
fn auto_observes_r14_r15_inside_their_gates_and_translate_applies_them() {
    let t = table(Options::default());
    for name in ["module_config", "optimize_shards_placement"] {
        let rule = t.get(name).unwrap();
        assert_eq!(
            decide(rule, Mode::Auto, v("8.2.0-25")),
            Action::Observe { mark: true },
            "{name}"
        );
        assert_eq!(
            decide(rule, Mode::Auto, None),
            O,
            "{name}: no 503 to observe"
        );
        assert_eq!(decide(rule, Mode::Translate, v("8.2.0-25")), T, "{name}");
    }
    let stats = t.get("stats_v1").unwrap();
    assert_eq!(decide(stats, Mode::Auto, None), O);
    assert_eq!(decide(stats, Mode::Auto, v("7.8.6-286")), O);
    assert_eq!(
        decide(stats, Mode::Auto, v("7.22.0-95")),
        Action::Observe { mark: true }
    );
}

/// Issue 20 item 8: spellings of a rule's path the shim does not forward are found (to be
/// refused); targets that spell no rule in any reading, and off rules, are not.
#[test]
fn misspellings_of_a_rules_path_are_found_and_nothing_else_is() {
    let mut t = table(Options::default());
    let method = |m: &str| Method::from_bytes(m.as_bytes()).unwrap();
    for (m, path, rule) in [
        ("GET", "/V1/debuginfo/all", "debuginfo_all"),
        ("GET", "/v1/DEBUGINFO/All/?x=1", "debuginfo_all"),
        ("GET", "/v1/debuginfo/all;x", "debuginfo_all"),
        ("GET", "/v1;a/debuginfo;b=1/all", "debuginfo_all"),
        ("GET", "/v1/debuginfo%2Fall", "debuginfo_all"),
        ("GET", "/v1/debuginfo%5call", "debuginfo_all"),
        ("GET", "/v1/debuginfo/all/bdb/3;x", "debuginfo_all_bdb"),
        ("get", "/v1/debuginfo/all", "debuginfo_all"),
        ("post", "/v1/modules/upgrade/bdb/1", "module_upgrade"),
        // The module-upgrade rule answers a bad uid itself (404), so its misspelling counts.
        ("Post", "/v1/modules/upgrade/bdb/x", "module_upgrade"),
        ("DELETE", "/v1/Modules/ABC", "module_delete"),
    ] {
        let found = t.misspelled(&method(m), path).map(|r| r.name.as_str());
        assert_eq!(found, Some(rule), "{m} {path}");
    }
    for (m, path) in [
        ("GET", "/v1/bdbs/1"),
        ("GET", "/V1/BDBS/1"),
        ("GET", "/v1/users/x;y=1"),
        ("get", "/v1/bdbs"),
        ("GET", "/v1/debuginfo/all/bdb/x;y"),
        ("GET", "/v1/debuginfo/ALL/extra"),
        ("PUT", "/v1/debuginfo/ALL"),
        ("GET", "/v1/a%2Fb"),
    ] {
        assert!(t.misspelled(&method(m), path).is_none(), "{m} {path}");
    }
    t.get_mut("debuginfo_all").unwrap().mode = Mode::Off;
    assert!(t.misspelled(&Method::GET, "/V1/debuginfo/all").is_none());
}

#[test]
fn an_off_rule_is_not_classified() {
    let mut t = table(Options::default());
    t.get_mut("debuginfo_all").unwrap().mode = Mode::Off;
    assert!(t.classify(&Method::GET, "/v1/debuginfo/all").is_none());
}

#[test]
fn default_dates_follow_the_release_that_deprecated_each_route() {
    let t = table(Options::default());
    let epochs = [
        ("authorize", "@1730419200"),
        ("update_cert", "@1756684800"),
        ("module_upload", "@1690848000"),
        ("module_delete", "@1690848000"),
        ("debuginfo_all", "@1706745600"),
        ("debuginfo_node_bdb", "@1706745600"),
    ];
    for (name, epoch) in epochs {
        let mut h = http::HeaderMap::new();
        t.get(name).unwrap().marks.apply(&mut h, None);
        assert_eq!(h["deprecation"], epoch, "{name}");
    }
    let gone = t.get("module_upload").unwrap().gone_band.as_ref().unwrap();
    let mut h = http::HeaderMap::new();
    gone.marks
        .apply(&mut h, gone.successor.render(&Params::default()).as_deref());
    assert_eq!(
        h["link"],
        "</v2/modules/user-defined>; rel=\"successor-version\", \
         <https://redis.io/docs/latest/operate/rs/references/rest-api/requests/modules/user-defined/>; \
         rel=\"deprecation\"; type=\"text/html\""
    );
}
