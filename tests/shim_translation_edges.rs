//! The deprecated `POST /v1/modules/upgrade/bdb/{uid}` through a real shim in front of a
//! simulated Redis Software 8.0 cluster, at its edges: which routes are translated (trailing
//! slash, query, non-integer uid, other methods, the sibling and the new route), when `Sunset`
//! is sent, and which inputs are refused before any upgrade (prevalidation, body size, bad
//! JSON). The main path is in `shim_translation.rs`.

mod support;

use bytes::Bytes;
use deprecation_shim::sim::seed::*;
use http::Method;
use serde_json::json;
use support::legacy::*;
use support::translation::{
    assert_only_module_changed, call, cluster, cluster_on_7_4_nodes, the_upgrade_body,
};
use support::{post_chunked, post_json, send};

#[tokio::test]
async fn trailing_slash_and_query_string_are_translated() {
    let (shim, sim) = cluster("").await;
    let body = json!({"new_module": REJSON_2_6_17});
    let reply = post_json(
        shim.addr,
        "/v1/modules/upgrade/bdb/1/?verbose=1",
        &admin(),
        &body,
    )
    .await;
    assert_deprecated(&reply, 1);
    assert_eq!(ok(&reply)["module_id"], REJSON_2_6_17);
    assert_eq!(the_upgrade_body(&sim)["latest_with_modules"], false);
}

#[tokio::test]
async fn non_integer_uid_is_404_without_any_upstream_request() {
    let (shim, sim) = cluster("").await;
    for path in [
        "/v1/modules/upgrade/bdb/abc",
        "/v1/modules/upgrade/bdb/-1",
        "/v1/modules/upgrade/bdb/1a/",
    ] {
        let reply = post_json(
            shim.addr,
            path,
            &admin(),
            &json!({"new_module": REJSON_2_6_17}),
        )
        .await;
        assert_rs_error(&reply, 404, "bdb_not_found");
        // No database to point at: the Link names only the docs.
        assert_eq!(reply.header("deprecation"), Some("@1730419200"));
        assert!(reply
            .header("link")
            .unwrap_or_default()
            .contains("rel=\"deprecation\""));
    }
    assert_eq!(sim.requests(), vec![]);
}

#[tokio::test]
async fn other_methods_on_the_old_route_pass_through() {
    let (shim, sim) = cluster("").await;
    let reply = send(
        shim.addr,
        Method::GET,
        &old_route(1),
        &[("authorization", &admin())],
        Bytes::new(),
    )
    .await;
    // 8.0 no longer knows the route: the cluster's own 404, unmarked.
    assert_rs_error(&reply, 404, "not_found");
    assert_not_deprecated(&reply);
    assert_eq!(sim.requests().len(), 1);
}

#[tokio::test]
async fn sunset_is_sent_only_when_configured() {
    let (shim, _sim) = cluster("").await;
    let reply = call(shim.addr, 1, json!({"new_module": REJSON_2_6_17})).await;
    assert_eq!(reply.header("sunset"), None);

    let (shim, _sim) = cluster("[shim]\nsunset_date = \"2027-06-30\"").await;
    let ok_reply = call(shim.addr, 1, json!({"new_module": REJSON_2_6_17})).await;
    let err_reply = call(shim.addr, 1, json!({"new_module": UNKNOWN_MODULE_UID})).await;
    for reply in [ok_reply, err_reply] {
        assert_eq!(
            reply.header("sunset"),
            Some("Wed, 30 Jun 2027 00:00:00 GMT")
        );
    }
}

#[tokio::test]
async fn sibling_route_passes_through_when_off() {
    let (shim, sim) = cluster("[rules.module_upgrade_sibling]\nmode = \"off\"").await;
    // The 8.0 cluster serves the sibling only with `sibling_on_8x = "serve"` (R12).
    sim.faults()
        .merge_json(&json!({"sibling_on_8x": "serve"}))
        .expect("switch");
    let before = bdb(&sim, 1);
    let body = json!({"new_module": REJSON_2_6_17});
    let reply = post_json(shim.addr, "/v1/bdbs/1/modules/upgrade", &admin(), &body).await;
    assert_not_deprecated(&reply);
    // The cluster's own synchronous handling: the module is already there when it answers.
    assert_eq!(ok(&reply)["module_id"], REJSON_2_6_17);
    let entry = json!({"module_id": REJSON_2_6_17, "module_name": "ReJSON",
                       "module_args": "", "semantic_version": "2.6.17"});
    assert_only_module_changed(&before, &bdb(&sim, 1), "ReJSON", entry);
    let seen = sim.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].path, "/v1/bdbs/1/modules/upgrade");
    assert_eq!(seen[0].body, Bytes::from(body.to_string()));
}

/// R12 (API-CATALOGUE §2.3): by default (`auto`) on 8.x, and on every version with
/// `shim.translate_sibling = true`, the sibling is translated like the seed route, and its
/// translated replies carry its own marks.
#[tokio::test]
async fn sibling_route_is_translated_on_8_0_by_default_and_when_configured() {
    for toml in ["", "[shim]\ntranslate_sibling = true"] {
        let (shim, sim) = cluster(toml).await;
        let body = json!({"new_module": REJSON_2_6_17});
        let reply = post_json(shim.addr, "/v1/bdbs/1/modules/upgrade", &admin(), &body).await;
        assert_eq!(ok(&reply)["module_id"], REJSON_2_6_17, "{toml}");
        assert_eq!(the_upgrade_body(&sim)["redis_version"], "7.2");
        assert!(sim
            .requests()
            .iter()
            .all(|r| !r.path.contains("/modules/upgrade")));
        assert_eq!(reply.header("deprecation"), Some("@1730419200"), "{toml}");
        let link = reply.header("link").unwrap_or_default();
        assert!(
            link.contains("</v1/bdbs/1/upgrade>; rel=\"successor-version\""),
            "{link}"
        );
    }
}

#[tokio::test]
async fn new_route_passes_through_untouched_and_unmarked() {
    let (shim, sim) = cluster("").await;
    let body = json!({"redis_version": "7.2", "latest_with_modules": false,
                      "modules": [{"current_module": REJSON_2_6_6, "new_module": REJSON_2_6_17}]});
    let sent = Bytes::from(body.to_string());
    let reply = post_json(shim.addr, "/v1/bdbs/1/upgrade", &admin(), &body).await;
    assert_not_deprecated(&reply);
    let answer = ok(&reply);
    assert_eq!(answer["uid"], 1);
    assert!(
        answer["action_uid"].is_string(),
        "the cluster's own reply: {answer}"
    );
    let posts = upgrade_posts(&sim);
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].body, sent);
    assert_eq!(sim.requests().len(), 1, "no look-ups of the shim's own");
}

/// Each row of the seed table that ends in an error: (database, new module, status, error_code).
const PREVALIDATION_FAILURES: &[(u64, &str, u16, &str)] = &[
    (1, UNKNOWN_MODULE_UID, 400, "missing_module"),
    (2, REJSON_2_6_17, 400, "missing_module"),
    (1, REJSON_2_4_7, 406, "module_downgrade_unsupported"),
    (3, TIMESERIES_1_10_11, 406, "redis_incompatible_version"),
    (1, REJSON_2_8_4, 406, "redis_incompatible_version"),
    (
        1,
        SEARCH_2_8_21_NEEDS_7_8_6,
        406,
        "redis_pack_incompatible_version",
    ),
    (
        1,
        SEARCH_2_8_15_NO_CRDB,
        406,
        "unsupported_module_capabilities",
    ),
];

#[tokio::test]
async fn each_prevalidation_failure_gives_the_old_status_and_code_without_upgrading() {
    let (shim, sim) = cluster_on_7_4_nodes("").await;
    let before = sim.snapshot()["bdbs"].clone();
    for &(uid, new_module, status, code) in PREVALIDATION_FAILURES {
        let reply = call(shim.addr, uid, json!({"new_module": new_module})).await;
        assert_rs_error(&reply, status, code);
    }
    assert!(upgrade_posts(&sim).is_empty());
    assert_eq!(sim.snapshot()["bdbs"], before);
}

#[tokio::test]
async fn prevalidate_warn_and_off_send_the_upgrade_and_return_the_clusters_answer() {
    for mode in ["warn", "off"] {
        let (shim, sim) = cluster(&format!("[shim]\nprevalidate = \"{mode}\"")).await;
        let before = bdb(&sim, 1);
        // A downgrade: 8.0 accepts it, then its action fails with the old code.
        let reply = call(shim.addr, 1, json!({"new_module": REJSON_2_4_7})).await;
        assert_rs_error(&reply, 500, "module_downgrade_unsupported");
        assert_eq!(upgrade_posts(&sim).len(), 1, "{mode}");
        assert_eq!(bdb(&sim, 1)["module_list"], before["module_list"]);
    }
}

#[tokio::test]
async fn upstream_406_without_error_code_is_unsupported_module_capabilities() {
    let (shim, sim) = cluster("[shim]\nprevalidate = \"off\"").await;
    let reply = call(shim.addr, 1, json!({"new_module": SEARCH_2_8_15_NO_CRDB})).await;
    let body = assert_rs_error(&reply, 406, "unsupported_module_capabilities");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("crdb"),
        "{body}"
    );
    assert_eq!(upgrade_posts(&sim).len(), 1);
}

#[tokio::test]
async fn body_over_max_body_size_is_413_with_or_without_content_length() {
    let (shim, sim) = cluster("[shim]\nmax_body_size = \"1KiB\"").await;
    let padding = "x".repeat(2048);
    let big = json!({"new_module": REJSON_2_6_17, "padding": padding}).to_string();
    let headers = [
        ("authorization", admin()),
        ("content-type", "application/json".into()),
    ];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let sized = send(
        shim.addr,
        Method::POST,
        &old_route(1),
        &headers,
        big.clone(),
    )
    .await;
    let chunks = big
        .as_bytes()
        .chunks(300)
        .map(Bytes::copy_from_slice)
        .collect();
    let chunked = post_chunked(shim.addr, &old_route(1), &headers, chunks).await;
    for reply in [sized, chunked] {
        assert_rs_error(&reply, 413, "request_too_large");
        assert_deprecated(&reply, 1);
    }
    // A chunked body under the limit is read whole and translated.
    let small = json!({"new_module": REJSON_2_6_17}).to_string();
    let chunks = small
        .as_bytes()
        .chunks(7)
        .map(Bytes::copy_from_slice)
        .collect();
    let reply = post_chunked(shim.addr, &old_route(1), &headers, chunks).await;
    assert_eq!(ok(&reply)["module_id"], REJSON_2_6_17);
    assert_eq!(upgrade_posts(&sim).len(), 1);
}

#[tokio::test]
async fn bad_json_is_invalid_json_and_wrong_shape_is_invalid_request() {
    let (shim, sim) = cluster("").await;
    let headers = [
        ("authorization", admin()),
        ("content-type", "application/json".into()),
    ];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for raw in [&b"{\"modules\": ["[..], b"", b"{'new_module': 'x'}"] {
        let reply = send(
            shim.addr,
            Method::POST,
            &old_route(1),
            &headers,
            raw.to_vec(),
        )
        .await;
        assert_rs_error(&reply, 400, "invalid_json");
        assert_deprecated(&reply, 1);
    }
    let shapes = [
        (json!({"modules": []}), "modules"),
        (
            json!({"modules": [{"new_module": 7}]}),
            "modules[0].new_module",
        ),
        (
            json!({"new_module": REJSON_2_6_17, "preserve_roles": "yes"}),
            "preserve_roles",
        ),
        (json!(["not", "an", "object"]), "object"),
    ];
    for (body, field) in shapes {
        let reply = call(shim.addr, 1, body).await;
        let err = assert_rs_error(&reply, 400, "invalid_request");
        assert!(
            err["message"].as_str().unwrap_or_default().contains(field),
            "{err}"
        );
    }
    assert_eq!(sim.requests(), vec![], "the cluster is never asked");
}

#[tokio::test]
async fn current_module_of_another_name_is_missing_module_without_an_upgrade() {
    let (shim, sim) = cluster("[shim]\nprevalidate = \"off\"").await;
    let before = bdb(&sim, 1);
    let body = json!({"modules": [{"current_module": REJSON_2_6_6, "new_module": SEARCH_2_8_9}]});
    let reply = call(shim.addr, 1, body).await;
    assert_rs_error(&reply, 400, "missing_module");
    assert!(upgrade_posts(&sim).is_empty());
    assert_eq!(bdb(&sim, 1), before);
}
