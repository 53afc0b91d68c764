//! The `Deprecation` / `Link` / `Sunset` headers of one rule (API-RULES §1.5, API.md §5.9): the
//! module-upgrade route's renderer (`crate::rules::deprecation_headers`) holds them, validated and rendered
//! once, and formats them with the rule's successor; this names them per rule.
//!
//! Decisions (made in `crate::rules::deprecation_headers`, which also holds their tests):
//! - `Link` lists the successor first (`rel="successor-version"`), then the docs
//!   (`rel="deprecation"`), exactly as the module-upgrade route has always sent it.
//! - A successor that could break the header (`<`, `>`, `"`, spaces, controls, non-ASCII: only
//!   possible through a path parameter) is left out rather than escaped; the docs link stays.

use crate::rules::deprecation_headers::DeprecationHeaders;
use http::HeaderMap;
use std::time::SystemTime;

/// Rendered marks for one rule.
#[derive(Debug, Clone)]
pub struct Marks {
    headers: DeprecationHeaders,
}

impl Marks {
    /// Validates and renders; errors start with the setting's name (`deprecation`, `sunset`,
    /// `docs_url`), as [`DeprecationHeaders::new`]'s do.
    pub fn new(
        deprecation: SystemTime,
        sunset: Option<SystemTime>,
        docs_url: &str,
    ) -> Result<Marks, String> {
        Ok(Marks {
            headers: DeprecationHeaders::new(deprecation, sunset, docs_url)?,
        })
    }

    /// Sets the headers on a reply, replacing any of the same name.
    pub fn apply(&self, headers: &mut HeaderMap, successor: Option<&str>) {
        self.headers.apply_with_successor(headers, successor);
    }
}
