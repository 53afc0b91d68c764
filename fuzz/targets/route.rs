//! Target `route`: method + raw request-target → the rule table's `classify`, read as the
//! module-upgrade route's verdict.
//!
//! Input: byte 0 picks the method, bit 0 of byte 1 turns the sibling route on (else `off`), the rest
//! is the request-target as bytes. It is classified twice: as a (lossily decoded) string, and —
//! when `http` accepts it, as hyper would — as the path and query of the parsed URI, which is
//! what the shim really classifies.
//!
//! Invariant: the verdict equals an independent, segment-based reading of API.md §5.1 (below)
//! on the path before the query, so `Deprecated { bdb_uid }` comes only from the literal old (or
//! sibling) route whose `{uid}` is ASCII digits parsing to exactly `bdb_uid`, every non-POST
//! request passes through, and no other rule shadows the module-upgrade routes.

use deprecation_shim::rules::{builtin, Mode, Options, RuleId, RuleTable};
use http::Method;
use std::sync::OnceLock;

/// What the table says about the module-upgrade routes (R0 and its sibling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// No module-upgrade rule matched (another rule may have: not this target's business).
    PassThrough,
    /// Translated to `POST /v1/bdbs/{bdb_uid}/upgrade`.
    Deprecated { bdb_uid: u64, sibling: bool },
    /// The route matched but `{uid}` is not a decimal integer (404 `bdb_not_found`).
    BadUid { sibling: bool },
}

/// The built-in table, with the sibling route off (`[0]`, `mode = "off"`) and on (`[1]`, its
/// default).
fn tables() -> &'static [RuleTable; 2] {
    static TABLES: OnceLock<[RuleTable; 2]> = OnceLock::new();
    TABLES.get_or_init(|| {
        let table = |sibling: bool| {
            let rules =
                builtin(&Options::default()).unwrap_or_else(|e| panic!("built-in rules: {e}"));
            let mut table = RuleTable::new(rules);
            // The sibling defaults to auto (issue 22); `[0]` switches it off.
            if let Some(rule) = table.get_mut("module_upgrade_sibling") {
                rule.mode = if sibling { Mode::Auto } else { Mode::Off };
            }
            table
        };
        [table(false), table(true)]
    })
}

fn classify(method: &Method, path_and_query: &str, sibling_on: bool) -> Route {
    let Some(m) = tables()[usize::from(sibling_on)].classify(method, path_and_query) else {
        return Route::PassThrough;
    };
    let sibling = match m.rule.id {
        RuleId::ModuleUpgrade => false,
        RuleId::ModuleUpgradeSibling => true,
        _ => return Route::PassThrough,
    };
    match (m.bad_param, m.params.int("uid")) {
        (None, Some(bdb_uid)) => Route::Deprecated { bdb_uid, sibling },
        _ => Route::BadUid { sibling },
    }
}

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
        let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
        check(&method, path_and_query, sibling);
    }
}

fn check(method: &Method, path_and_query: &str, sibling: bool) {
    // The table keeps the query aside; the reading of §5.1 is about the path alone.
    let path = path_and_query
        .split_once('?')
        .map_or(path_and_query, |(p, _)| p);
    let got = classify(method, path_and_query, sibling);
    let want = spec(method, path, sibling);
    assert_eq!(
        got, want,
        "{method} {path_and_query:?} (sibling route {sibling})"
    );
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
