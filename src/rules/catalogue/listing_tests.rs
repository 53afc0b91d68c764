use super::*;

fn v(s: &str) -> Option<Version> {
    Some(Version::parse(s).unwrap())
}

fn does(at: Option<Version>) -> Vec<(&'static str, &'static str)> {
    rows(at)
        .unwrap()
        .into_iter()
        .map(|r| (r.name, r.does.unwrap_or("-")))
        .collect()
}

/// What `decide` says with the default modes, rule by rule (tests.rs holds the bands).
#[test]
fn each_rule_says_what_it_does_in_front_of_7_4_and_8_2() {
    assert_eq!(
        does(v("7.4.6-272")),
        [
            ("module_upgrade", "translate"),
            ("module_upgrade_sibling", "observe"),
            ("authorize", "observe"),
            ("update_cert", "observe"),
            ("module_upload", "translate"),
            ("module_delete", "translate"),
            ("debuginfo_all", "rewrite"),
            ("debuginfo_all_bdb", "rewrite"),
            ("debuginfo_node", "rewrite"),
            ("debuginfo_node_bdb", "rewrite"),
            ("users_password", "observe"),
            ("module_config", "observe, marked"),
            ("optimize_shards_placement", "observe"),
            ("syncer_state", "rewrite"),
            ("maintenance_keep_slave_shards", "rewrite"),
            ("stats_v1", "observe"),
        ]
    );
    assert_eq!(
        does(v("8.2.0-25")),
        [
            ("module_upgrade", "translate"),
            ("module_upgrade_sibling", "translate"),
            ("authorize", "rewrite"),
            ("update_cert", "rewrite"),
            ("module_upload", "gone (410)"),
            ("module_delete", "gone (410)"),
            ("debuginfo_all", "rewrite"),
            ("debuginfo_all_bdb", "rewrite"),
            ("debuginfo_node", "rewrite"),
            ("debuginfo_node_bdb", "rewrite"),
            ("users_password", "rewrite"),
            ("module_config", "observe, marked"),
            ("optimize_shards_placement", "observe, marked"),
            ("syncer_state", "rewrite"),
            ("maintenance_keep_slave_shards", "rewrite"),
            ("stats_v1", "observe, marked"),
        ]
    );
}

#[test]
fn a_version_without_build_is_gated_like_its_builds() {
    assert_eq!(does(v("7.22.2")), does(v("7.22.2-14")));
    assert_eq!(does(v("7.2.0")), does(v("7.2.0-1")));
    assert_ne!(does(v("7.22.1-999")), does(v("7.22.2")));
}

#[test]
fn without_a_version_the_gate_is_the_answer() {
    let rows = rows(None).unwrap();
    assert!(rows.iter().all(|r| r.does.is_none()));
    let gate = |name: &str| rows.iter().find(|r| r.name == name).unwrap().gate.clone();
    assert_eq!(gate("module_upgrade"), "every version");
    assert_eq!(gate("authorize"), "≥ 7.8.2 or unknown; below: observe");
    assert_eq!(
        gate("module_upload"),
        "≥ 7.2.0; gone ≥ 8.0.0; below: observe"
    );
    assert_eq!(gate("debuginfo_all"), "≥ 7.4.2; below: observe");
    let text = text(None).unwrap();
    assert!(text.contains("depends on the cluster's version"), "{text}");
    assert!(!text.contains("AT "), "{text}");
}

#[test]
fn the_text_table_is_aligned_and_ends_with_the_notes() {
    let text = text(v("8.2.0-25")).unwrap();
    // The route rules' table, before the field rules' own.
    let routes = text.split("Field rules:").next().unwrap_or_default();
    let lines: Vec<&str> = routes
        .lines()
        .filter(|l| l.starts_with('R') || l.starts_with("ID"))
        .collect();
    assert_eq!(lines.len(), 1 + ENTRIES.len(), "{text}");
    let column = |line: &str, word: &str| line.find(word).map(|i| line[..i].chars().count());
    let gate_at = column(lines[0], "GATE").unwrap();
    let does_at = column(lines[0], "AT 8.2.0-25").unwrap();
    let upload = lines.iter().find(|l| l.contains("module_upload")).unwrap();
    assert_eq!(column(upload, "≥ 7.2.0"), Some(gate_at), "{text}");
    assert_eq!(column(upload, "gone (410)"), Some(does_at), "{text}");
    assert!(text.contains("  R6   modules_gone_on_8x: "), "{text}");
    assert!(text.contains("  R11  version_discovery: "), "{text}");
}

#[test]
fn json_carries_every_fact_and_the_answer() {
    let doc: serde_json::Value = serde_json::from_str(&json(v("7.4.6-272")).unwrap()).unwrap();
    assert_eq!(doc["version"], "7.4.6-272");
    let rules = doc["rules"].as_array().unwrap();
    assert_eq!(rules.len(), ENTRIES.len());
    let upload = rules.iter().find(|r| r["name"] == "module_upload").unwrap();
    assert_eq!(upload["id"], "R4");
    assert_eq!(upload["method"], "POST");
    assert_eq!(upload["path"], "/v1/modules");
    assert_eq!(upload["gate"]["from"], "7.2.0");
    assert_eq!(upload["gate"]["gone_from"], "8.0.0");
    assert_eq!(upload["deprecated_in"], "7.2.4");
    assert_eq!(upload["deprecation"], "2023-08-01");
    assert_eq!(upload["deprecation_header"], "@1690848000");
    assert_eq!(upload["does"], "translate");
    assert_eq!(doc["notes"].as_array().unwrap().len(), 3);
    let none: serde_json::Value = serde_json::from_str(&json(None).unwrap()).unwrap();
    assert_eq!(none["version"], serde_json::Value::Null);
    assert_eq!(none["rules"][0]["does"], serde_json::Value::Null);
}

#[test]
fn a_gate_with_build_ranges_names_them() {
    let mut rule = builtin(&Options::default())
        .unwrap()
        .into_iter()
        .find(|r| r.name == "authorize")
        .unwrap();
    rule.gate.builds = &crate::rules::build_range::RS161290;
    assert_eq!(
        gate_words(&rule),
        "≥ 7.8.2 or unknown; below: observe; builds [7.8.2-0, 7.8.6-119) ∪ [7.22.0-0, 7.22.0-216)"
    );
}
