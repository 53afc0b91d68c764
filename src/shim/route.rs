//! Route classification: decides, per request, whether the shim translates it or lets it stream
//! through to the cluster untouched.
//!
//! The match is literal and case-sensitive, on the path as received (without its query). Only
//! `POST /v1/modules/upgrade/bdb/{uid}` with at most one trailing slash is translated (API.md §5.1).
//! Anything unusual — `//`, `.`/`..` segments, percent-encoding, `;params`, extra segments, another
//! case — passes through untouched: the cluster, not the shim, decides what such a path means, so
//! the shim never widens or narrows what the cluster accepts. This runs on every request, so it
//! allocates nothing.

use http::Method;

const OLD_PREFIX: &str = "/v1/modules/upgrade/bdb/";
const SIBLING_PREFIX: &str = "/v1/bdbs/";
const SIBLING_SUFFIX: &str = "/modules/upgrade";

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Stream it to the cluster untouched.
    PassThrough,
    /// Translate it to `POST /v1/bdbs/{bdb_uid}/upgrade`. `sibling` is true for
    /// `POST /v1/bdbs/{uid}/modules/upgrade`, which is only translated when configured to.
    Deprecated { bdb_uid: u64, sibling: bool },
    /// The route matched but `{uid}` is not a decimal integer: answer 404 `bdb_not_found` without
    /// calling the cluster (API.md §5.1). `sibling` as in [`Route::Deprecated`].
    BadUid { sibling: bool },
}

/// Classifies a request by method and path (`path` excludes the query string).
///
/// `{uid}` is accepted as ASCII digits fitting a `u64` (leading zeros allowed, no sign); any other
/// plain segment (letters, `-1`, `+1`, overflow, empty) is [`Route::BadUid`]. A segment with `%`,
/// `;` or a dot segment passes through instead, because it may decode to something the cluster
/// accepts and the shim does not decode paths.
pub fn classify(method: &Method, path: &str, translate_sibling: bool) -> Route {
    if method != Method::POST {
        return Route::PassThrough;
    }
    if let Some(rest) = path.strip_prefix(OLD_PREFIX) {
        return uid_route(trailing_slash_once(rest), false);
    }
    if translate_sibling {
        if let Some(rest) = path.strip_prefix(SIBLING_PREFIX) {
            let rest = trailing_slash_once(rest);
            // An empty uid here means `/v1/bdbs//modules/upgrade`: a `//` path, not a bad uid.
            match rest.and_then(|r| r.strip_suffix(SIBLING_SUFFIX)) {
                Some("") | None => {}
                Some(uid) => return uid_route(Some(uid), true),
            }
        }
    }
    Route::PassThrough
}

/// Drops one trailing slash; `None` when the path ends in `//`, which passes through.
fn trailing_slash_once(rest: &str) -> Option<&str> {
    match rest.strip_suffix('/') {
        None => Some(rest),
        Some(inner) if inner.is_empty() || inner.ends_with('/') => None,
        Some(inner) => Some(inner),
    }
}

fn uid_route(segment: Option<&str>, sibling: bool) -> Route {
    let Some(segment) = segment else {
        return Route::PassThrough;
    };
    if segment.contains(['/', '%', ';']) || segment == "." || segment == ".." {
        return Route::PassThrough;
    }
    if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return Route::BadUid { sibling };
    }
    match segment.parse::<u64>() {
        Ok(bdb_uid) => Route::Deprecated { bdb_uid, sibling },
        Err(_) => Route::BadUid { sibling },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(path: &str) -> Route {
        classify(&Method::POST, path, false)
    }

    fn deprecated(bdb_uid: u64) -> Route {
        Route::Deprecated {
            bdb_uid,
            sibling: false,
        }
    }

    #[test]
    fn old_route_is_translated_with_or_without_one_trailing_slash() {
        assert_eq!(post("/v1/modules/upgrade/bdb/1"), deprecated(1));
        assert_eq!(post("/v1/modules/upgrade/bdb/42/"), deprecated(42));
        assert_eq!(post("/v1/modules/upgrade/bdb/007"), deprecated(7));
        assert_eq!(
            post("/v1/modules/upgrade/bdb/18446744073709551615"),
            deprecated(u64::MAX)
        );
    }

    #[test]
    fn non_post_methods_pass_through() {
        for m in [Method::GET, Method::PUT, Method::DELETE, Method::PATCH] {
            assert_eq!(
                classify(&m, "/v1/modules/upgrade/bdb/1", true),
                Route::PassThrough
            );
        }
    }

    #[test]
    fn non_decimal_uid_is_bad_uid() {
        for path in [
            "/v1/modules/upgrade/bdb/abc",
            "/v1/modules/upgrade/bdb/-1",
            "/v1/modules/upgrade/bdb/+1",
            "/v1/modules/upgrade/bdb/1.5",
            "/v1/modules/upgrade/bdb/18446744073709551616",
            "/v1/modules/upgrade/bdb/",
            "/v1/modules/upgrade/bdb/1a/",
        ] {
            assert_eq!(post(path), Route::BadUid { sibling: false }, "{path}");
        }
    }

    #[test]
    fn unusual_paths_pass_through_for_the_cluster_to_decide() {
        for path in [
            "/v1/modules/upgrade/bdb",
            "/v1/modules/upgrade/bdb//",
            "/v1/modules/upgrade/bdb/1//",
            "/v1/modules/upgrade/bdb//1",
            "/v1/modules/upgrade/bdb/1/extra",
            "/v1/modules/upgrade/bdb/%31",
            "/v1/modules/upgrade/bdb/1;x=y",
            "/v1/modules/upgrade/bdb/..",
            "/v1/modules/upgrade/bdb/.",
            "/v1/modules/upgrade/./bdb/1",
            "/v1//modules/upgrade/bdb/1",
            "/V1/modules/upgrade/bdb/1",
            "/v1/Modules/Upgrade/BDB/1",
            "/v2/modules/upgrade/bdb/1",
            "v1/modules/upgrade/bdb/1",
            "/v1/modules",
            "/v1/bdbs/1/upgrade",
            "",
        ] {
            assert_eq!(post(path), Route::PassThrough, "{path}");
        }
    }

    #[test]
    fn sibling_route_passes_through_unless_configured() {
        assert_eq!(post("/v1/bdbs/3/modules/upgrade"), Route::PassThrough);
        let on = |p| classify(&Method::POST, p, true);
        let sibling = Route::Deprecated {
            bdb_uid: 3,
            sibling: true,
        };
        assert_eq!(on("/v1/bdbs/3/modules/upgrade"), sibling);
        assert_eq!(on("/v1/bdbs/3/modules/upgrade/"), sibling);
        assert_eq!(
            on("/v1/bdbs/x/modules/upgrade"),
            Route::BadUid { sibling: true }
        );
        assert_eq!(on("/v1/bdbs//modules/upgrade"), Route::PassThrough);
        assert_eq!(on("/v1/bdbs/3/modules/upgrade//"), Route::PassThrough);
        assert_eq!(on("/v1/bdbs/3/x/modules/upgrade"), Route::PassThrough);
        assert_eq!(on("/v1/bdbs/3/modules"), Route::PassThrough);
        assert_eq!(on("/v1/bdbs/3/upgrade"), Route::PassThrough);
        assert_eq!(on("/v1/modules/upgrade/bdb/3"), deprecated(3));
    }
}
