//! The hostile-input catalogue: one table of requests, written as raw HTTP/1.1 bytes, sent one
//! connection each to one shim (the real binary, `RUST_LOG=trace`, an audit file) in front of a
//! simulated RS 8.0 cluster (where the old route no longer exists, so a request that slips
//! through untranslated gets the cluster's `404 not_found`). Each row pins the reply, whether
//! the cluster was called at all, whether an upgrade was started, and whether an audit record
//! was written; afterwards the process must still be running, must not have panicked, and must
//! still serve a normal call. `P` is `/v1/modules/upgrade/bdb/1`, `OK` the body
//! `{"new_module": "<ReJSON 2.6.17 uid>"}`, `A` the admin's `Authorization`. "→ cluster" means
//! the request passed through untouched and the cluster's own reply came back.
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
//! | leading // | → cluster `//v1/modules/upgrade/bdb/1`: 404 `not_found` | yes | no | no |
//! | // inside | → cluster `/v1//modules/upgrade/bdb/1`: 404 `not_found` | yes | no | no |
//! | %2F for the last slash | → cluster `/v1/modules/upgrade/bdb%2F1`: 404 `not_found` | yes | no | no |
//! | percent-encoded uid %31 | → cluster `/v1/modules/upgrade/bdb/%31`: 404 `not_found` | yes | no | no |
//! | /./ segment | → cluster `/v1/modules/upgrade/./bdb/1`: 404 `not_found` | yes | no | no |
//! | /../ segment | → cluster `/v1/modules/upgrade/x/../bdb/1`: 404 `not_found` | yes | no | no |
//! | uid of .. | → cluster `/v1/modules/upgrade/bdb/..`: 404 `not_found` | yes | no | no |
//! | upper case | → cluster `/V1/MODULES/UPGRADE/BDB/1`: 404 `not_found` | yes | no | no |
//! | mixed case | → cluster `/v1/Modules/upgrade/bdb/1`: 404 `not_found` | yes | no | no |
//! | ;params after the uid | → cluster `/v1/modules/upgrade/bdb/1;x=y`: 404 `not_found` | yes | no | no |
//! | extra segment after the uid | → cluster `/v1/modules/upgrade/bdb/1/extra`: 404 `not_found` | yes | no | no |
//! | two trailing slashes | → cluster `/v1/modules/upgrade/bdb/1//`: 404 `not_found` | yes | no | no |
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

use deprecation_shim::sim::seed::{REJSON_2_6_17, UNKNOWN_MODULE_UID};
use deprecation_shim::sim::{SimVersion, Simulator, DEMO_ADMIN};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};
use support::audit_file::records;
use support::cluster::start_sim;
use support::legacy::{admin, upgrade_posts};
use support::raw::RawReply;
use support::shim::{spawn_shim_logging, toml_path, ShimProcess};
use support::upstream::start_upstream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const P: &str = "/v1/modules/upgrade/bdb/1";
/// `listen.header_read_timeout` of the shim under test.
const HEADER_TIMEOUT: Duration = Duration::from_secs(1);
/// `upstream.request_timeout`, which also bounds reading the old route's body.
const BODY_TIMEOUT: Duration = Duration::from_secs(2);
/// `shim.max_body_size` (the default).
const MAX_BODY: usize = 1024 * 1024;

/// How a request body is framed on the wire.
#[derive(Clone, Copy, PartialEq)]
enum Framing {
    Length,
    Chunked,
    /// Neither `Content-Length` nor `Transfer-Encoding`.
    Bare,
}

/// A request written by hand: admin credentials, `Connection: close`, JSON content type unless
/// changed.
#[derive(Clone)]
struct Req {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    framing: Framing,
}

fn request(method: &str, target: &str, body: impl Into<Vec<u8>>) -> Req {
    Req {
        method: method.into(),
        target: target.into(),
        headers: vec![
            ("Host".into(), "shim.example:9443".into()),
            ("Authorization".into(), admin()),
            ("Content-Type".into(), "application/json".into()),
            ("Connection".into(), "close".into()),
        ],
        body: body.into(),
        framing: Framing::Length,
    }
}

/// `POST P` with `body`.
fn old(body: impl Into<Vec<u8>>) -> Req {
    request("POST", P, body)
}

/// `POST target` with the good body.
fn old_at(target: &str) -> Req {
    request("POST", target, ok_body())
}

fn ok_body() -> Vec<u8> {
    json!({ "new_module": REJSON_2_6_17 })
        .to_string()
        .into_bytes()
}

fn js(v: Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

impl Req {
    fn header(mut self, name: &str, value: &str) -> Req {
        self.headers.push((name.into(), value.into()));
        self
    }

    fn content_type(mut self, value: &str) -> Req {
        self.headers.retain(|(k, _)| k != "Content-Type");
        if !value.is_empty() {
            self.headers.push(("Content-Type".into(), value.into()));
        }
        self
    }

    fn framing(mut self, framing: Framing) -> Req {
        self.framing = framing;
        self
    }

    /// The request line and headers, with the framing header, up to the blank line.
    fn head(&self) -> Vec<u8> {
        let mut head = format!("{} {} HTTP/1.1\r\n", self.method, self.target);
        for (k, v) in &self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        match self.framing {
            Framing::Length => head.push_str(&format!("Content-Length: {}\r\n", self.body.len())),
            Framing::Chunked => head.push_str("Transfer-Encoding: chunked\r\n"),
            Framing::Bare => {}
        }
        head.push_str("\r\n");
        head.into_bytes()
    }

    /// The head followed by `body_bytes` verbatim, whatever the head announced.
    fn then(&self, body_bytes: &[u8]) -> Vec<u8> {
        [self.head(), body_bytes.to_vec()].concat()
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = self.head();
        match self.framing {
            Framing::Chunked => {
                for chunk in self.body.chunks(64 * 1024) {
                    out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n\r\n");
            }
            _ => out.extend_from_slice(&self.body),
        }
        out
    }
}

/// What goes on the wire, and how.
enum Wire {
    /// All at once.
    Bytes(Vec<u8>),
    /// In `pieces` roughly equal writes, `pause` apart.
    Trickle(Vec<u8>, usize, Duration),
    /// Written, then the connection is held open without another byte.
    Stall(Vec<u8>),
}

impl From<Req> for Wire {
    fn from(r: Req) -> Wire {
        Wire::Bytes(r.bytes())
    }
}

/// What a row must get back.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Translated and upgraded: 200 in the old shape (cluster called, one upgrade POST).
    Upgraded,
    /// The shim's own RS error on the deprecated route: status and `error_code`.
    Shim(u16, &'static str),
    /// Passed through untouched: the cluster saw exactly this target and its reply came back.
    Cluster(u16, Option<&'static str>, &'static str),
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
const NOT_FOUND: Option<&str> = Some("not_found");

fn nested(open: &str, depth: usize) -> Vec<u8> {
    let mut body = br#"{"new_module":"x","extra":"#.to_vec();
    body.extend(open.repeat(depth).into_bytes());
    body
}

fn json_rows() -> Vec<Row> {
    let big_int = "9".repeat(30);
    let huge_int = "9".repeat(400);
    vec![
        row("malformed JSON", old("{not json"), INVALID_JSON, false),
        row(
            "truncated JSON (inside a string)",
            old(r#"{"new_module": "e4984"#),
            INVALID_JSON,
            false,
        ),
        row(
            "truncated JSON (after a comma)",
            old(r#"{"modules": [{"new_module": "x"},"#),
            INVALID_JSON,
            false,
        ),
        row(
            "single-quoted JSON",
            old("{'new_module': 'x'}"),
            INVALID_JSON,
            false,
        ),
        row(
            "garbage after the JSON value",
            old([ok_body(), b" xyz".to_vec()].concat()),
            INVALID_JSON,
            false,
        ),
        row(
            "100 000-deep arrays",
            old(vec![b'['; 100_000]),
            INVALID_JSON,
            false,
        ),
        row(
            "100 000-deep objects in an unknown field",
            old(nested(r#"{"a":"#, 100_000)),
            INVALID_JSON,
            false,
        ),
        row(
            "number beyond f64 (1e999999) in an unknown field",
            old(format!(
                r#"{{"new_module":"{REJSON_2_6_17}","extra":1e999999}}"#
            )),
            INVALID_JSON,
            false,
        ),
        row(
            "400-digit integer in an unknown field",
            old(format!(
                r#"{{"new_module":"{REJSON_2_6_17}","extra":{huge_int}}}"#
            )),
            INVALID_JSON,
            false,
        ),
        row(
            "30-digit integer in an unknown field",
            old(format!(
                r#"{{"new_module":"{REJSON_2_6_17}","extra":{big_int}}}"#
            )),
            Expect::Upgraded,
            true,
        ),
        row(
            "huge number as new_module",
            old(r#"{"new_module": 1e308}"#),
            INVALID_REQUEST,
            false,
        ),
        row(
            "30-digit integer as preserve_roles",
            old(format!(
                r#"{{"new_module":"{REJSON_2_6_17}","preserve_roles":{big_int}}}"#
            )),
            INVALID_REQUEST,
            false,
        ),
        row(
            "invalid UTF-8 inside a string",
            old(b"{\"new_module\": \"\xc3\x28\"}".to_vec()),
            INVALID_JSON,
            false,
        ),
        row(
            "UTF-16 byte-order mark",
            old(b"\xff\xfe{}".to_vec()),
            INVALID_JSON,
            false,
        ),
        row(
            "UTF-8 byte-order mark before valid JSON",
            old([b"\xef\xbb\xbf".to_vec(), ok_body()].concat()),
            INVALID_JSON,
            false,
        ),
        row(
            "empty body (Content-Length: 0)",
            old(""),
            INVALID_JSON,
            false,
        ),
        row(
            "no body and no framing headers",
            old("").framing(Framing::Bare),
            INVALID_JSON,
            false,
        ),
        row("whitespace-only body", old(" \r\n\t "), INVALID_JSON, false),
        row(
            "duplicate key: bogus then valid new_module (last wins)",
            old(format!(
                r#"{{"new_module":"bogus","new_module":"{REJSON_2_6_17}"}}"#
            )),
            Expect::Upgraded,
            true,
        ),
        row(
            "duplicate key: valid then unknown new_module (last wins)",
            old(format!(
                r#"{{"new_module":"{REJSON_2_6_17}","new_module":"{UNKNOWN_MODULE_UID}"}}"#
            )),
            Expect::Shim(400, "missing_module"),
            true,
        ),
    ]
}

fn shape_rows() -> Vec<Row> {
    let n = REJSON_2_6_17;
    let cases = [
        ("A: modules is a string", json!({"modules": "x"})),
        (
            "A: modules is an object",
            json!({"modules": {"new_module": n}}),
        ),
        ("A: modules[0] is a number", json!({"modules": [1]})),
        (
            "A: modules[0].new_module is a number",
            json!({"modules": [{"new_module": 7}]}),
        ),
        (
            "A: modules[0].new_module is empty",
            json!({"modules": [{"new_module": ""}]}),
        ),
        (
            "A: modules[0].current_module is an object",
            json!({"modules": [{"new_module": n, "current_module": {}}]}),
        ),
        (
            "A: modules[0].new_module_args is an array",
            json!({"modules": [{"new_module": n, "new_module_args": ["a"]}]}),
        ),
        (
            "A: preserve_roles is a string",
            json!({"modules": [{"new_module": n}], "preserve_roles": "yes"}),
        ),
        (
            "A: may_discard_data is a number",
            json!({"modules": [{"new_module": n}], "may_discard_data": 0}),
        ),
        (
            "B: modules[0].module_name is an array",
            json!({"modules": [{"new_module": n, "module_name": ["ReJSON"]}]}),
        ),
        (
            "B: modules[0].current_semantic_version is a number",
            json!({"modules": [{"new_module": n, "current_semantic_version": 2.4}]}),
        ),
        (
            "C: force_restart is a string",
            json!({"modules": [{"new_module": n}], "force_restart": "true"}),
        ),
        ("D: new_module is a boolean", json!({"new_module": true})),
        (
            "D: current_module is a number",
            json!({"new_module": n, "current_module": 1}),
        ),
        (
            "D: module_name is a boolean",
            json!({"new_module": n, "module_name": false}),
        ),
        (
            "D: new_module_args is an object",
            json!({"new_module": n, "new_module_args": {}}),
        ),
        (
            "D: current_semantic_version is an array",
            json!({"new_module": n, "current_semantic_version": []}),
        ),
        ("body is an array", json!([{"new_module": n}])),
        ("body is null", json!(null)),
        (
            "modules and a flat new_module together",
            json!({"modules": [{"new_module": n}], "new_module": n}),
        ),
    ];
    cases
        .into_iter()
        .map(|(name, body)| {
            row(
                format!("wrong type, {name}"),
                old(js(body)),
                INVALID_REQUEST,
                false,
            )
        })
        .collect()
}

fn size_and_type_rows() -> Vec<Row> {
    let over = [
        b"{\"new_module\":\"x\",\"pad\":\"".to_vec(),
        vec![b'x'; MAX_BODY + 1024],
        b"\"}".to_vec(),
    ]
    .concat();
    // Only the head and a little of the body: the declared length alone must be refused.
    let declared = old("")
        .framing(Framing::Bare)
        .header("Content-Length", &(MAX_BODY * 2).to_string())
        .then(b"{\"new_module\":");
    let stalled = old("")
        .framing(Framing::Bare)
        .header("Content-Length", "100")
        .then(b"{\"new_module\":");
    let bad_chunk = old("")
        .framing(Framing::Chunked)
        .then(b"zz\r\n{}\r\n0\r\n\r\n");
    vec![
        row(
            "body over the limit, Content-Length declared (only 14 bytes sent)",
            Wire::Stall(declared),
            Expect::Shim(413, "request_too_large"),
            false,
        ),
        row(
            "body over the limit, chunked",
            old(over).framing(Framing::Chunked),
            Expect::Shim(413, "request_too_large"),
            false,
        ),
        row(
            "body stalls after 14 of 100 declared bytes",
            Wire::Stall(stalled),
            Expect::Shim(408, "request_timeout"),
            false,
        ),
        row(
            "chunked body with an invalid chunk size",
            Wire::Bytes(bad_chunk),
            Expect::Shim(400, "invalid_request"),
            false,
        ),
        row(
            "Content-Type multipart/form-data",
            old(ok_body()).content_type("multipart/form-data; boundary=x"),
            Expect::Shim(415, "unsupported_media_type"),
            false,
        ),
        row(
            "Content-Type application/xml",
            old(ok_body()).content_type("application/xml"),
            Expect::Shim(415, "unsupported_media_type"),
            false,
        ),
        row(
            "Content-Type with non-ASCII bytes",
            old(ok_body()).content_type("application/json\u{e9}"),
            Expect::Shim(415, "unsupported_media_type"),
            false,
        ),
        row(
            "Content-Type text/plain (curl --data-raw)",
            old(ok_body()).content_type("text/plain"),
            Expect::Upgraded,
            true,
        ),
        row(
            "Content-Type form-urlencoded (curl -d)",
            old(ok_body()).content_type("application/x-www-form-urlencoded"),
            Expect::Upgraded,
            true,
        ),
        row(
            "no Content-Type",
            old(ok_body()).content_type(""),
            Expect::Upgraded,
            true,
        ),
    ]
}

fn path_rows() -> Vec<Row> {
    let long_uid = format!("/v1/modules/upgrade/bdb/{}", "9".repeat(4000));
    let through = |name: &str, target: &str| {
        row(
            name,
            old_at(target),
            Expect::Cluster(404, NOT_FOUND, leak(target)),
            true,
        )
    };
    vec![
        through("leading //", "//v1/modules/upgrade/bdb/1"),
        through("// inside", "/v1//modules/upgrade/bdb/1"),
        through("%2F for the last slash", "/v1/modules/upgrade/bdb%2F1"),
        through("percent-encoded uid %31", "/v1/modules/upgrade/bdb/%31"),
        through("/./ segment", "/v1/modules/upgrade/./bdb/1"),
        through("/../ segment", "/v1/modules/upgrade/x/../bdb/1"),
        through("uid of ..", "/v1/modules/upgrade/bdb/.."),
        through("upper case", "/V1/MODULES/UPGRADE/BDB/1"),
        through("mixed case", "/v1/Modules/upgrade/bdb/1"),
        through(";params after the uid", "/v1/modules/upgrade/bdb/1;x=y"),
        through(
            "extra segment after the uid",
            "/v1/modules/upgrade/bdb/1/extra",
        ),
        through("two trailing slashes", "/v1/modules/upgrade/bdb/1//"),
        row(
            "trailing garbage in the uid",
            old_at("/v1/modules/upgrade/bdb/1abc"),
            BAD_UID,
            false,
        ),
        row("4000-digit uid", old_at(&long_uid), BAD_UID, false),
        row(
            "negative uid",
            old_at("/v1/modules/upgrade/bdb/-1"),
            BAD_UID,
            false,
        ),
        row(
            "uid 2^64 (overflow)",
            old_at("/v1/modules/upgrade/bdb/18446744073709551616"),
            BAD_UID,
            false,
        ),
        row(
            "uid 2^64-1 (fits; no such database)",
            old_at("/v1/modules/upgrade/bdb/18446744073709551615"),
            BAD_UID,
            true,
        ),
        row(
            "empty uid",
            old_at("/v1/modules/upgrade/bdb/"),
            BAD_UID,
            false,
        ),
        row(
            "leading zeros (0001)",
            old_at("/v1/modules/upgrade/bdb/0001"),
            Expect::Upgraded,
            true,
        ),
        row(
            "garbage in the query string",
            old_at("/v1/modules/upgrade/bdb/1?%00=%ff&&x"),
            Expect::Upgraded,
            true,
        ),
        row(
            "GET on the old route",
            request("GET", P, ""),
            Expect::Cluster(404, NOT_FOUND, P),
            true,
        ),
    ]
}

fn framing_rows(decoy: &str) -> Vec<Row> {
    let auth = admin();
    let body = String::from_utf8(ok_body()).unwrap_or_default();
    let smuggled = "GET /v1/smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    let cl_te = |first: &str, second: &str| {
        format!(
            "POST {P} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\n{first}\r\n{second}\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n{smuggled}",
            body.len()
        )
        .into_bytes()
    };
    let two_lengths = |a: usize, b: usize| {
        format!(
            "POST {P} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Length: {a}\r\nContent-Length: {b}\r\n\r\n{body}"
        )
        .into_bytes()
    };
    let with_header = |line: &str| {
        let mut bytes =
            format!("POST {P} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n").into_bytes();
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(
            format!(
                "\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
        bytes
    };
    let many_headers: String = (0..200).map(|i| format!("X-H{i}: {i}\r\n")).collect();
    vec![
        row("smuggling: Content-Length then Transfer-Encoding", Wire::Bytes(cl_te("Content-Length: 4", "Transfer-Encoding: chunked")), Expect::Upgraded, true),
        row("smuggling: Transfer-Encoding then Content-Length", Wire::Bytes(cl_te("Transfer-Encoding: chunked", "Content-Length: 4")), Expect::Upgraded, true),
        row("smuggling: two different Content-Lengths", Wire::Bytes(two_lengths(body.len(), 4)), Expect::Refused(400), false),
        row("two equal Content-Lengths", Wire::Bytes(two_lengths(body.len(), body.len())), Expect::Upgraded, true),
        row("Transfer-Encoding: gzip (not chunked)", old(ok_body()).header("Transfer-Encoding", "gzip"), Expect::Refused(400), false),
        row("Content-Length: -1", Wire::Bytes(format!("POST {P} HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n").into_bytes()), Expect::Refused(400), false),
        row("pass-through POST with CL and TE", Wire::Bytes(format!("POST /v1/cluster HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{{}}\r\n0\r\n\r\n{smuggled}").into_bytes()), Expect::Cluster(405, Some("method_not_allowed"), "/v1/cluster"), true),
        row("bare CR inside a header value", Wire::Bytes(with_header("X-Note: a\rInjected: b")), Expect::Refused(400), false),
        row("bare LF inside a header value (taken as a line end)", Wire::Bytes(with_header("X-Note: a\nX-Injected: b")), Expect::Upgraded, true),
        row("NUL inside a header value", Wire::Bytes(with_header("X-Note: a\0b")), Expect::Refused(400), false),
        row("obsolete line folding", Wire::Bytes(with_header("X-Note: a\r\n folded")), Expect::Refused(400), false),
        row("space inside a header name", Wire::Bytes(with_header("X Note: a")), Expect::Refused(400), false),
        row("CRLF inside the request target", Wire::Bytes(format!("POST {P}\r\nX-Injected: 1 HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes()), Expect::Refused(400), false),
        row("one 16 KiB header (limit 8 KiB)", old(ok_body()).header("X-Big", &"a".repeat(16 * 1024)), Expect::Refused(431), false),
        row("200 small headers (limit 100)", Wire::Bytes(with_header(many_headers.trim_end())), Expect::Refused(431), false),
        row("16 KiB request target", old_at(&format!("{P}?q={}", "a".repeat(16 * 1024))), Expect::Refused(431), false),
        row("absolute-form old route naming another host", old_at(&format!("http://{decoy}{P}")).header("X-Target", "decoy"), Expect::Upgraded, true),
        row("absolute-form pass-through naming another host", request("GET", &format!("http://{decoy}/v1/bdbs/2"), ""), Expect::Cluster(200, None, "/v1/bdbs/2"), true),
        row("CONNECT to another host", Wire::Bytes(format!("CONNECT {decoy} HTTP/1.1\r\nHost: {decoy}\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n").into_bytes()), Expect::Cluster(404, NOT_FOUND, ""), true),
    ]
}

fn slow_rows() -> Vec<Row> {
    let pieces = 4;
    let pause = HEADER_TIMEOUT / 8;
    let slow = old("").head();
    vec![
        row(
            format!(
                "slowloris: old-route head in {pieces} writes {pause:?} apart (under the timeout)"
            ),
            Wire::Trickle(old(ok_body()).bytes(), pieces, pause),
            Expect::Upgraded,
            true,
        ),
        row(
            format!("slowloris: pass-through head in {pieces} writes {pause:?} apart"),
            Wire::Trickle(request("GET", "/v1/bdbs/2", "").bytes(), pieces, pause),
            Expect::Cluster(200, None, "/v1/bdbs/2"),
            true,
        ),
        row(
            "slowloris: old-route head one byte per 150 ms (over the timeout)",
            Wire::Trickle(slow.clone(), slow.len(), Duration::from_millis(150)),
            Expect::Cut,
            false,
        ),
    ]
}

/// A `&'static str` for a target built at run time (the table lives for the whole test).
fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

/// Sends a row's bytes on a fresh connection and reads until the shim closes it.
async fn exchange(addr: std::net::SocketAddr, wire: &Wire) -> (Vec<u8>, Duration) {
    let stream = TcpStream::connect(addr).await.expect("connect shim");
    let (mut reader, mut writer) = stream.into_split();
    let (bytes, pieces, pause, hold) = match wire {
        Wire::Bytes(b) => (b.clone(), 1, Duration::ZERO, false),
        Wire::Trickle(b, n, p) => (b.clone(), *n, *p, false),
        Wire::Stall(b) => (b.clone(), 1, Duration::ZERO, true),
    };
    let started = Instant::now();
    let write = tokio::spawn(async move {
        let size = bytes.len().div_ceil(pieces).max(1);
        for (i, piece) in bytes.chunks(size).enumerate() {
            if i > 0 {
                tokio::time::sleep(pause).await;
            }
            // The shim may answer and close before everything is written: that is its right.
            if writer.write_all(piece).await.is_err() {
                return;
            }
        }
        // Never half-close: hyper (half_close off) takes a FIN after the request for a client
        // gone away and may drop the connection before replying.
        let _ = hold;
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(writer);
    });
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    write.abort();
    assert!(read.is_ok(), "the shim kept the connection open for 15 s");
    (got, started.elapsed())
}

/// Splits what came back into replies (Content-Length or chunked bodies).
fn parse_replies(mut bytes: &[u8]) -> Vec<RawReply> {
    let mut replies = Vec::new();
    while let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&bytes[..end + 4]).into_owned();
        bytes = &bytes[end + 4..];
        let mut reply = RawReply {
            head,
            body: Vec::new(),
        };
        if let Some(len) = reply.header("content-length") {
            let len = len
                .parse::<usize>()
                .expect("content-length")
                .min(bytes.len());
            reply.body = bytes[..len].to_vec();
            bytes = &bytes[len..];
        } else if reply.header("transfer-encoding").is_some() {
            while let Some(eol) = bytes.windows(2).position(|w| w == b"\r\n") {
                let size = usize::from_str_radix(&String::from_utf8_lossy(&bytes[..eol]), 16)
                    .expect("chunk size");
                bytes = &bytes[eol + 2..];
                let take = size.min(bytes.len());
                reply.body.extend_from_slice(&bytes[..take]);
                bytes = &bytes[(take + 2).min(bytes.len())..];
                if size == 0 {
                    break;
                }
            }
        }
        replies.push(reply);
    }
    replies
}

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
        let status = reply.status();
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
            Expect::Shim(code, error_code) => {
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
            reply.head
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
    replies.first().map(|r| r.body.clone()).unwrap_or_default()
}

/// The row as a line of the decision table.
fn table_line(r: &Row) -> String {
    let (reply, upgrade, audited) = match r.expect {
        Expect::Upgraded => ("200, translated".to_owned(), "yes", "yes"),
        Expect::Shim(s, c) => (format!("{s} `{c}`"), "no", "yes"),
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
    let (upstream, sim) = start_sim(SimVersion::V8_0, Duration::from_millis(100)).await;
    let decoy = start_upstream().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let cfg = dir.path().join("shim.toml");
    std::fs::write(
        &cfg,
        format!(
            "[listen]\nheader_read_timeout = \"{}ms\"\nmax_header_size = \"8KiB\"\n\
             [upstream]\nurl = \"http://{upstream}\"\nrequest_timeout = \"{}ms\"\n\
             [shim]\npoll_interval = \"20ms\"\nwait_deadline = \"10s\"\n\
             [audit]\npath = {}\n",
            HEADER_TIMEOUT.as_millis(),
            BODY_TIMEOUT.as_millis(),
            toml_path(&audit)
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
        json_rows(),
        shape_rows(),
        size_and_type_rows(),
        path_rows(),
        framing_rows(&decoy_authority),
        slow_rows(),
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
