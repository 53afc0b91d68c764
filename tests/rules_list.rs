//! `deprecation-shim rules list`, run as the real binary: what it says each rule does in front of
//! the simulator's 7.4 and 8.2 builds (API-CATALOGUE §12's images), its JSON, its usage error, and
//! that the table in docs/RULES.md is its output.

mod support;

use support::shim::run_binary;

fn stdout_of(args: &[&str]) -> String {
    let out = run_binary(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}");
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The row of rule `name`, its cells split on runs of two spaces or more.
fn row(text: &str, name: &str) -> Vec<String> {
    let line = text
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no row for {name} in:\n{text}"));
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

fn does(text: &str, name: &str) -> String {
    row(text, name).last().cloned().unwrap_or_default()
}

#[test]
fn in_front_of_7_4_the_module_routes_translate_and_the_7_8_and_7_22_breaks_observe() {
    let text = stdout_of(&["rules", "list", "--version", "7.4.6-272"]);
    assert!(text.contains("in front of RS 7.4.6-272"), "{text}");
    assert_eq!(does(&text, "module_upgrade"), "translate");
    assert_eq!(does(&text, "module_upgrade_sibling"), "observe");
    assert_eq!(does(&text, "authorize"), "observe");
    assert_eq!(does(&text, "update_cert"), "observe");
    assert_eq!(does(&text, "module_upload"), "translate");
    assert_eq!(does(&text, "debuginfo_all"), "rewrite");
    assert_eq!(
        row(&text, "module_upload"),
        [
            "R4",
            "module_upload",
            "POST /v1/modules",
            "translate",
            "auto",
            "≥ 7.2.0; gone ≥ 8.0.0; below: observe",
            "7.2.4 (2023-08-01)",
            "translate",
        ]
    );
}

#[test]
fn in_front_of_8_2_module_uploads_are_gone_and_the_rewrites_apply() {
    let text = stdout_of(&["rules", "list", "--version", "8.2.0-25"]);
    assert_eq!(does(&text, "module_upgrade"), "translate");
    assert_eq!(does(&text, "authorize"), "rewrite");
    assert_eq!(does(&text, "update_cert"), "rewrite");
    assert_eq!(does(&text, "module_upload"), "gone (410)");
    assert_eq!(does(&text, "module_delete"), "gone (410)");
    assert_eq!(does(&text, "debuginfo_node_bdb"), "rewrite");
}

#[test]
fn json_says_the_same_with_every_fact() {
    let text = stdout_of(&["rules", "list", "--version", "8.2.0-25", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(doc["version"], "8.2.0-25");
    let rule = |name: &str| {
        doc["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name}"))
    };
    assert_eq!(rule("module_upload")["does"], "gone (410)");
    assert_eq!(rule("module_upgrade")["id"], "R0");
    assert_eq!(rule("module_upgrade")["deprecation_header"], "@1730419200");
    assert_eq!(rule("update_cert")["gate"]["from"], "7.22.2");
    let notes: Vec<&str> = doc["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .filter_map(|n| n["id"].as_str())
        .collect();
    assert_eq!(notes, ["R2", "R6", "R11"]);
}

#[test]
fn a_version_it_cannot_read_is_a_usage_error_naming_the_flag() {
    for bad in ["7.8", "v7.8.2", "7.8.2-x", ""] {
        let out = run_binary(&["rules", "list", "--version", bad]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {stderr}");
        assert!(stderr.contains("--version"), "{bad:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{bad:?}");
    }
}

/// docs/RULES.md shows the command's output without `--version`, byte for byte.
#[test]
fn the_docs_table_is_the_commands_output() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/RULES.md"))
        .expect("docs/RULES.md");
    let begin = "<!-- rules list: begin -->\n```text\n";
    let end = "```\n<!-- rules list: end -->";
    let from = docs.find(begin).expect("begin marker") + begin.len();
    let to = docs[from..].find(end).expect("end marker") + from;
    let output = stdout_of(&["rules", "list"]);
    assert!(
        docs[from..to] == output,
        "docs/RULES.md's table differs from `deprecation-shim rules list`; paste its output \
         between the markers:\n{output}"
    );
}

#[test]
fn the_field_rules_are_listed_with_what_they_do_in_front_of_each_version() {
    let at_8_2 = stdout_of(&["rules", "list", "--version", "8.2.0-25"]);
    let at_8_0 = stdout_of(&["rules", "list", "--version", "8.0.20-68"]);
    assert_eq!(does(&at_8_2, "field_use_ipv6"), "rename");
    assert_eq!(does(&at_8_0, "field_use_ipv6"), "observe");
    assert_eq!(does(&at_8_0, "field_sentinel_policy"), "rename");
    assert_eq!(does(&at_8_2, "field_db_conns_auditing"), "observe");
    assert_eq!(row(&at_8_2, "field_redis_pass")[0], "F3");
    let json = stdout_of(&["rules", "list", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let ids: Vec<&str> = doc["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert_eq!(ids, ["F1", "F2", "F3", "F4", "F5", "F6", "F7"]);
}
