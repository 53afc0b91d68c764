use super::*;
use crate::rules::{decide, Action, Kind, RuleId};
use serde::Deserialize;

/// The `[rules]` section of `toml_text`, validated (shared with `rules_fields_tests.rs`).
pub(crate) fn parse(toml_text: &str) -> Result<Rules, ConfigError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Wrapper {
        #[serde(default)]
        rules: RawRules,
    }
    let w: Wrapper =
        toml::from_str(toml_text).map_err(|e| ConfigError::new("toml", e.to_string()))?;
    validate(w.rules)
}

/// The error refusing `toml_text` (a test failure when it is accepted).
pub(crate) fn error(toml_text: &str) -> ConfigError {
    match parse(toml_text) {
        Ok(_) => panic!("accepted: {toml_text}"),
        Err(e) => e,
    }
}

fn key_of(toml_text: &str) -> String {
    error(toml_text).key
}

const CUSTOM: &str = r#"
[[rules.custom]]
name = "stats-last"
method = "GET"
path = "/v1/bdbs/{uid:int}/stats/last"
kind = "rewrite"
successor = "/v2/bdbs/{uid}/stats"
docs_url = "https://example.com/stats"
deprecation_date = "2025-01-01"
"#;

#[test]
fn defaults_cover_every_builtin_rule_in_auto() {
    let r = parse("").unwrap();
    assert_eq!(r.rs_version, None);
    assert_eq!(r.version_source, VersionSource::Bootstrap);
    assert_eq!(r.version_cache_ttl, Duration::from_secs(60));
    assert_eq!(r.module_upload_max_size, 512 * 1024 * 1024);
    assert_eq!(r.debuginfo_read_timeout, Duration::from_secs(900));
    assert_eq!(r.certificates_timeout, Duration::from_secs(900));
    assert_eq!(r.options, Options::default());
    let names: Vec<&str> = r.table.rules().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "module_upgrade",
            "module_upgrade_sibling",
            "authorize",
            "update_cert",
            "module_upload",
            "module_delete",
            "debuginfo_all",
            "debuginfo_all_bdb",
            "debuginfo_node",
            "debuginfo_node_bdb",
            "users_password",
            "module_config",
            "optimize_shards_placement",
            "syncer_state",
            "maintenance_keep_slave_shards",
            "stats_v1",
            "field_user_role",
            "field_predefined_roles",
            "field_redis_pass",
            "field_module_id",
            "field_use_ipv6",
            "field_sentinel_policy",
            "field_db_conns_auditing"
        ]
    );
    // API-CATALOGUE §13: every built-in rule defaults to auto, the sibling included.
    assert!(r.table.rules().iter().all(|rule| rule.mode == Mode::Auto));
    assert_eq!(r.stats.audit_window, Duration::from_secs(3600));
    assert_eq!(r.stats.metrics_v2_url, None);
}

#[test]
fn every_key_is_read() {
    let r = parse(&format!(
        r#"
[rules]
rs_version = "7.22.2-14"
version_source = "nodes-min"
version_cache_ttl = "5s"
modules_on_8x = "forward_v2"
node_debuginfo = "passthrough"
node_bdb_debuginfo = "gone"
module_upload_max_size = "1GiB"
debuginfo_read_timeout = "20m"
certificates_timeout = "1m"
[rules.module_upgrade]
mode = "observe"
[rules.module_upgrade_sibling]
mode = "translate"
[rules.update_cert]
mode = "translate"
deprecation_date = "2025-10-01"
sunset_date = "2027-01-01"
{CUSTOM}"#
    ))
    .unwrap();
    assert_eq!(r.rs_version, Version::parse("7.22.2-14"));
    assert_eq!(r.version_source, VersionSource::NodesMin);
    assert_eq!(r.version_cache_ttl, Duration::from_secs(5));
    assert_eq!(r.module_upload_max_size, 1 << 30);
    assert_eq!(r.debuginfo_read_timeout, Duration::from_secs(1200));
    assert_eq!(r.certificates_timeout, Duration::from_secs(60));
    let t = &r.table;
    assert_eq!(t.get("module_upgrade").unwrap().mode, Mode::Observe);
    assert_eq!(
        t.get("module_upgrade_sibling").unwrap().mode,
        Mode::Translate
    );
    assert!(t.get("module_upload").unwrap().gone_band.is_none());
    assert_eq!(t.get("debuginfo_node").unwrap().kind, Kind::Observe);
    assert_eq!(t.get("debuginfo_node_bdb").unwrap().kind, Kind::Gone);
    let cert = t.get("update_cert").unwrap();
    assert_eq!(cert.mode, Mode::Translate);
    let mut h = http::HeaderMap::new();
    cert.marks.apply(&mut h, None);
    assert_eq!(h["deprecation"], "@1759276800");
    assert_eq!(h["sunset"], "Fri, 01 Jan 2027 00:00:00 GMT");
    let custom = t.get("stats-last").unwrap();
    assert_eq!(custom.id, RuleId::Custom(0));
    assert_eq!(decide(custom, custom.mode, None), Action::Translate);
}

#[test]
fn bad_values_name_their_key() {
    let cases = [
        ("[rules]\nrs_version = \"7.22\"", "rules.rs_version"),
        (
            "[rules]\nversion_source = \"nodes\"",
            "rules.version_source",
        ),
        (
            "[rules]\nversion_cache_ttl = \"soon\"",
            "rules.version_cache_ttl",
        ),
        ("[rules]\nmodules_on_8x = \"404\"", "rules.modules_on_8x"),
        ("[rules]\nnode_debuginfo = \"yes\"", "rules.node_debuginfo"),
        (
            "[rules]\nnode_bdb_debuginfo = \"all\"",
            "rules.node_bdb_debuginfo",
        ),
        (
            "[rules]\nmodule_upload_max_size = \"0\"",
            "rules.module_upload_max_size",
        ),
        (
            "[rules]\ndebuginfo_read_timeout = \"x\"",
            "rules.debuginfo_read_timeout",
        ),
        (
            "[rules]\ncertificates_timeout = \"x\"",
            "rules.certificates_timeout",
        ),
        ("[rules.authorize]\nmode = \"on\"", "rules.authorize.mode"),
        (
            "[rules.module_upgrade]\nmode = \"on\"",
            "rules.module_upgrade.mode",
        ),
        (
            "[rules.debuginfo_all]\ndeprecation_date = \"soon\"",
            "rules.debuginfo_all.deprecation_date",
        ),
        (
            "[rules.update_cert]\nsunset_date = \"2020-01-01\"",
            "rules.update_cert.sunset_date",
        ),
    ];
    for (text, key) in cases {
        assert_eq!(key_of(text), key, "{text}");
    }
}

#[test]
fn misspelt_rule_sections_and_keys_are_refused() {
    for text in [
        "[rules.authorise]\nmode = \"off\"",
        "[rules.module_upgrade]\ndeprecation_date = \"2024-01-01\"",
        "[rules.update_cert]\nmodes = \"off\"",
        "[[rules.custom]]\nname = \"x\"\nverb = \"GET\"",
    ] {
        assert_eq!(key_of(text), "toml", "{text}");
    }
}

#[test]
fn custom_rule_errors_name_the_entry_and_field() {
    let second = |extra: &str, drop: &str| {
        let entry: String = CUSTOM
            .lines()
            .filter(|l| !l.starts_with(drop) || drop.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
            .replace("stats-last", "other");
        format!("{CUSTOM}{entry}\n{extra}\n")
    };
    let cases = [
        (second("", "name"), "rules.custom[1].name"),
        (second("", "method"), "rules.custom[1].method"),
        (second("", "path"), "rules.custom[1].path"),
        (second("", "kind"), "rules.custom[1].kind"),
        (second("", "docs_url"), "rules.custom[1].docs_url"),
        (
            second("", "deprecation_date"),
            "rules.custom[1].deprecation_date",
        ),
        (second("", "successor"), "rules.custom[1].successor"),
        (second("mode = \"sometimes\"", ""), "rules.custom[1].mode"),
        (
            second("sunset_date = \"2020-01-01\"", ""),
            "rules.custom[1].sunset_date",
        ),
        (
            second("deprecated_in = \"8\"", ""),
            "rules.custom[1].deprecated_in",
        ),
        (
            CUSTOM.replace("\"GET\"", "\"get\""),
            "rules.custom[0].method",
        ),
        (
            CUSTOM.replace(
                "{uid:int}/stats/last",
                "{uid:int}/stats/{x}/last/{y}/{z}/{w}",
            ),
            "rules.custom[0].path",
        ),
        (
            CUSTOM.replace("\"rewrite\"", "\"translate\""),
            "rules.custom[0].kind",
        ),
        (
            CUSTOM.replace("/v2/bdbs/{uid}/stats", "/v2/{bdb}"),
            "rules.custom[0].successor",
        ),
        (
            CUSTOM.replace("https://example.com/stats", "a b"),
            "rules.custom[0].docs_url",
        ),
        (format!("{CUSTOM}{CUSTOM}"), "rules.custom[1].name"),
        (
            CUSTOM.replace("stats-last", "authorize"),
            "rules.custom[0].name",
        ),
    ];
    for (text, key) in cases {
        assert_eq!(key_of(&text), key, "{text}");
    }
}
