//! The rows of the hostile-input table, by theme. Each names the request, how it goes on the
//! wire, what must come back, and whether the cluster is called at all.

use super::{
    row, Expect, Row, BAD_TARGET, BAD_UID, HEADER_TIMEOUT, INVALID_JSON, INVALID_REQUEST, MAX_BODY,
    NOT_FOUND, P,
};
use crate::support::legacy::admin;
use crate::support::wire::{request, Framing, Req, Wire};
use deprecation_shim::sim::seed::{REJSON_2_6_17, UNKNOWN_MODULE_UID};
use serde_json::{json, Value};
use std::time::Duration;

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

fn nested(open: &str, depth: usize) -> Vec<u8> {
    let mut body = br#"{"new_module":"x","extra":"#.to_vec();
    body.extend(open.repeat(depth).into_bytes());
    body
}

pub fn json_rows() -> Vec<Row> {
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

pub fn shape_rows() -> Vec<Row> {
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

pub fn size_and_type_rows() -> Vec<Row> {
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

pub fn path_rows() -> Vec<Row> {
    let long_uid = format!("/v1/modules/upgrade/bdb/{}", "9".repeat(4000));
    let through = |name: &str, target: &str| {
        row(
            name,
            old_at(target),
            Expect::Cluster(404, NOT_FOUND, leak(target)),
            true,
        )
    };
    // Issue 20 item 8: a spelling of the route's path is the route (normalised, then
    // translated); one the shim cannot normalise safely is refused before any route.
    let normalised = |name: &str, target: &str| row(name, old_at(target), Expect::Upgraded, true);
    let refused = |name: &str, target: &str| row(name, old_at(target), BAD_TARGET, false);
    vec![
        normalised("leading //", "//v1/modules/upgrade/bdb/1"),
        normalised("// inside", "/v1//modules/upgrade/bdb/1"),
        refused("%2F for the last slash", "/v1/modules/upgrade/bdb%2F1"),
        normalised("percent-encoded uid %31", "/v1/modules/upgrade/bdb/%31"),
        normalised("/./ segment", "/v1/modules/upgrade/./bdb/1"),
        normalised("/../ segment", "/v1/modules/upgrade/x/../bdb/1"),
        row(
            "uid of ..",
            old_at("/v1/modules/upgrade/bdb/.."),
            Expect::Cluster(405, Some("method_not_allowed"), "/v1/modules/upgrade/"),
            true,
        ),
        refused("upper case", "/V1/MODULES/UPGRADE/BDB/1"),
        refused("mixed case", "/v1/Modules/upgrade/bdb/1"),
        refused(";params after the uid", "/v1/modules/upgrade/bdb/1;x=y"),
        through(
            "extra segment after the uid",
            "/v1/modules/upgrade/bdb/1/extra",
        ),
        normalised("two trailing slashes", "/v1/modules/upgrade/bdb/1//"),
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

pub fn framing_rows(decoy: &str) -> Vec<Row> {
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

pub fn slow_rows() -> Vec<Row> {
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
