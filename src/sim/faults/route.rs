//! Which requests a route fault hits ([`RouteMatch`], [`StatusFault`]) and what it does to
//! them ([`RouteFault`]).

use serde::{Deserialize, Serialize};

/// Which requests a route fault hits, and how many times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    pub path_prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

impl RouteMatch {
    /// Any method on paths starting with `path_prefix`, until cleared.
    pub fn any(path_prefix: &str) -> Self {
        RouteMatch {
            method: None,
            path_prefix: path_prefix.to_owned(),
            count: None,
        }
    }

    /// Only `method` on paths starting with `path_prefix`, until cleared.
    pub fn method(method: &str, path_prefix: &str) -> Self {
        RouteMatch {
            method: Some(method.to_owned()),
            ..RouteMatch::any(path_prefix)
        }
    }

    /// Clears itself after `n` hits.
    pub fn times(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }

    pub(super) fn matches(&self, method: &str, path: &str) -> bool {
        route_matches(self.method.as_deref(), &self.path_prefix, method, path)
    }
}

/// A status answered instead of the real reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusFault {
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    pub path_prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

/// What a route fault does to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum RouteFault {
    Drop,
    /// Serve, then close without the reply.
    DropReply,
    Status(u16),
    InvalidJson,
}

pub(super) fn route_matches(want: Option<&str>, prefix: &str, method: &str, path: &str) -> bool {
    let method_ok = want.is_none_or(|m| m.eq_ignore_ascii_case(method));
    method_ok && path.starts_with(prefix)
}
