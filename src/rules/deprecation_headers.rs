//! The headers that mark every reply of the deprecated route, errors included (API.md §5.9):
//! `Deprecation` (RFC 9745), `Link` to the successor and the docs (RFC 8288 / RFC 9745 §3), and
//! `Sunset` (RFC 8594) when one is configured.
//!
//! Everything that depends only on configuration is validated and rendered once, in
//! [`DeprecationHeaders::new`], so [`DeprecationHeaders::apply`] cannot fail per request.

use http::header::{HeaderName, HeaderValue, LINK};
use http::HeaderMap;
use std::time::{SystemTime, UNIX_EPOCH};

const DEPRECATION: HeaderName = HeaderName::from_static("deprecation");
const SUNSET: HeaderName = HeaderName::from_static("sunset");

/// `httpdate` renders only years up to 9999 (and panics beyond): 10000-01-01T00:00:00Z.
const HTTP_DATE_LIMIT_SECS: u64 = 253_402_300_800;

/// Rendered header values for the deprecated route.
#[derive(Debug, Clone)]
pub struct DeprecationHeaders {
    /// `@<unix seconds>`, an RFC 9651 Date structured field as RFC 9745 §2.1 requires.
    deprecation: HeaderValue,
    /// IMF-fixdate (RFC 9110 §5.6.7), as RFC 8594 §3 requires.
    sunset: Option<HeaderValue>,
    /// The `<docs_url>; rel="deprecation"; type="text/html"` link, pre-rendered.
    docs_link: String,
}

impl DeprecationHeaders {
    /// Validates and renders the configuration. Errors name the setting: a date before 1970 or
    /// after 9999, a `sunset` earlier than the `deprecation`, or a `docs_url` that cannot sit
    /// inside `<…>` of a `Link` header (empty, spaces, controls, non-ASCII, `<`, `>`, `"`).
    pub fn new(
        deprecation: SystemTime,
        sunset: Option<SystemTime>,
        docs_url: &str,
    ) -> Result<Self, String> {
        let since = unix_seconds("deprecation", deprecation)?;
        let deprecation =
            HeaderValue::from_str(&format!("@{since}")).map_err(|e| format!("deprecation: {e}"))?;
        let sunset = match sunset {
            None => None,
            Some(at) => {
                let secs = unix_seconds("sunset", at)?;
                if secs < since {
                    return Err(format!(
                        "sunset ({}) is earlier than deprecation ({}); a resource cannot \
                         disappear before it is deprecated",
                        httpdate::fmt_http_date(at),
                        httpdate::fmt_http_date(UNIX_EPOCH + std::time::Duration::from_secs(since))
                    ));
                }
                let value = HeaderValue::from_str(&httpdate::fmt_http_date(at))
                    .map_err(|e| format!("sunset: {e}"))?;
                Some(value)
            }
        };
        check_docs_url(docs_url)?;
        Ok(DeprecationHeaders {
            deprecation,
            sunset,
            docs_link: format!("<{docs_url}>; rel=\"deprecation\"; type=\"text/html\""),
        })
    }

    /// Sets the headers on a reply of the deprecated route, replacing any of the same name (the
    /// reply is the shim's own). `bdb_uid` is `None` when the path held no usable uid; the
    /// successor link is then left out, since there is no database to point at.
    pub fn apply(&self, headers: &mut HeaderMap, bdb_uid: Option<u64>) {
        let successor = bdb_uid.map(|uid| format!("/v1/bdbs/{uid}/upgrade"));
        self.apply_with_successor(headers, successor.as_deref());
    }

    /// Sets the headers on a reply, replacing any of the same name, with `successor` (a path)
    /// linked first (`rel="successor-version"`), then the docs (`rel="deprecation"`). Every
    /// rule's marks ([`crate::rules::Marks`]) are rendered here. A successor that could break
    /// the header (`<`, `>`, `"`, spaces, controls, non-ASCII: only possible through a path
    /// parameter) is left out rather than escaped; the docs link stays.
    pub fn apply_with_successor(&self, headers: &mut HeaderMap, successor: Option<&str>) {
        headers.insert(DEPRECATION, self.deprecation.clone());
        let link = match successor.filter(|s| safe_in_link(s)) {
            Some(successor) => format!(
                "<{successor}>; rel=\"successor-version\", {}",
                self.docs_link
            ),
            None => self.docs_link.clone(),
        };
        // Cannot fail: `new` admitted only visible ASCII into `docs_link`, and `safe_in_link`
        // only visible ASCII into the successor.
        if let Ok(link) = HeaderValue::from_str(&link) {
            headers.insert(LINK, link);
        }
        if let Some(sunset) = &self.sunset {
            headers.insert(SUNSET, sunset.clone());
        }
    }
}

fn safe_in_link(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"'))
}

fn unix_seconds(setting: &str, at: SystemTime) -> Result<u64, String> {
    let secs = at
        .duration_since(UNIX_EPOCH)
        .map_err(|_| format!("{setting} must not be before 1970-01-01"))?
        .as_secs();
    if secs >= HTTP_DATE_LIMIT_SECS {
        return Err(format!("{setting} must be before the year 10000"));
    }
    Ok(secs)
}

fn check_docs_url(url: &str) -> Result<(), String> {
    let bad = url
        .bytes()
        .find(|b| !b.is_ascii_graphic() || matches!(b, b'<' | b'>' | b'"'));
    match (url.is_empty(), bad) {
        (true, _) => Err("docs_url must not be empty".into()),
        (false, Some(b)) => Err(format!(
            "docs_url contains {:?}, which cannot appear in a Link header; percent-encode it",
            char::from(b)
        )),
        (false, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const DOCS: &str = "https://redis.io/docs/latest/operate/rs/references/rest-api/";
    const NOV_2024: u64 = 1_730_419_200;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn applied(h: &DeprecationHeaders, uid: Option<u64>) -> HeaderMap {
        let mut map = HeaderMap::new();
        h.apply(&mut map, uid);
        map
    }

    #[test]
    fn deprecation_and_link_with_successor() {
        let h = DeprecationHeaders::new(at(NOV_2024), None, DOCS).unwrap();
        let map = applied(&h, Some(1));
        assert_eq!(map["deprecation"], "@1730419200");
        assert_eq!(
            map["link"],
            "</v1/bdbs/1/upgrade>; rel=\"successor-version\", \
             <https://redis.io/docs/latest/operate/rs/references/rest-api/>; \
             rel=\"deprecation\"; type=\"text/html\""
        );
        assert!(map.get("sunset").is_none());
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn link_without_uid_points_only_at_the_docs() {
        let h = DeprecationHeaders::new(at(NOV_2024), None, "https://d.example/x").unwrap();
        let map = applied(&h, None);
        assert_eq!(
            map["link"],
            "<https://d.example/x>; rel=\"deprecation\"; type=\"text/html\""
        );
    }

    #[test]
    fn sunset_is_an_imf_fixdate_when_configured() {
        let h = DeprecationHeaders::new(at(NOV_2024), Some(at(NOV_2024)), DOCS).unwrap();
        assert_eq!(
            applied(&h, Some(7))["sunset"],
            "Fri, 01 Nov 2024 00:00:00 GMT"
        );
        let later = at(1_767_225_600); // 2026-01-01T00:00:00Z
        let h = DeprecationHeaders::new(at(NOV_2024), Some(later), DOCS).unwrap();
        assert_eq!(
            applied(&h, Some(7))["sunset"],
            "Thu, 01 Jan 2026 00:00:00 GMT"
        );
    }

    #[test]
    fn apply_replaces_stale_values() {
        let h = DeprecationHeaders::new(at(NOV_2024), None, DOCS).unwrap();
        let mut map = HeaderMap::new();
        map.insert(DEPRECATION, HeaderValue::from_static("@1"));
        h.apply(&mut map, Some(2));
        h.apply(&mut map, Some(2));
        assert_eq!(map.get_all("deprecation").iter().count(), 1);
        assert_eq!(map["deprecation"], "@1730419200");
        assert_eq!(map.get_all("link").iter().count(), 1);
    }

    #[test]
    fn sub_second_deprecation_is_truncated() {
        let h =
            DeprecationHeaders::new(at(NOV_2024) + Duration::from_millis(900), None, DOCS).unwrap();
        assert_eq!(applied(&h, None)["deprecation"], "@1730419200");
    }

    #[test]
    fn sunset_before_deprecation_is_rejected_naming_sunset() {
        let err = DeprecationHeaders::new(at(NOV_2024), Some(at(NOV_2024 - 1)), DOCS).unwrap_err();
        assert!(err.starts_with("sunset"), "{err}");
        assert!(err.contains("Fri, 01 Nov 2024 00:00:00 GMT"), "{err}");
    }

    #[test]
    fn dates_outside_what_http_can_carry_are_rejected() {
        let before_1970 = UNIX_EPOCH - Duration::from_secs(1);
        let err = DeprecationHeaders::new(before_1970, None, DOCS).unwrap_err();
        assert!(err.starts_with("deprecation"), "{err}");
        let year_10000 = at(HTTP_DATE_LIMIT_SECS);
        let err = DeprecationHeaders::new(at(NOV_2024), Some(year_10000), DOCS).unwrap_err();
        assert!(err.starts_with("sunset"), "{err}");
    }

    #[test]
    fn docs_url_that_would_break_the_header_is_rejected() {
        for url in [
            "",
            "https://x/a b",
            "https://x/\n",
            "https://x/é",
            "https://x/>",
            "a\"b",
        ] {
            let err = DeprecationHeaders::new(at(NOV_2024), None, url).unwrap_err();
            assert!(err.starts_with("docs_url"), "{url:?}: {err}");
        }
    }

    #[test]
    fn a_successor_that_would_break_the_header_is_left_out() {
        let h = DeprecationHeaders::new(at(NOV_2024), None, DOCS).unwrap();
        for bad in ["/v1/a\"b", "/v1/<x>", "/v1/a b", ""] {
            let mut map = HeaderMap::new();
            h.apply_with_successor(&mut map, Some(bad));
            assert!(
                map["link"].to_str().unwrap().starts_with("<https://"),
                "{bad}"
            );
        }
    }

    #[test]
    fn any_successor_path_is_linked_first_and_applying_twice_leaves_one_of_each() {
        let h = DeprecationHeaders::new(at(NOV_2024), None, DOCS).unwrap();
        let mut map = HeaderMap::new();
        h.apply_with_successor(&mut map, Some("/v1/cluster/certificates"));
        h.apply_with_successor(&mut map, Some("/v1/cluster/certificates"));
        assert_eq!(map.get_all("link").iter().count(), 1);
        assert_eq!(map.get_all("deprecation").iter().count(), 1);
        assert!(map["link"]
            .to_str()
            .unwrap()
            .starts_with("</v1/cluster/certificates>; rel=\"successor-version\", <https://"));
    }
}
