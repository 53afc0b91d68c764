//! The hostile-input catalogue: one table of requests, written as raw HTTP/1.1 bytes, sent one
//! connection each to one shim (the real binary, `RUST_LOG=trace`, an audit file) in front of a
//! simulated RS 8.0 cluster (where the old route no longer exists, so a request that slips
//! through untranslated gets the cluster's `404 not_found`). Each row pins the reply, whether
//! the cluster was called at all, whether an upgrade was started, and whether an audit record
//! was written; afterwards the process must still be running, must not have panicked, must not
//! have logged or answered a credential, and must still serve a normal call.
//!
//! Unless a row says otherwise it sends `POST /v1/modules/upgrade/bdb/1` with
//! `{"new_module": "<ReJSON 2.6.17 uid>"}`, the admin's credentials and
//! `Content-Type: application/json`. "→ cluster `t`" means the request passed through
//! untouched, the cluster saw exactly the target `t`, and the cluster's own reply came back.
//! The shim runs with `listen.header_read_timeout = "1s"`, `listen.max_header_size = "8KiB"`,
//! `listen.body_idle_timeout = "2s"`, `upstream.request_timeout = "2s"` and the default
//! `shim.max_body_size` (1 MiB).
//!
//! Decisions the table pins, beyond docs/DECISIONS.md:
//! - **Path spellings** (issue 20 item 8, `tests/target_normalisation.rs`): `//`, dot segments
//!   and encoded unreserved characters are normalised before the route is matched, so those
//!   spellings are the old route; `;` parameters, another letter case or an encoded slash on
//!   the route's path are `400 invalid_request` before any route (not audited, nothing sent).
//! - **Smuggling**: hyper follows RFC 9112 §6.1 — `Transfer-Encoding: chunked` wins over
//!   `Content-Length`, and the connection is closed after the reply, so bytes after the chunked
//!   body are never read as a second request. The shim re-frames every body it sends upstream,
//!   so no framing disagreement can reach the cluster. Two different `Content-Length`s, another
//!   transfer coding, or an invalid length: hyper's empty `400`, connection closed, nothing
//!   translated, nothing audited.
//! - **Header syntax** (bare CR, NUL, obsolete folding, a space in a name, CRLF in the target):
//!   hyper's empty `400`. A bare LF ends a line (RFC 9112 §2.2 allows it), so it splits one
//!   field into two well-formed ones; no field value ever contains CR or LF.
//! - **Oversize heads** (over `listen.max_header_size`, or more than 100 fields): hyper's empty
//!   `431`, then the connection is closed — never a silent close.
//! - **Another host named in the target** (absolute form, `CONNECT`): only the path and query
//!   are used; the request goes to the cluster and the named host receives nothing.
//! - **Slowloris**: a head completed within `listen.header_read_timeout` is served, however
//!   slowly it came; one that is not is cut without a reply (no look-up, no audit record).
//! - **Bodies**: a declared `Content-Length` over the limit is refused before the body is read;
//!   a body that stops arriving is `408 request_timeout` after `listen.body_idle_timeout`; a
//!   broken chunked encoding is `400 invalid_request`. `Content-Type` that is not readable text
//!   is `415`, like any other type that cannot carry JSON.
//!
//! Decision table (regenerate with `cargo test --test hostile_inputs -- --nocapture`):
//!
//! | request | reply | cluster called | upgrade started | audited |
//! |---|---|---|---|---|
//! | malformed JSON | 400 `invalid_json` | no | no | yes |
//! | truncated JSON (inside a string) | 400 `invalid_json` | no | no | yes |
//! | truncated JSON (after a comma) | 400 `invalid_json` | no | no | yes |
//! | single-quoted JSON | 400 `invalid_json` | no | no | yes |
//! | garbage after the JSON value | 400 `invalid_json` | no | no | yes |
//! | 100 000-deep arrays | 400 `invalid_json` | no | no | yes |
//! | 100 000-deep objects in an unknown field | 400 `invalid_json` | no | no | yes |
//! | number beyond f64 (1e999999) in an unknown field | 400 `invalid_json` | no | no | yes |
//! | 400-digit integer in an unknown field | 400 `invalid_json` | no | no | yes |
//! | 30-digit integer in an unknown field | 200, translated | yes | yes | yes |
//! | huge number as new_module | 400 `invalid_request` | no | no | yes |
//! | 30-digit integer as preserve_roles | 400 `invalid_request` | no | no | yes |
//! | invalid UTF-8 inside a string | 400 `invalid_json` | no | no | yes |
//! | UTF-16 byte-order mark | 400 `invalid_json` | no | no | yes |
//! | UTF-8 byte-order mark before valid JSON | 400 `invalid_json` | no | no | yes |
//! | empty body (Content-Length: 0) | 400 `invalid_json` | no | no | yes |
//! | no body and no framing headers | 400 `invalid_json` | no | no | yes |
//! | whitespace-only body | 400 `invalid_json` | no | no | yes |
//! | duplicate key: bogus then valid new_module (last wins) | 200, translated | yes | yes | yes |
//! | duplicate key: valid then unknown new_module (last wins) | 400 `missing_module` | yes | no | yes |
//! | wrong type, A: modules is a string | 400 `invalid_request` | no | no | yes |
//! | wrong type, A: modules is an object | 400 `invalid_request` | no | no | yes |
//! | wrong type, A: modules[0] is a number | 400 `invalid_request` | no | no | yes |
//! | wrong type, A: modules[0].new_module is a number | 400 `invalid_request` | no | no | yes |
//! | wrong type, A: modules[0].new_module is empty | 400 `invalid_request` | no | no | yes |
//! | wrong type, A: modules[0].current_module is an object | 400 `invalid_request` | no | no | yes |
//! | wrong type, A: modules[0].new_module_args is an array | 400 `invalid_request` | no | no | yes |
//! | wrong type, A: preserve_roles is a string | 400 `invalid_request` | no | no | yes |
//! | wrong type, A: may_discard_data is a number | 400 `invalid_request` | no | no | yes |
//! | wrong type, B: modules[0].module_name is an array | 400 `invalid_request` | no | no | yes |
//! | wrong type, B: modules[0].current_semantic_version is a number | 400 `invalid_request` | no | no | yes |
//! | wrong type, C: force_restart is a string | 400 `invalid_request` | no | no | yes |
//! | wrong type, D: new_module is a boolean | 400 `invalid_request` | no | no | yes |
//! | wrong type, D: current_module is a number | 400 `invalid_request` | no | no | yes |
//! | wrong type, D: module_name is a boolean | 400 `invalid_request` | no | no | yes |
//! | wrong type, D: new_module_args is an object | 400 `invalid_request` | no | no | yes |
//! | wrong type, D: current_semantic_version is an array | 400 `invalid_request` | no | no | yes |
//! | wrong type, body is an array | 400 `invalid_request` | no | no | yes |
//! | wrong type, body is null | 400 `invalid_request` | no | no | yes |
//! | wrong type, modules and a flat new_module together | 400 `invalid_request` | no | no | yes |
//! | body over the limit, Content-Length declared (only 14 bytes sent) | 413 `request_too_large` | no | no | yes |
//! | body over the limit, chunked | 413 `request_too_large` | no | no | yes |
//! | body stalls after 14 of 100 declared bytes | 408 `request_timeout` | no | no | yes |
//! | chunked body with an invalid chunk size | 400 `invalid_request` | no | no | yes |
//! | Content-Type multipart/form-data | 415 `unsupported_media_type` | no | no | yes |
//! | Content-Type application/xml | 415 `unsupported_media_type` | no | no | yes |
//! | Content-Type with non-ASCII bytes | 415 `unsupported_media_type` | no | no | yes |
//! | Content-Type text/plain (curl --data-raw) | 200, translated | yes | yes | yes |
//! | Content-Type form-urlencoded (curl -d) | 200, translated | yes | yes | yes |
//! | no Content-Type | 200, translated | yes | yes | yes |
//! | leading // | 200, translated | yes | yes | yes |
//! | // inside | 200, translated | yes | yes | yes |
//! | %2F for the last slash | 400 `invalid_request`, before any route | no | no | no |
//! | percent-encoded uid %31 | 200, translated | yes | yes | yes |
//! | /./ segment | 200, translated | yes | yes | yes |
//! | /../ segment | 200, translated | yes | yes | yes |
//! | uid of .. | → cluster `/v1/modules/upgrade/`: 405 `method_not_allowed` | yes | no | no |
//! | upper case | 400 `invalid_request`, before any route | no | no | no |
//! | mixed case | 400 `invalid_request`, before any route | no | no | no |
//! | ;params after the uid | 400 `invalid_request`, before any route | no | no | no |
//! | extra segment after the uid | → cluster `/v1/modules/upgrade/bdb/1/extra`: 404 `not_found` | yes | no | no |
//! | two trailing slashes | 200, translated | yes | yes | yes |
//! | trailing garbage in the uid | 404 `bdb_not_found` | no | no | yes |
//! | 4000-digit uid | 404 `bdb_not_found` | no | no | yes |
//! | negative uid | 404 `bdb_not_found` | no | no | yes |
//! | uid 2^64 (overflow) | 404 `bdb_not_found` | no | no | yes |
//! | uid 2^64-1 (fits; no such database) | 404 `bdb_not_found` | yes | no | yes |
//! | empty uid | 404 `bdb_not_found` | no | no | yes |
//! | leading zeros (0001) | 200, translated | yes | yes | yes |
//! | garbage in the query string | 200, translated | yes | yes | yes |
//! | GET on the old route | → cluster `/v1/modules/upgrade/bdb/1`: 404 `not_found` | yes | no | no |
//! | smuggling: Content-Length then Transfer-Encoding | 200, translated | yes | yes | yes |
//! | smuggling: Transfer-Encoding then Content-Length | 200, translated | yes | yes | yes |
//! | smuggling: two different Content-Lengths | 400 from hyper, empty body, closed | no | no | no |
//! | two equal Content-Lengths | 200, translated | yes | yes | yes |
//! | Transfer-Encoding: gzip (not chunked) | 400 from hyper, empty body, closed | no | no | no |
//! | Content-Length: -1 | 400 from hyper, empty body, closed | no | no | no |
//! | pass-through POST with CL and TE | → cluster `/v1/cluster`: 405 `method_not_allowed` | yes | no | no |
//! | bare CR inside a header value | 400 from hyper, empty body, closed | no | no | no |
//! | bare LF inside a header value (taken as a line end) | 200, translated | yes | yes | yes |
//! | NUL inside a header value | 400 from hyper, empty body, closed | no | no | no |
//! | obsolete line folding | 400 from hyper, empty body, closed | no | no | no |
//! | space inside a header name | 400 from hyper, empty body, closed | no | no | no |
//! | CRLF inside the request target | 400 from hyper, empty body, closed | no | no | no |
//! | one 16 KiB header (limit 8 KiB) | 431 from hyper, empty body, closed | no | no | no |
//! | 200 small headers (limit 100) | 431 from hyper, empty body, closed | no | no | no |
//! | 16 KiB request target | 431 from hyper, empty body, closed | no | no | no |
//! | absolute-form old route naming another host | 200, translated | yes | yes | yes |
//! | absolute-form pass-through naming another host | → cluster `/v1/bdbs/2`: 200 | yes | no | no |
//! | CONNECT to another host | → cluster `(authority-form)`: 404 `not_found` | yes | no | no |
//! | slowloris: old-route head in 4 writes 125ms apart (under the timeout) | 200, translated | yes | yes | yes |
//! | slowloris: pass-through head in 4 writes 125ms apart | → cluster `/v1/bdbs/2`: 200 | yes | no | no |
//! | slowloris: old-route head one byte per 150 ms (over the timeout) | closed, no reply | no | no | no |

mod support;

#[path = "hostile_inputs/rows.rs"]
mod rows;

use deprecation_shim::sim::seed::REJSON_2_6_17;
use deprecation_shim::sim::{SimVersion, Simulator, DEMO_ADMIN};
use serde_json::json;
use std::path::Path;
use std::time::Duration;
use support::audit_file::records;
use support::harness::Sim;
use support::legacy::{admin, upgrade_posts};
use support::shim::{spawn_shim_logging, toml_path, ShimProcess};
use support::upstream::start_upstream;
use support::wire::{exchange, parse_replies, Wire};

const P: &str = "/v1/modules/upgrade/bdb/1";
/// `listen.header_read_timeout` of the shim under test.
const HEADER_TIMEOUT: Duration = Duration::from_secs(1);
/// `listen.body_idle_timeout` (and `upstream.request_timeout`): a body silent this long is cut.
const BODY_TIMEOUT: Duration = Duration::from_secs(2);
/// `shim.max_body_size` (the default).
const MAX_BODY: usize = 1024 * 1024;

/// What a row must get back.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Translated and upgraded: 200 in the old shape (cluster called, one upgrade POST).
    Upgraded,
    /// The shim's own RS error on the deprecated route: status and `error_code`.
    Shim(u16, &'static str),
    /// Passed through untouched: the cluster saw exactly this target and its reply came back.
    Cluster(u16, Option<&'static str>, &'static str),
    /// The shim's RS error before any route (a request target it refuses): status and
    /// `error_code`; no deprecation headers, not audited.
    Target(u16, &'static str),
    /// hyper refuses the request head itself: this status, empty body, connection closed.
    Refused(u16),
    /// The connection is closed without a byte of reply.
    Cut,
}

struct Row {
    name: String,
    wire: Wire,
    expect: Expect,
    /// Whether the cluster receives any request (look-ups included).
    cluster_called: bool,
}

fn row(name: impl Into<String>, wire: impl Into<Wire>, expect: Expect, cluster: bool) -> Row {
    Row {
        name: name.into(),
        wire: wire.into(),
        expect,
        cluster_called: cluster,
    }
}

const INVALID_JSON: Expect = Expect::Shim(400, "invalid_json");
const INVALID_REQUEST: Expect = Expect::Shim(400, "invalid_request");
const BAD_UID: Expect = Expect::Shim(404, "bdb_not_found");
/// A spelling of a rule's path the shim does not forward (issue 20 item 8).
const BAD_TARGET: Expect = Expect::Target(400, "invalid_request");
const NOT_FOUND: Option<&str> = Some("not_found");

fn audit_count(path: &Path) -> usize {
    records(path).len()
}

/// Runs one row and checks every pinned fact; returns the reply body (for the credential check).
async fn check_row(shim: std::net::SocketAddr, sim: &Simulator, audit: &Path, r: &Row) -> Vec<u8> {
    sim.clear_requests();
    let audited_before = audit_count(audit);
    let posts_before = upgrade_posts(sim).len();
    let (bytes, took) = exchange(shim, &r.wire).await;
    let replies = parse_replies(&bytes);
    let name = &r.name;
    let context = || {
        format!(
            "{name}: got {:?}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(600)])
        )
    };
    match r.expect {
        Expect::Cut => {
            assert!(bytes.is_empty(), "{}", context());
            assert!(
                took < HEADER_TIMEOUT * 2 + Duration::from_millis(500),
                "{name}: cut only after {took:?}"
            );
        }
        _ => assert_eq!(replies.len(), 1, "exactly one reply; {}", context()),
    }
    let deprecated_route = matches!(r.expect, Expect::Upgraded | Expect::Shim(..));
    if let Some(reply) = replies.first() {
        let status = reply.status;
        match r.expect {
            Expect::Upgraded => {
                assert_eq!(status, 200, "{}", context());
                let body = reply.json();
                assert_eq!(
                    (body["uid"].as_u64(), body["module_id"].as_str()),
                    (Some(1), Some(REJSON_2_6_17)),
                    "{name}: {body}"
                );
            }
            Expect::Shim(code, error_code) | Expect::Target(code, error_code) => {
                assert_eq!(status, code, "{}", context());
                let body = reply.json();
                assert_eq!(body["error_code"], error_code, "{name}: {body}");
                assert_eq!(body["message"], body["description"], "{name}: {body}");
            }
            Expect::Cluster(code, error_code, target) => {
                assert_eq!(status, code, "{}", context());
                if let Some(error_code) = error_code {
                    assert_eq!(reply.json()["error_code"], error_code, "{}", context());
                }
                let seen = sim.requests();
                assert_eq!(
                    seen.len(),
                    1,
                    "{name}: one request reaches the cluster: {seen:?}"
                );
                assert_eq!(
                    seen[0].path, target,
                    "{name}: the cluster saw another target"
                );
            }
            Expect::Refused(code) => {
                assert_eq!(status, code, "{}", context());
                assert!(reply.body.is_empty(), "{}", context());
            }
            Expect::Cut => unreachable!("no reply expected"),
        }
        assert_eq!(
            reply.header("deprecation").is_some(),
            deprecated_route,
            "{name}: Deprecation header; {}",
            reply.head()
        );
    }
    let cluster_calls = sim.requests();
    assert_eq!(
        !cluster_calls.is_empty(),
        r.cluster_called,
        "{name}: cluster calls {cluster_calls:?}"
    );
    assert!(
        cluster_calls.iter().all(|c| !c.path.contains("smuggled")),
        "{name}: a smuggled request reached the cluster"
    );
    let upgraded = matches!(r.expect, Expect::Upgraded);
    assert_eq!(
        upgrade_posts(sim).len() - posts_before,
        usize::from(upgraded),
        "{name}: upgrade POSTs"
    );
    assert_eq!(
        audit_count(audit) - audited_before,
        usize::from(deprecated_route),
        "{name}: audit records"
    );
    replies.first().map(|r| r.body.to_vec()).unwrap_or_default()
}

/// The row as a line of the decision table.
fn table_line(r: &Row) -> String {
    let (reply, upgrade, audited) = match r.expect {
        Expect::Upgraded => ("200, translated".to_owned(), "yes", "yes"),
        Expect::Shim(s, c) => (format!("{s} `{c}`"), "no", "yes"),
        Expect::Target(s, c) => (format!("{s} `{c}`, before any route"), "no", "no"),
        Expect::Cluster(s, c, t) => (
            format!(
                "→ cluster `{}`: {s}{}",
                if t.is_empty() { "(authority-form)" } else { t },
                c.map(|c| format!(" `{c}`")).unwrap_or_default()
            ),
            "no",
            "no",
        ),
        Expect::Refused(s) => (format!("{s} from hyper, empty body, closed"), "no", "no"),
        Expect::Cut => ("closed, no reply".to_owned(), "no", "no"),
    };
    let called = if r.cluster_called { "yes" } else { "no" };
    format!(
        "//! | {} | {reply} | {called} | {upgrade} | {audited} |",
        r.name.replace('|', "\\|")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_inputs_get_pinned_replies_and_the_shim_keeps_serving() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(100)).await;
    let upstream = sim.addr;
    let decoy = start_upstream().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let cfg = dir.path().join("shim.toml");
    std::fs::write(
        &cfg,
        format!(
            "[listen]\nheader_read_timeout = \"{}ms\"\nmax_header_size = \"8KiB\"\n\
             body_idle_timeout = \"{timeout}ms\"\n\
             [upstream]\nurl = \"http://{upstream}\"\nrequest_timeout = \"{timeout}ms\"\n\
             [shim]\npoll_interval = \"20ms\"\nwait_deadline = \"10s\"\n\
             [audit]\npath = {}\n",
            HEADER_TIMEOUT.as_millis(),
            toml_path(&audit),
            timeout = BODY_TIMEOUT.as_millis(),
        ),
    )
    .expect("write config");
    let cfg_arg = cfg.display().to_string();
    let mut shim: ShimProcess =
        tokio::task::spawn_blocking(move || spawn_shim_logging(&["--config", &cfg_arg], "trace"))
            .await
            .expect("spawn");

    let decoy_authority = decoy.addr.to_string();
    let rows: Vec<Row> = [
        rows::json_rows(),
        rows::shape_rows(),
        rows::size_and_type_rows(),
        rows::path_rows(),
        rows::framing_rows(&decoy_authority),
        rows::slow_rows(),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(rows.len() >= 40, "{} rows", rows.len());
    println!("//! | request | reply | cluster called | upgrade started | audited |");
    println!("//! |---|---|---|---|---|");
    let mut bodies = Vec::new();
    for r in &rows {
        bodies.push(check_row(shim.addr, &sim, &audit, r).await);
        println!("{}", table_line(r));
    }

    // Still alive, never panicked, still serving both kinds of request.
    assert!(shim.is_running(), "the shim exited:\n{}", shim.stderr());
    let ok = support::post_json(
        shim.addr,
        P,
        &admin(),
        &json!({"new_module": REJSON_2_6_17}),
    )
    .await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let read = support::get(shim.addr, "/v1/bdbs/1", &admin()).await;
    assert_eq!(read.status, 200);
    assert_eq!(
        decoy.requests(),
        0,
        "a request left for the host named in the target"
    );
    let logs = shim.stderr();
    assert!(!logs.contains("panicked"), "{logs}");
    assert!(logs.contains("TRACE"), "RUST_LOG=trace was in force");

    // No credential in the logs, the audit file or any reply.
    let audit_text = std::fs::read_to_string(&audit).expect("audit file");
    let header = admin();
    for secret in [
        DEMO_ADMIN.1,
        header.as_str(),
        header.trim_start_matches("Basic "),
    ] {
        assert!(!logs.contains(secret), "logs leak {secret}");
        assert!(!audit_text.contains(secret), "audit leaks {secret}");
        for body in &bodies {
            assert!(
                !String::from_utf8_lossy(body).contains(secret),
                "a reply leaks {secret}"
            );
        }
    }
}
