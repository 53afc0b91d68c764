use super::*;
use crate::rules::{builtin, Options};
use std::collections::HashSet;
use std::time::{Duration, UNIX_EPOCH};

#[test]
fn every_entry_has_its_own_id_name_and_rule() {
    let ids: HashSet<&str> = ENTRIES.iter().map(|e| e.id).collect();
    let names: HashSet<&str> = ENTRIES.iter().map(|e| e.name).collect();
    let rules: HashSet<RuleId> = ENTRIES.iter().map(|e| e.rule).collect();
    assert_eq!(ids.len(), ENTRIES.len());
    assert_eq!(names.len(), ENTRIES.len());
    assert_eq!(rules.len(), ENTRIES.len());
    let mut listed: Vec<&str> = ENTRIES
        .iter()
        .map(|e| e.id)
        .chain(NOTES.iter().map(|n| n.id))
        .collect();
    listed.sort_by_key(|id| id[1..].parse::<u32>().unwrap_or(u32::MAX));
    assert_eq!(
        listed,
        [
            "R0", "R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10", "R11", "R12", "R13",
            "R14", "R15", "R16", "R17", "R18"
        ]
    );
}

/// The table is built from the catalogue: a rule that drifted from its entry (a field dropped or
/// rewritten by `builtin`) fails here.
#[test]
fn the_built_in_table_says_what_the_catalogue_says() {
    let rules = builtin(&Options::default()).unwrap();
    assert_eq!(rules.len(), ENTRIES.len());
    for (rule, e) in rules.iter().zip(&ENTRIES) {
        assert_eq!(rule.id, e.rule, "{}: order", e.name);
        assert_eq!(rule.name, e.name);
        assert_eq!(rule.matcher.method, e.method, "{}", e.name);
        assert_eq!(rule.matcher.path.as_str(), e.path, "{}", e.name);
        assert_eq!(rule.matcher.on_bad_param, e.on_bad_param, "{}", e.name);
        let also: Vec<(&str, &str)> = rule
            .matcher
            .also
            .iter()
            .map(|(m, t)| (m.as_str(), t.as_str()))
            .collect();
        assert_eq!(also, e.also, "{}", e.name);
        assert_eq!(rule.auto_observes, e.auto_observes, "{}", e.name);
        assert_eq!(
            rule.meta.successor.as_ref().map(|t| t.as_str()),
            e.successor,
            "{}",
            e.name
        );
        assert_eq!(rule.kind, e.kind, "{}", e.name);
        assert_eq!(rule.gate, e.gate, "{}", e.name);
        assert_eq!(rule.mode, e.mode, "{}", e.name);
        assert_eq!(rule.meta.deprecated_in, e.deprecated_in, "{}", e.name);
        assert_eq!(rule.meta.removed_in, e.removed_in, "{}", e.name);
        assert_eq!(
            rule.meta.deprecation,
            UNIX_EPOCH + Duration::from_secs(e.deprecation),
            "{}",
            e.name
        );
        assert_eq!(rule.meta.sunset, None, "{}", e.name);
        assert_eq!(rule.meta.docs_url, e.docs, "{}", e.name);
        assert_eq!(
            rule.gone_band
                .as_ref()
                .map(|g| (g.from, g.successor.as_str())),
            e.gone.map(|g| (g.from, g.successor)),
            "{}",
            e.name
        );
        assert!(entry(e.rule).is_some_and(|found| std::ptr::eq(found, e)));
    }
}

#[test]
fn the_facts_match_the_contracts() {
    let e = |rule| entry(rule).unwrap();
    // API-RULES §1.5: the first day of the deprecating release's month.
    assert_eq!(e(RuleId::ModuleUpgrade).deprecation, 1_730_419_200);
    assert_eq!(e(RuleId::UpdateCert).deprecation, 1_756_684_800);
    assert_eq!(e(RuleId::ModuleUpload).deprecation, 1_690_848_000);
    assert_eq!(e(RuleId::DebuginfoNodeBdb).deprecation, 1_706_745_600);
    // API-RULES §8's gates.
    assert_eq!(e(RuleId::Authorize).gate.from, Some(V7_8_2));
    assert!(e(RuleId::Authorize).gate.apply_when_unknown);
    assert!(!e(RuleId::Authorize).gate.look_up);
    assert_eq!(e(RuleId::UpdateCert).gate.from, Some(V7_22_2));
    assert_eq!(e(RuleId::ModuleDelete).gate.from, Some(V7_2_0));
    assert_eq!(e(RuleId::ModuleDelete).gone.map(|g| g.from), Some(V8_0_0));
    assert_eq!(e(RuleId::DebuginfoAll).gate.from, Some(V7_4_2));
    // API-CATALOGUE §13: every rule of issue 22 defaults to auto, the sibling included.
    for id in [
        RuleId::ModuleUpgradeSibling,
        RuleId::UsersPassword,
        RuleId::ModuleConfig,
        RuleId::OptimizeShardsPlacement,
        RuleId::SyncerState,
        RuleId::MaintenanceKeepSlaveShards,
        RuleId::StatsV1,
    ] {
        assert_eq!(e(id).mode, Mode::Auto, "{id:?}");
    }
    // §13's gates and §1.5's dates.
    assert_eq!(e(RuleId::ModuleUpgradeSibling).gate.from, Some(V8_0_0));
    assert_eq!(e(RuleId::UsersPassword).gate.from, Some(V7_8_2));
    assert!(e(RuleId::UsersPassword).gate.apply_when_unknown);
    assert_eq!(
        e(RuleId::UsersPassword).gate.builds,
        &crate::rules::build_range::RS161290
    );
    assert_eq!(e(RuleId::ModuleConfig).gate.from, Some(V7_4_2));
    assert!(e(RuleId::ModuleConfig).auto_observes);
    assert!(e(RuleId::OptimizeShardsPlacement).auto_observes);
    assert_eq!(e(RuleId::SyncerState).gate.from, Some(V7_2_4));
    assert_eq!(
        e(RuleId::MaintenanceKeepSlaveShards).gate.from,
        Some(V7_4_2)
    );
    assert!(
        !e(RuleId::StatsV1).gate.look_up,
        "R18 never looks the version up"
    );
    assert_eq!(
        e(RuleId::StatsV1).also.len(),
        14,
        "the 15 v1 statistics paths"
    );
    assert_eq!(
        e(RuleId::OptimizeShardsPlacement).deprecation,
        1_746_057_600
    );
    assert_eq!(e(RuleId::StatsV1).deprecation, 1_746_057_600);
    assert_eq!(e(RuleId::SyncerState).deprecation, 1_690_848_000);
    assert_eq!(
        e(RuleId::MaintenanceKeepSlaveShards).deprecation,
        1_706_745_600
    );
    assert_eq!(e(RuleId::UsersPassword).deprecation, 1_730_419_200);
    for entry in &ENTRIES {
        assert!(
            entry
                .docs
                .starts_with("https://redis.io/docs/latest/operate/rs/"),
            "{}",
            entry.docs
        );
        assert!(
            entry.gate.builds.is_empty() || entry.rule == RuleId::UsersPassword,
            "{}: only R13's guard has build ranges",
            entry.name
        );
    }
}
