//! R7–R10: the `/v1/debuginfo/...` routes → `/v1/cluster|nodes|bdbs/.../debuginfo` (API-RULES §5,
//! deprecated in RS 7.4.2). Every one is a `GET` whose reply is a tarball streamed as it comes.
//!
//! Decisions (§5.2–§5.3):
//! - `all` and `all/bdb/{uid}` are pure path rewrites; the query string and every header are
//!   kept.
//! - `node` needs the answering node's uid: [`Plan::ResolveNode`] describes the look-up
//!   (`GET /v1/bootstrap`, `local_node_info.uid`, on the same upstream connection) as data, and
//!   [`node_path`] finishes the rewrite. No uid in the reply → pass through the old path, which
//!   every version still serves (§1.1). `node_debuginfo = "passthrough"` turns the rule into an
//!   observe rule (see `table`), for upstreams that load-balance across nodes.
//! - `node/bdb/{uid}` has no exact successor; `node_bdb_debuginfo` chooses: `superset` rewrites
//!   to `/v1/bdbs/{uid}/debuginfo` (same database, same permission, every node), `passthrough`
//!   observes, `gone` answers [`gone`] with the successor `Link`.
//! - The reply is never buffered or re-compressed; [`STREAMED_HEADERS`] pass unchanged. The
//!   upstream read timeout is `rules.debuginfo_read_timeout` (default [`DEFAULT_READ_TIMEOUT`]).

use super::table::Matched;
use super::RuleId;
use crate::error::ApiError;
use http::header::{
    HeaderName, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING,
};
use http::StatusCode;
use serde_json::Value;
use std::time::Duration;

/// `rules.node_debuginfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NodeDebuginfo {
    #[default]
    Resolve,
    Passthrough,
}

/// `rules.node_bdb_debuginfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NodeBdbDebuginfo {
    #[default]
    Superset,
    Passthrough,
    Gone,
}

/// Packages are generated on demand and can be large (§5.3 step 4).
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(900);

/// The reply headers passed through unchanged (§5.3 step 4).
pub const STREAMED_HEADERS: [HeaderName; 4] = [
    CONTENT_TYPE,
    CONTENT_LENGTH,
    CONTENT_DISPOSITION,
    TRANSFER_ENCODING,
];

/// The look-up that finds the answering node.
pub const BOOTSTRAP: &str = "/v1/bootstrap";

/// What goes into the audit record (the package itself never does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    pub old_path: String,
    /// `None` until the node is resolved, or when the call passed through.
    pub new_path: Option<String>,
    pub bdb_uid: Option<u64>,
    pub node_uid: Option<u64>,
}

/// What the executor does for a debuginfo rule that applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// `GET` this path (query kept) instead, streaming the reply.
    Rewrite {
        path_and_query: String,
        audit: Audit,
    },
    /// `GET` [`BOOTSTRAP`] on the same connection, read it with [`node_uid`], then `GET`
    /// [`node_path`]; fall back to the old path when the uid is missing.
    ResolveNode { audit: Audit },
}

/// The plan for a matched debuginfo call; `None` for another rule.
pub fn plan(matched: &Matched<'_>, old_path: &str) -> Option<Plan> {
    let bdb_uid = matched.params.int("bdb_uid");
    let audit = |new_path: Option<String>| Audit {
        old_path: old_path.to_owned(),
        new_path,
        bdb_uid,
        node_uid: None,
    };
    let new_path = match matched.rule.id {
        RuleId::DebuginfoAll => "/v1/cluster/debuginfo".to_owned(),
        RuleId::DebuginfoAllBdb | RuleId::DebuginfoNodeBdb => {
            format!("/v1/bdbs/{}/debuginfo", bdb_uid?)
        }
        RuleId::DebuginfoNode => return Some(Plan::ResolveNode { audit: audit(None) }),
        _ => return None,
    };
    Some(Plan::Rewrite {
        path_and_query: with_query(new_path.clone(), matched.query),
        audit: audit(Some(new_path)),
    })
}

/// `local_node_info.uid` from a `GET /v1/bootstrap` 200 body (a number, or a decimal string).
pub fn node_uid(bootstrap: &[u8]) -> Option<u64> {
    let v: Value = serde_json::from_slice(bootstrap).ok()?;
    match v.get("local_node_info")?.get("uid")? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    }
}

/// R9's successor for the resolved node, with the caller's query.
pub fn node_path(node_uid: u64, query: Option<&str>) -> String {
    with_query(format!("/v1/nodes/{node_uid}/debuginfo"), query)
}

/// R10 with `node_bdb_debuginfo = "gone"`: send with the rule's marks and successor.
pub fn gone() -> ApiError {
    ApiError::new(
        StatusCode::GONE,
        "route_removed",
        "GET /v1/debuginfo/node/bdb/{bdb_uid} is not served by this proxy; fetch the database's \
         debug info from every node with GET /v1/bdbs/{bdb_uid}/debuginfo",
    )
}

fn with_query(mut path: String, query: Option<&str>) -> String {
    if let Some(q) = query {
        path.push('?');
        path.push_str(q);
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{builtin, Options, RuleTable};
    use http::Method;

    fn table() -> RuleTable {
        RuleTable::new(builtin(&Options::default()).unwrap())
    }

    fn plan_for(path_and_query: &str) -> Option<Plan> {
        let t = table();
        let m = t.classify(&Method::GET, path_and_query)?;
        plan(&m, path_and_query.split('?').next().unwrap_or_default())
    }

    fn rewritten(path_and_query: &str) -> String {
        match plan_for(path_and_query) {
            Some(Plan::Rewrite { path_and_query, .. }) => path_and_query,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pure_rewrites_keep_the_query() {
        assert_eq!(rewritten("/v1/debuginfo/all"), "/v1/cluster/debuginfo");
        assert_eq!(
            rewritten("/v1/debuginfo/all/?x=1"),
            "/v1/cluster/debuginfo?x=1"
        );
        assert_eq!(
            rewritten("/v1/debuginfo/all/bdb/3?a=b"),
            "/v1/bdbs/3/debuginfo?a=b"
        );
        assert_eq!(
            rewritten("/v1/debuginfo/node/bdb/07"),
            "/v1/bdbs/7/debuginfo"
        );
    }

    #[test]
    fn the_audit_names_the_old_and_new_paths_and_the_database() {
        let Some(Plan::Rewrite { audit, .. }) = plan_for("/v1/debuginfo/all/bdb/3?q") else {
            panic!()
        };
        assert_eq!(
            audit,
            Audit {
                old_path: "/v1/debuginfo/all/bdb/3".into(),
                new_path: Some("/v1/bdbs/3/debuginfo".into()),
                bdb_uid: Some(3),
                node_uid: None,
            }
        );
    }

    #[test]
    fn a_non_decimal_uid_is_not_a_match() {
        assert_eq!(plan_for("/v1/debuginfo/all/bdb/x"), None);
        assert_eq!(plan_for("/v1/debuginfo/node/bdb/-1"), None);
    }

    #[test]
    fn the_current_node_is_resolved_through_bootstrap() {
        assert!(matches!(
            plan_for("/v1/debuginfo/node"),
            Some(Plan::ResolveNode { .. })
        ));
        let body = br#"{"local_node_info":{"uid":2,"software_version":"7.4.2-54"}}"#;
        assert_eq!(node_uid(body), Some(2));
        assert_eq!(node_uid(br#"{"local_node_info":{"uid":"3"}}"#), Some(3));
        for bad in [&b"{}"[..], br#"{"local_node_info":{"uid":"x"}}"#, b"nope"] {
            assert_eq!(node_uid(bad), None);
        }
        assert_eq!(node_path(2, Some("a=1")), "/v1/nodes/2/debuginfo?a=1");
    }

    #[test]
    fn gone_is_410_route_removed() {
        let e = gone();
        assert_eq!(e.status, StatusCode::GONE);
        assert_eq!(e.error_code, "route_removed");
    }
}
