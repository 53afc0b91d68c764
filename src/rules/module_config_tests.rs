use super::*;
use serde_json::json;

fn m(name: &str, args: &str) -> ModuleArgs {
    ModuleArgs {
        module_name: name.into(),
        args: args.into(),
    }
}

fn code(e: &ApiError) -> (u16, &str) {
    (e.status.as_u16(), e.error_code.as_str())
}

fn bdb7() -> Value {
    json!({
        "uid": 3,
        "redis_version": "7.2",
        "module_list": [
            {"module_id": "a1", "module_name": "ReJSON", "module_args": "",
             "semantic_version": "2.6.6"},
            {"module_id": "b2", "module_name": "search",
             "module_args": "MINPREFIX 3 MAXEXPANSIONS 1000", "semantic_version": "2.8.4"},
            {"module_id": "c3", "module_name": "timeseries", "module_args": null}
        ]
    })
}

fn bdb8() -> Value {
    json!({
        "uid": 7,
        "redis_version": "8.0",
        "module_list": [{"module_name": "search", "module_args": null}],
        "search": {"search-min-prefix": 2, "search-timeout": 1000, "search-workers": 4},
        "timeseries": {"ts-retention-policy": 0, "ts-num-threads": 3},
        "probabilistic": {"bf-error-rate": 0.01, "bf-initial-size": 100, "cf-max-expansions": 32}
    })
}

// --- parse (§4.2) -------------------------------------------------------------------------------

#[test]
fn a_well_formed_body_parses_in_order() {
    let body = br#"{"modules":[{"module_name":"search","module_args":"MINPREFIX 3 MAXEXPANSIONS 1000"},
                               {"module_name":"bf","module_args":"ERROR_RATE 0.001","x":1}],"y":2}"#;
    assert_eq!(
        parse(body).unwrap(),
        vec![
            m("search", "MINPREFIX 3 MAXEXPANSIONS 1000"),
            m("bf", "ERROR_RATE 0.001")
        ]
    );
}

#[test]
fn bad_bodies_get_the_old_error_codes() {
    for (body, expected) in [
        (&b"not json"[..], "invalid_schema"),
        (b"[]", "invalid_schema"),
        (b"\"modules\"", "invalid_schema"),
        (b"", "invalid_schema"),
        (b"{}", "missing_field"),
        (br#"{"modules":null}"#, "missing_field"),
        (br#"{"modules":{}}"#, "invalid_schema"),
        (br#"{"modules":[]}"#, "invalid_schema"),
        (br#"{"modules":[1]}"#, "invalid_schema"),
        (br#"{"modules":[{"module_args":"A 1"}]}"#, "missing_field"),
        (
            br#"{"modules":[{"module_name":null,"module_args":"A 1"}]}"#,
            "missing_field",
        ),
        (
            br#"{"modules":[{"module_name":5,"module_args":"A 1"}]}"#,
            "invalid_schema",
        ),
        (
            br#"{"modules":[{"module_name":"search"}]}"#,
            "missing_field",
        ),
        (
            br#"{"modules":[{"module_name":"search","module_args":null}]}"#,
            "missing_field",
        ),
        (
            br#"{"modules":[{"module_name":"search","module_args":3}]}"#,
            "param_error",
        ),
        (
            br#"{"modules":[{"module_name":"search","module_args":["A","1"]}]}"#,
            "param_error",
        ),
        (
            br#"{"modules":[{"module_name":"search","module_args":""}]}"#,
            "param_error",
        ),
        (
            br#"{"modules":[{"module_name":"search","module_args":" \t "}]}"#,
            "param_error",
        ),
    ] {
        let e = parse(body).unwrap_err();
        assert_eq!(
            code(&e),
            (400, expected),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn the_four_forbidden_characters_are_param_errors_that_do_not_echo_the_arguments() {
    for c in ['&', '<', '>', '"'] {
        let args = format!("PASS s3cret{c}x");
        let body = json!({"modules":[{"module_name":"search","module_args":args}]});
        let e = parse(body.to_string().as_bytes()).unwrap_err();
        assert_eq!(code(&e), (400, "param_error"), "{c}");
        assert!(!e.text.contains("s3cret"), "{}", e.text);
        assert!(e.text.contains("modules[0].module_args"), "{}", e.text);
    }
}

// --- merge_args (Redis < 8, §4.4 step 4) --------------------------------------------------------

#[test]
fn the_merge_keeps_current_order_replaces_same_names_and_appends_new_ones() {
    assert_eq!(
        merge_args(
            "MINPREFIX 3 MAXEXPANSIONS 1000",
            "MAXEXPANSIONS 200  TIMEOUT\t500"
        )
        .unwrap(),
        "MINPREFIX 3 MAXEXPANSIONS 200 TIMEOUT 500"
    );
    assert_eq!(merge_args("", "WORKERS 4").unwrap(), "WORKERS 4");
    assert_eq!(merge_args("A 1", "").unwrap(), "A 1");
    // a name the database holds twice takes the new value everywhere
    assert_eq!(merge_args("A 1 B 2 A 3", "A 9").unwrap(), "A 9 B 2 A 9");
    // a name given twice: the later value wins
    assert_eq!(merge_args("B 2", "A 1 A 5").unwrap(), "B 2 A 5");
    // values are copied as they are, case and punctuation included
    assert_eq!(
        merge_args("ON_TIMEOUT RETURN", "ON_TIMEOUT fail EXTLOAD /x/y.so").unwrap(),
        "ON_TIMEOUT fail EXTLOAD /x/y.so"
    );
}

#[test]
fn an_odd_token_count_is_never_paired_by_guessing() {
    let u = merge_args("MINPREFIX 3", "NOGC MINPREFIX 4").unwrap_err();
    assert_eq!(u.tokens, ["NOGC", "MINPREFIX", "…"]);
    assert!(
        u.reason.contains("odd number of tokens (3)"),
        "{}",
        u.reason
    );
    assert!(u.reason.starts_with("module_args"), "{}", u.reason);
    let u = merge_args("NOGC", "MINPREFIX 4").unwrap_err();
    assert!(
        u.reason.starts_with("the database's module_args"),
        "{}",
        u.reason
    );
    assert_eq!(u.tokens, ["NOGC"]);
}

#[test]
fn a_name_that_is_not_upper_case_is_unmapped_by_position() {
    for (args, position) in [
        ("minprefix 3", "token 1"),
        ("MINPREFIX 3 4 5", "token 3"),
        ("MIN-PREFIX 3", "token 1"),
        ("MINPREFIX2 3", "token 1"),
        ("a 1 b 2", "tokens 1, 3 are"),
    ] {
        let u = merge_args("", args).unwrap_err();
        assert!(u.reason.contains(position), "{args}: {}", u.reason);
    }
}

#[test]
fn values_are_never_shown_and_nothing_after_a_password_name() {
    let u = merge_args("", "OSS_GLOBAL_PASSWORD SECRETPW NOGC").unwrap_err();
    assert_eq!(u.tokens, ["OSS_GLOBAL_PASSWORD", "…", "NOGC"]);
    let u = merge_args("", "A 1 b 2").unwrap_err();
    assert_eq!(u.tokens, ["A", "…", "…", "…"]);
    assert_eq!(
        arg_names("OSS_GLOBAL_PASSWORD SECRETPW NOGC"),
        ["OSS_GLOBAL_PASSWORD", "NOGC"]
    );
    assert_eq!(
        arg_names("MINPREFIX 3 ON_TIMEOUT RETURN"),
        ["MINPREFIX", "ON_TIMEOUT"]
    );
    assert_eq!(
        arg_names("NOGC OSS_GLOBAL_PASSWORD UPPERSECRET X"),
        ["NOGC"]
    );
}

// --- is_redis8 ----------------------------------------------------------------------------------

#[test]
fn the_redis_major_decides_and_anything_unreadable_is_unknown() {
    for (version, expected) in [
        (json!("6.2"), Some(false)),
        (json!("7.2"), Some(false)),
        (json!("7.4.2"), Some(false)),
        (json!("8.0"), Some(true)),
        (json!("8"), Some(true)),
        (json!("8.2.1"), Some(true)),
        (json!("10.0"), Some(true)),
        (json!(""), None),
        (json!("v8.0"), None),
        (json!(".8"), None),
        (json!(8), None),
        (Value::Null, None),
    ] {
        assert_eq!(
            is_redis8(&json!({"redis_version": version})),
            expected,
            "{version}"
        );
    }
    assert_eq!(is_redis8(&json!({})), None);
}

// --- plan_redis7 --------------------------------------------------------------------------------

#[test]
fn redis7_replaces_only_the_named_entry_args_and_keeps_the_list_as_read() {
    let body = plan_redis7(&bdb7(), &[m("SEARCH", "MAXEXPANSIONS 200 TIMEOUT 500")]).unwrap();
    let mut expected = bdb7()["module_list"].clone();
    expected[1]["module_args"] = json!("MINPREFIX 3 MAXEXPANSIONS 200 TIMEOUT 500");
    assert_eq!(body, json!({ "module_list": expected }));
}

#[test]
fn redis7_null_args_take_the_new_pairs_and_entries_apply_in_order() {
    let body = plan_redis7(
        &bdb7(),
        &[
            m("timeseries", "RETENTION_POLICY 10"),
            m("TimeSeries", "RETENTION_POLICY 20 CHUNK_SIZE_BYTES 128"),
            m("ReJSON", "A 1"),
        ],
    )
    .unwrap();
    assert_eq!(
        body["module_list"][2]["module_args"],
        "RETENTION_POLICY 20 CHUNK_SIZE_BYTES 128"
    );
    assert_eq!(body["module_list"][0]["module_args"], "A 1");
    assert_eq!(body["module_list"][1], bdb7()["module_list"][1]);
}

#[test]
fn redis7_a_module_not_in_the_list_is_module_not_exist() {
    for bdb in [
        bdb7(),
        json!({"uid": 3}),
        json!({"uid": 3, "module_list": null}),
    ] {
        let e = plan_redis7(&bdb, &[m("graph", "A 1")]).unwrap_err();
        assert_eq!(code(&e), (400, "module_not_exist"));
        assert_eq!(e.text, "module graph is not enabled on database 3");
    }
}

#[test]
fn redis7_unmergeable_args_are_406_naming_tokens_and_the_bdb_page() {
    let e = plan_redis7(&bdb7(), &[m("search", "NOGC")]).unwrap_err();
    assert_eq!(code(&e), (406, "module_args_unmapped"));
    assert!(e.text.contains("(NOGC)"), "{}", e.text);
    assert!(
        e.text.contains("PUT /v1/bdbs/3 (module_list)"),
        "{}",
        e.text
    );
    assert!(e.text.contains(BDB_OBJECT_DOCS), "{}", e.text);
    assert_eq!(e.body_json()["tokens"], json!(["NOGC"]));
    assert_eq!(e.body_json()["module_name"], "search");
    let mut bdb = bdb7();
    bdb["module_list"][1]["module_args"] = json!(["MINPREFIX", 3]);
    let e = plan_redis7(&bdb, &[m("search", "A 1")]).unwrap_err();
    assert_eq!(code(&e), (406, "module_args_unmapped"));
    assert!(e.text.contains("is not a string"), "{}", e.text);
}

// --- plan_redis8 --------------------------------------------------------------------------------

#[test]
fn redis8_maps_through_the_table_into_whole_objects() {
    let body = plan_redis8(
        &bdb8(),
        &[
            m("search", "MINPREFIX 3 MAXPREFIXEXPANSIONS 500 TIMEOUT 700"),
            m("timeseries", "RETENTION_POLICY 0"),
            m(
                "bf",
                "ERROR_RATE 0.001 INITIAL_SIZE 1000 CF_MAX_EXPANSIONS 64",
            ),
        ],
    )
    .unwrap();
    assert_eq!(
        body,
        json!({
            "search": {"search-min-prefix": 3, "search-max-prefix-expansions": 500,
                       "search-timeout": 700, "search-workers": 4},
            "timeseries": {"ts-retention-policy": 0, "ts-num-threads": 3},
            "probabilistic": {"bf-error-rate": 0.001, "bf-initial-size": 1000,
                              "cf-max-expansions": 64}
        })
    );
}

#[test]
fn redis8_touches_only_the_named_objects_and_merges_repeats() {
    let body = plan_redis8(
        &bdb8(),
        &[
            m("Search", "MINPREFIX 3"),
            m("search", "MINPREFIX 5 TIMEOUT 9"),
        ],
    )
    .unwrap();
    assert_eq!(
        body,
        json!({"search": {"search-min-prefix": 5, "search-timeout": 9, "search-workers": 4}})
    );
}

#[test]
fn redis8_finds_a_module_by_its_object_or_its_list_entry() {
    // bf is not in module_list, but the reply has its object.
    assert!(plan_redis8(&bdb8(), &[m("bf", "INITIAL_SIZE 10")]).is_ok());
    // listed, but the reply lacks the object: the look-up was not extended
    let mut bdb = bdb8();
    bdb.as_object_mut().unwrap().remove("search");
    let e = plan_redis8(&bdb, &[m("search", "MINPREFIX 3")]).unwrap_err();
    assert_eq!(code(&e), (502, "upstream_invalid_reply"));
    assert!(e.text.contains("extended=true"), "{}", e.text);
    // neither
    bdb.as_object_mut().unwrap().remove("timeseries");
    let e = plan_redis8(&bdb, &[m("timeseries", "RETENTION_POLICY 1")]).unwrap_err();
    assert_eq!(code(&e), (400, "module_not_exist"));
    let mut bdb = bdb8();
    bdb["probabilistic"] = Value::Null;
    let e = plan_redis8(&bdb, &[m("bf", "INITIAL_SIZE 10")]).unwrap_err();
    assert_eq!(code(&e), (400, "module_not_exist"));
}

#[test]
fn redis8_modules_without_an_object_are_406_when_listed_else_not_exist() {
    for name in ["ReJSON", "graph", "foo"] {
        let e = plan_redis8(&bdb8(), &[m(name, "A 1")]).unwrap_err();
        assert_eq!(code(&e), (400, "module_not_exist"), "{name}");
        let mut bdb = bdb8();
        bdb["module_list"]
            .as_array_mut()
            .unwrap()
            .push(json!({"module_name": name}));
        let e = plan_redis8(&bdb, &[m(name, "MINPREFIX 3")]).unwrap_err();
        assert_eq!(code(&e), (406, "module_args_unmapped"), "{name}");
        assert!(
            e.text.contains("has no configuration object on Redis 8"),
            "{}",
            e.text
        );
        assert!(
            e.text.ends_with(&format!("See {BDB_OBJECT_DOCS}")),
            "{}",
            e.text
        );
        assert_eq!(e.body_json()["tokens"], json!(["MINPREFIX"]));
    }
}

#[test]
fn redis8_unknown_names_flags_and_other_modules_names_are_406_naming_them() {
    for (module, args, tokens, page) in [
        (
            "search",
            "MINPREFIX 3 MAXEXPANSIONS 10",
            json!(["MAXEXPANSIONS"]),
            "search",
        ),
        ("search", "NOGC", json!(["NOGC"]), "search"),
        ("search", "minprefix 3", json!(["…", "…"]), "search"),
        (
            "search",
            "RETENTION_POLICY 5",
            json!(["RETENTION_POLICY"]),
            "search",
        ),
        (
            "timeseries",
            "MINPREFIX 3",
            json!(["MINPREFIX"]),
            "timeseries",
        ),
        (
            "bf",
            "BF_EXPANSION 2 ERROR_RATE 2",
            json!(["BF_EXPANSION", "ERROR_RATE"]),
            "probabilistic",
        ),
    ] {
        let e = plan_redis8(&bdb8(), &[m(module, args)]).unwrap_err();
        assert_eq!(code(&e), (406, "module_args_unmapped"), "{args}");
        assert_eq!(e.body_json()["tokens"], tokens, "{args}");
        let link = format!("{BDB_OBJECT_DOCS}{page}/");
        assert!(e.text.contains(&link), "{}", e.text);
        assert!(e.text.contains(&format!("({page})")), "{}", e.text);
    }
}

#[test]
fn every_table_row_takes_its_range_edges_and_refuses_what_lies_outside() {
    for row in TABLE {
        let (ok, bad): (Vec<String>, Vec<String>) = match row.value {
            ValueType::Int { min, max } => (
                vec![min.to_string(), max.to_string(), format!("00{min}")],
                vec![
                    (min - 1).to_string(),
                    (i128::from(max) + 1).to_string(),
                    "abc".into(),
                    "1.5".into(),
                    "+5".into(),
                    "0x10".into(),
                ],
            ),
            ValueType::Fraction => (
                vec!["0.01".into(), "0.999".into(), "1e-3".into(), ".5".into()],
                vec![
                    "0".into(),
                    "1".into(),
                    "1.5".into(),
                    "-0.1".into(),
                    "NaN".into(),
                    "inf".into(),
                    "0,5".into(),
                    ".".into(),
                ],
            ),
        };
        let module = match row.target {
            Target::Probabilistic => "bf",
            other => other.as_str(),
        };
        for value in ok {
            let body = plan_redis8(&bdb8(), &[m(module, &format!("{} {value}", row.old))])
                .unwrap_or_else(|e| panic!("{} {value}: {e}", row.old));
            let got = &body[row.target.as_str()][row.new];
            assert!(got.is_number(), "{} {value}: {got}", row.old);
        }
        for value in bad {
            let e =
                plan_redis8(&bdb8(), &[m(module, &format!("{} {value}", row.old))]).unwrap_err();
            assert_eq!(
                code(&e),
                (406, "module_args_unmapped"),
                "{} {value}",
                row.old
            );
            assert!(e.text.contains("out-of-type value"), "{}", e.text);
            assert!(
                !e.text.contains(&format!("{} {value}", row.old)),
                "{}",
                e.text
            );
        }
    }
}

#[test]
fn the_table_is_the_seven_documented_rows() {
    let rows: Vec<(&str, &str, &str)> = TABLE
        .iter()
        .map(|r| (r.target.as_str(), r.old, r.new))
        .collect();
    assert_eq!(
        rows,
        [
            ("search", "MINPREFIX", "search-min-prefix"),
            (
                "search",
                "MAXPREFIXEXPANSIONS",
                "search-max-prefix-expansions"
            ),
            ("search", "TIMEOUT", "search-timeout"),
            ("timeseries", "RETENTION_POLICY", "ts-retention-policy"),
            ("probabilistic", "ERROR_RATE", "bf-error-rate"),
            ("probabilistic", "INITIAL_SIZE", "bf-initial-size"),
            ("probabilistic", "CF_MAX_EXPANSIONS", "cf-max-expansions"),
        ]
    );
}

#[test]
fn a_406_never_repeats_a_value() {
    for args in [
        "MINPREFIX lowsecret",
        "OSS_GLOBAL_PASSWORD UPPERSECRET",
        "OSS_GLOBAL_PASSWORD UPPERSECRET NOGC",
        "NOGC OSS_GLOBAL_PASSWORD UPPERSECRET X",
    ] {
        let e = plan_redis8(&bdb8(), &[m("search", args)]).unwrap_err();
        let shown = format!("{e:?} {}", e.body_json());
        assert!(
            !shown.contains("SECRET") && !shown.contains("secret"),
            "{shown}"
        );
    }
    for args in [
        "MINPREFIX lowsecret NOGC",
        "OSS_GLOBAL_PASSWORD UPPERSECRET NOGC",
        "OSS_GLOBAL_PASSWORD lowsecret minprefix 3",
    ] {
        let e = plan_redis7(&bdb7(), &[m("search", args)]).unwrap_err();
        let shown = format!("{e:?} {}", e.body_json());
        assert!(
            !shown.contains("SECRET") && !shown.contains("secret"),
            "{shown}"
        );
    }
}

// --- audit ----------------------------------------------------------------------------------

#[test]
fn the_audit_has_names_and_targets_only() {
    let modules = [
        m("search", "MINPREFIX 3 TIMEOUT 500"),
        m("bf", "ERROR_RATE 0.01"),
        m("ReJSON", "NOGC"),
    ];
    let a = audit(3, &modules, true);
    assert_eq!(a.bdb_uid, 3);
    let targets: Vec<_> = a.modules.iter().map(|m| m.target).collect();
    assert_eq!(
        targets,
        [Some(Target::Search), Some(Target::Probabilistic), None]
    );
    assert_eq!(a.modules[0].arg_names, ["MINPREFIX", "TIMEOUT"]);
    assert_eq!(a.modules[2].arg_names, ["NOGC"]);
    let shown = format!("{a:?}");
    assert!(!shown.contains("500") && !shown.contains("0.01"), "{shown}");
    let a = audit(3, &modules, false);
    assert!(a
        .modules
        .iter()
        .all(|m| m.target == Some(Target::ModuleList)));
    assert_eq!(Target::Timeseries.as_str(), "timeseries");
    assert_eq!(Target::ModuleList.docs(), BDB_OBJECT_DOCS);
}
