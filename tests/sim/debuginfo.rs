//! Support packages (API-RULES §5.4): old and new debuginfo paths on every release, their
//! member names by scope, headers, 404 for unknown uids, the 500 switch, the size switch,
//! and `view_debugging_info` (admin yes, db_viewer no).

use deprecation_shim::sim::{RouteMatch, SimVersion};
use flate2::read::GzDecoder;
use serde_json::json;
use std::io::Read;

use crate::support::harness::Sim;
use crate::support::legacy::{assert_rs_error, viewer};
use crate::support::{get, Reply};

/// The member names (and total data bytes) of a `.tar.gz` reply.
fn members(r: &Reply) -> (Vec<String>, u64) {
    let mut tar = Vec::new();
    GzDecoder::new(&r.body[..])
        .read_to_end(&mut tar)
        .expect("gzip");
    let (mut names, mut total, mut at) = (Vec::new(), 0u64, 0usize);
    while at + 512 <= tar.len() && tar[at] != 0 {
        let h = &tar[at..at + 512];
        let name = String::from_utf8_lossy(&h[..100])
            .trim_end_matches('\0')
            .to_owned();
        let size_text = std::str::from_utf8(&h[124..135]).expect("ascii size");
        let size = u64::from_str_radix(size_text, 8).expect("octal size");
        names.push(name);
        total += size;
        at += 512 + usize::try_from(size.div_ceil(512) * 512).expect("fits");
    }
    (names, total)
}

fn assert_package_headers(r: &Reply) {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("application/x-gzip"));
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=debuginfo.tar.gz")
    );
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str())
    );
}

#[tokio::test]
async fn old_and_new_paths_serve_packages_whose_members_show_the_scope() {
    for v in [SimVersion::V7_4, SimVersion::V8_2] {
        let c = &Sim::start(v).await;
        let fetch = |p: &'static str| async move {
            let r = c.get(p).await;
            assert_package_headers(&r);
            r
        };
        let all = fetch("/v1/debuginfo/all").await;
        let cluster = fetch("/v1/cluster/debuginfo").await;
        assert_eq!(all.body, cluster.body, "{v}: same scope, same bytes");
        let (names, _) = members(&cluster);
        assert!(
            names.contains(&"ccs-redis.json".to_owned())
                && names.contains(&"node_3/node.json".to_owned())
        );
        assert!(
            names.contains(&"database_4/bdb.json".to_owned()),
            "{names:?}"
        );
        let old_bdb = fetch("/v1/debuginfo/all/bdb/3").await;
        assert_eq!(old_bdb.body, fetch("/v1/bdbs/3/debuginfo").await.body);
        assert_eq!(members(&old_bdb).0[0], "database_3/bdb.json");
        let node = members(&fetch("/v1/debuginfo/node").await).0;
        assert_eq!(node, ["node_1/node.json", "node_1/debuginfo.txt"]);
        assert_eq!(
            members(&fetch("/v1/nodes/2/debuginfo").await).0[0],
            "node_2/node.json"
        );
        let node_bdb = members(&fetch("/v1/debuginfo/node/bdb/3").await).0;
        assert_eq!(
            node_bdb,
            ["node_1/database_3/bdb.json", "node_1/database_3/shards.txt"]
        );
    }
}

#[tokio::test]
async fn unknown_uids_are_404_and_db_viewers_are_403() {
    let c = Sim::start(SimVersion::V7_8).await;
    assert_rs_error(&c.get("/v1/bdbs/99/debuginfo").await, 404, "bdb_not_found");
    assert_rs_error(
        &c.get("/v1/debuginfo/all/bdb/99").await,
        404,
        "bdb_not_found",
    );
    assert_rs_error(
        &c.get("/v1/debuginfo/node/bdb/x").await,
        404,
        "bdb_not_found",
    );
    assert_rs_error(&c.get("/v1/nodes/9/debuginfo").await, 404, "node_not_found");
    for p in [
        "/v1/debuginfo/all",
        "/v1/cluster/debuginfo",
        "/v1/nodes/1/debuginfo",
    ] {
        assert_rs_error(
            &get(c.addr, p, &viewer()).await,
            403,
            "insufficient_permissions",
        );
    }
}

#[tokio::test]
async fn the_status_switch_fails_a_debuginfo_route_with_500() {
    let c = Sim::start(SimVersion::V8_0).await;
    c.sim
        .faults()
        .respond_with_status(500, RouteMatch::method("GET", "/v1/debuginfo").times(1));
    assert_eq!(c.get("/v1/debuginfo/all").await.status, 500);
    assert_eq!(c.get("/v1/debuginfo/all").await.status, 200);
}

#[tokio::test]
async fn debuginfo_bytes_makes_the_package_large_and_incompressible() {
    let c = Sim::start(SimVersion::V7_22).await;
    c.sim
        .faults()
        .merge_json(&json!({"debuginfo_bytes": 3_000_000}))
        .expect("switch");
    let r = c.get("/v1/cluster/debuginfo").await;
    assert_package_headers(&r);
    assert!(r.body.len() > 3_000_000, "{}", r.body.len());
    let (names, total) = members(&r);
    assert_eq!(names.last().map(String::as_str), Some("padding.bin"));
    assert!(total >= 3_000_000);
}
