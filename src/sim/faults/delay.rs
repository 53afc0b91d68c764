//! The `delay` fault: requests matching a route wait before they are served, on top of
//! `latency_ms` (issue 23: a look-up that outlasts the shim's `upstream.request_timeout`
//! while the call it serves is answered at once).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `{"ms": 2000, "method": "GET", "path_prefix": "/v1/roles", "count": 1}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelayFault {
    pub ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    pub path_prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

impl DelayFault {
    /// `ms` on `method` requests whose path starts with `path_prefix`, until cleared.
    pub fn new(delay: Duration, method: &str, path_prefix: &str) -> DelayFault {
        DelayFault {
            ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            method: Some(method.to_owned()),
            path_prefix: path_prefix.to_owned(),
            count: None,
        }
    }

    /// Clears itself after `n` hits.
    pub fn times(mut self, n: u32) -> DelayFault {
        self.count = Some(n);
        self
    }

    pub(super) fn matches(&self, method: &str, path: &str) -> bool {
        super::route_matches(self.method.as_deref(), &self.path_prefix, method, path)
    }
}
