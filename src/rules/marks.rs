//! The `Deprecation` / `Link` / `Sunset` headers of one rule (API-RULES §1.5, API.md §5.9), built
//! on the module-upgrade route's renderer (`crate::shim::headers`), which validates the dates and
//! the docs URL once and renders them; this adds the per-rule successor link in front.
//!
//! Decisions:
//! - `Link` lists the successor first (`rel="successor-version"`), then the docs
//!   (`rel="deprecation"`), exactly as the module-upgrade route has always sent it.
//! - A successor that could break the header (`<`, `>`, `"`, spaces, controls, non-ASCII: only
//!   possible through a path parameter) is left out rather than escaped; the docs link stays.

use crate::shim::headers::DeprecationHeaders;
use http::header::{HeaderValue, LINK};
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
        self.headers.apply(headers, None);
        let Some(successor) = successor.filter(|s| safe_in_link(s)) else {
            return;
        };
        let docs = headers
            .get(LINK)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let link = format!("<{successor}>; rel=\"successor-version\", {docs}");
        if let Ok(value) = HeaderValue::from_str(&link) {
            headers.insert(LINK, value);
        }
    }
}

fn safe_in_link(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const DOCS: &str = "https://redis.io/docs/latest/operate/rs/references/rest-api/";

    fn marks(sunset: Option<u64>) -> Marks {
        let at = |s| UNIX_EPOCH + Duration::from_secs(s);
        Marks::new(at(1_706_745_600), sunset.map(at), DOCS).unwrap()
    }

    #[test]
    fn successor_comes_first_then_the_docs() {
        let mut h = HeaderMap::new();
        marks(None).apply(&mut h, Some("/v1/bdbs/3/debuginfo"));
        assert_eq!(h["deprecation"], "@1706745600");
        assert_eq!(
            h["link"],
            "</v1/bdbs/3/debuginfo>; rel=\"successor-version\", \
             <https://redis.io/docs/latest/operate/rs/references/rest-api/>; \
             rel=\"deprecation\"; type=\"text/html\""
        );
        assert!(h.get("sunset").is_none());
    }

    #[test]
    fn without_successor_only_the_docs_are_linked_and_sunset_is_sent_when_set() {
        let mut h = HeaderMap::new();
        marks(Some(1_767_225_600)).apply(&mut h, None);
        assert_eq!(
            h["link"],
            "<https://redis.io/docs/latest/operate/rs/references/rest-api/>; \
             rel=\"deprecation\"; type=\"text/html\""
        );
        assert_eq!(h["sunset"], "Thu, 01 Jan 2026 00:00:00 GMT");
    }

    #[test]
    fn a_successor_that_would_break_the_header_is_left_out() {
        for bad in ["/v1/a\"b", "/v1/<x>", "/v1/a b", ""] {
            let mut h = HeaderMap::new();
            marks(None).apply(&mut h, Some(bad));
            assert!(
                h["link"].to_str().unwrap().starts_with("<https://"),
                "{bad}"
            );
        }
    }

    #[test]
    fn applying_twice_leaves_one_of_each() {
        let mut h = HeaderMap::new();
        let m = marks(None);
        m.apply(&mut h, Some("/v1/cluster/certificates"));
        m.apply(&mut h, Some("/v1/cluster/certificates"));
        assert_eq!(h.get_all("link").iter().count(), 1);
        assert_eq!(h.get_all("deprecation").iter().count(), 1);
        assert!(h["link"]
            .to_str()
            .unwrap()
            .starts_with("</v1/cluster/certificates>; rel=\"successor-version\", <https://"));
    }
}
