//! Target `route`: method + raw request-target → `classify`.
//!
//! Input: byte 0 picks the method, bit 0 of byte 1 turns the opt-in sibling route on, the rest
//! is the request-target as bytes. It is classified twice: as a (lossily decoded) string, and —
//! when `http` accepts it, as hyper would — as the path of the parsed URI, which is what the
//! shim really classifies.
//!
//! Invariant: the result equals an independent, segment-based reading of API.md §5.1 (below), so
//! `Deprecated { bdb_uid }` comes only from the literal old (or sibling) route whose `{uid}` is
//! ASCII digits parsing to exactly `bdb_uid`, and every non-POST request passes through.

use deprecation_shim::shim::route::{classify, Route};
use http::Method;

/// Methods the first byte picks from: the standard ones, and spellings of POST that are not POST
/// (methods are case-sensitive, RFC 9110 §9.1).
const METHODS: [&str; 12] = [
    "POST", "GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "post", "Post", "CONNECT", "TRACE",
    "POST2",
];

pub fn run(data: &[u8]) {
    let (Some(&m), Some(&flags)) = (data.first(), data.get(1)) else {
        return;
    };
    let method = match Method::from_bytes(METHODS[usize::from(m) % METHODS.len()].as_bytes()) {
        Ok(method) => method,
        Err(e) => panic!("bad method table: {e}"),
    };
    let sibling = flags & 1 == 1;
    let raw = &data[2..];
    check(&method, &String::from_utf8_lossy(raw), sibling);
    if let Ok(uri) = http::Uri::try_from(raw) {
        check(&method, uri.path(), sibling);
    }
}

fn check(method: &Method, path: &str, sibling: bool) {
    let got = classify(method, path, sibling);
    let want = spec(method, path, sibling);
    assert_eq!(got, want, "{method} {path:?} (sibling route {sibling})");
    if let Route::Deprecated { bdb_uid, sibling } = got {
        let prefix = if sibling {
            "/v1/bdbs/"
        } else {
            "/v1/modules/upgrade/bdb/"
        };
        let rest = path.strip_prefix(prefix).unwrap_or_else(|| {
            panic!("Deprecated from {path:?}, which lacks {prefix:?}");
        });
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        assert_eq!(digits.parse::<u64>().ok(), Some(bdb_uid), "{path:?}");
    }
}

/// API.md §5.1 read segment by segment: `/v1/modules/upgrade/bdb/{uid}` (or, when on,
/// `/v1/bdbs/{uid}/modules/upgrade`), with at most one trailing slash. A `{uid}` with `%` or `;`
/// or a dot segment passes through (the cluster decides what it means); ASCII digits fitting a
/// u64 are translated; anything else is a bad uid.
fn spec(method: &Method, path: &str, sibling_on: bool) -> Route {
    if method != Method::POST {
        return Route::PassThrough;
    }
    let segments: Vec<&str> = path.split('/').collect();
    let (uid, sibling, trailing) = match segments.as_slice() {
        ["", "v1", "modules", "upgrade", "bdb", uid] => (*uid, false, false),
        ["", "v1", "modules", "upgrade", "bdb", uid, ""] => (*uid, false, true),
        ["", "v1", "bdbs", uid, "modules", "upgrade"] if sibling_on => (*uid, true, false),
        ["", "v1", "bdbs", uid, "modules", "upgrade", ""] if sibling_on => (*uid, true, true),
        _ => return Route::PassThrough,
    };
    // An empty uid is a `//` in the path — except `/v1/modules/upgrade/bdb/`, whose uid is
    // simply missing.
    if uid.is_empty() && (sibling || trailing) {
        return Route::PassThrough;
    }
    if uid.contains(['%', ';']) || uid == "." || uid == ".." {
        return Route::PassThrough;
    }
    let digits = !uid.is_empty() && uid.bytes().all(|b| b.is_ascii_digit());
    match uid.parse::<u64>() {
        Ok(bdb_uid) if digits => Route::Deprecated { bdb_uid, sibling },
        _ => Route::BadUid { sibling },
    }
}
