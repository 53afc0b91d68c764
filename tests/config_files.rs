//! Every file in `config/` loads and validates, so the documented examples cannot rot; and
//! bad configuration is refused with a message naming the key.

use deprecation_shim::config::{self, Config};
use std::path::Path;

#[test]
fn every_config_file_in_config_dir_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("config dir") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let raw = config::load_raw(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Config::from_raw(raw).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        seen += 1;
    }
    assert!(
        seen >= 3,
        "expected example.toml, minimal.toml and rules-example.toml, saw {seen}"
    );
}

fn error_for(toml: &str) -> String {
    match config::parse_raw(toml).and_then(Config::from_raw) {
        Ok(_) => panic!("accepted: {toml}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn unknown_key_is_named() {
    let e = error_for("[upstream]\nurl = \"http://x:1\"\nurll = 1\n");
    assert!(e.contains("urll"), "{e}");
}

#[test]
fn bad_values_name_their_key() {
    let cases = [
        ("[upstream]\nurl = \"ftp://x\"", "upstream.url"),
        (
            "instance = \"two words\"\n[upstream]\nurl = \"http://x:1\"",
            "instance",
        ),
        (
            "[upstream]\nurl = \"http://x:1\"\n[listen]\ndrain_delay = \"soon\"",
            "listen.drain_delay",
        ),
        (
            "[upstream]\nurl = \"http://x:1\"\n[admin]\ncluster_probe_interval = \"1ms\"",
            "admin.cluster_probe_interval",
        ),
        (
            "[upstream]\nurl = \"http://x:1\"\nconnect_timeout = \"soon\"",
            "upstream.connect_timeout",
        ),
        (
            "[upstream]\nurl = \"http://x:1\"\n[shim]\nmax_body_size = \"lots\"",
            "shim.max_body_size",
        ),
        (
            "[upstream]\nurl = \"http://x:1\"\n[shim]\nmode = \"later\"",
            "shim.mode",
        ),
        (
            "[upstream]\nurl = \"http://x:1\"\n[listen]\naddress = \"nowhere\"",
            "listen.address",
        ),
        (
            "[upstream]\nurl = \"http://x:1\"\n[listen]\ntls_cert = \"/nonexistent.pem\"",
            "listen.tls_key",
        ),
        (
            "[upstream]\nurl = \"http://x:1\"\n[shim]\nsunset_date = \"2024-01-01\"",
            "shim.sunset_date",
        ),
        (
            "[upstream]\nurl = \"http://x:1\"\n[log]\nformat = \"xml\"",
            "log.format",
        ),
        ("[listen]\naddress = \"127.0.0.1:1\"", "upstream.url"),
    ];
    for (toml, key) in cases {
        let e = error_for(toml);
        assert!(e.starts_with(key), "{toml:?} → {e}");
    }
}

#[test]
fn human_durations_and_sizes_are_parsed() {
    let raw = config::parse_raw(
        "[upstream]\nurl = \"https://c:9443\"\n[shim]\npoll_interval = \"250ms\"\nmax_body_size = \"2MiB\"\nsunset_date = \"2027-06-30\"",
    )
    .unwrap();
    let cfg = Config::from_raw(raw).unwrap();
    assert_eq!(cfg.shim.poll_interval.as_millis(), 250);
    assert_eq!(cfg.shim.max_body_size, 2 * 1024 * 1024);
    assert!(cfg.upstream.https);
    assert_eq!(cfg.upstream.authority.as_str(), "c:9443");
}

#[test]
fn audit_identity_keys_are_validated_and_old_configs_keep_working() {
    let cfg = |audit: &str| {
        config::parse_raw(&format!(
            "[upstream]\nurl = \"http://x:1\"\n[audit]\n{audit}"
        ))
        .and_then(Config::from_raw)
    };
    // Written before trusted_proxies existed: still valid, trusting the peer alone.
    let old = cfg("trust_forwarded_for = true").unwrap();
    assert!(old.audit.trust_forwarded_for && old.audit.trusted_proxies.is_empty());
    assert_eq!(old.audit.file_mode, 0o600);
    // A list of proxies implies trusting their header.
    let listed = cfg("trusted_proxies = [\"10.0.0.0/8\", \"192.0.2.1\"]").unwrap();
    assert!(listed.audit.trust_forwarded_for);
    assert!(listed
        .audit
        .trusted_proxies
        .contains("10.1.2.3".parse().unwrap()));
    assert_eq!(cfg("file_mode = \"0640\"").unwrap().audit.file_mode, 0o640);
    for (bad, key) in [
        (
            "trusted_proxies = [\"=HYPERLINK()\"]",
            "audit.trusted_proxies",
        ),
        (
            "trusted_proxies = [\"10.1.2.3/8\"]",
            "audit.trusted_proxies",
        ),
        (
            "trust_forwarded_for = false\ntrusted_proxies = [\"10.0.0.0/8\"]",
            "audit.trusted_proxies",
        ),
        ("file_mode = \"0777\"", "audit.file_mode"),
        ("file_mode = \"0666\"", "audit.file_mode"),
        ("file_mode = \"0400\"", "audit.file_mode"),
        ("file_mode = \"rw\"", "audit.file_mode"),
    ] {
        let e = error_for(&format!("[upstream]\nurl = \"http://x:1\"\n[audit]\n{bad}"));
        assert!(e.starts_with(key), "{bad:?} → {e}");
    }
}

#[test]
fn rules_example_sets_every_builtin_rule_and_two_operator_rules_of_each_kind() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/rules-example.toml");
    let text = std::fs::read_to_string(&path).expect("rules-example.toml");
    let cfg = Config::from_raw(config::parse_raw(&text).expect("parses")).expect("validates");
    let rules = cfg.rules.table.rules();
    let fields = cfg.rules.table.fields().rules();
    let operators_field = |id| match id {
        deprecation_shim::rules::RuleId::Field(i) => fields[i].id == "custom",
        _ => false,
    };
    for rule in rules {
        if !matches!(rule.id, deprecation_shim::rules::RuleId::Custom(_))
            && !operators_field(rule.id)
        {
            assert!(
                text.contains(&format!("[rules.{}]", rule.name)),
                "rules-example.toml does not set [rules.{}]",
                rule.name
            );
        }
    }
    let custom: Vec<&str> = rules
        .iter()
        .filter(|r| matches!(r.id, deprecation_shim::rules::RuleId::Custom(_)))
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(custom, ["bdb-stats-last", "legacy-backup"]);
    let custom_fields: Vec<&str> = rules
        .iter()
        .filter(|r| operators_field(r.id))
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(custom_fields, ["cluster-legacy-flag", "bdb-owner-rename"]);
}

#[test]
fn a_lifecycle_sunset_is_the_sunset_its_rule_announces() {
    let text = "[upstream]\nurl = \"http://x:1\"\n\
        [lifecycle.module_upgrade]\nsunset_date = \"2027-06-30\"\n\
        [lifecycle.update_cert]\nsunset_date = \"2027-09-30\"\n";
    let cfg = Config::from_raw(config::parse_raw(text).expect("parses")).expect("validates");
    let update_cert = cfg.rules.table.get("update_cert").expect("rule");
    assert_eq!(
        update_cert.meta.sunset,
        Some(config::parse_date("d", "2027-09-30").expect("date"))
    );
    let mut headers = http::HeaderMap::new();
    cfg.shim.headers.apply(&mut headers, Some(1));
    assert_eq!(
        headers.get("sunset").and_then(|v| v.to_str().ok()),
        Some("Wed, 30 Jun 2027 00:00:00 GMT")
    );
}
