//! Label values from caller text, and the cap on the callers that get series of their own.

use super::{MAX_CALLER_SERIES, MAX_LABEL_CHARS, OTHER, UNVERIFIED};

/// The (user, user agent) pairs that have a series of their own, up to [`MAX_CALLER_SERIES`].
#[derive(Debug, Default)]
pub(super) struct CallerSeries(std::sync::Mutex<std::collections::HashSet<(String, String)>>);

impl CallerSeries {
    /// The user and user-agent labels of one call: its own pair while the cap allows (or once
    /// seen), `other` past it; one shared `unverified` pair for credentials the cluster did not
    /// accept, so junk names cannot use up the cap.
    pub(super) fn labels(
        &self,
        verified: bool,
        user: Option<&str>,
        user_agent: Option<&str>,
    ) -> (String, String) {
        if !verified {
            return (UNVERIFIED.to_owned(), UNVERIFIED.to_owned());
        }
        let pair = (label_value(user), label_value(user_agent));
        let mut seen = crate::locks::lock(&self.0);
        if seen.contains(&pair) || seen.len() < MAX_CALLER_SERIES {
            seen.insert(pair.clone());
            pair
        } else {
            (OTHER.to_owned(), OTHER.to_owned())
        }
    }
}

/// A label value from caller text: prometheus-client writes label values verbatim, so `"`, `\`,
/// control and non-ASCII characters are replaced by `_` (they would break the exposition or
/// inject series), and the value is cut at [`MAX_LABEL_CHARS`]. Absent or empty → `"none"`.
pub(super) fn label_value(raw: Option<&str>) -> String {
    let clean: String = raw
        .unwrap_or("")
        .chars()
        .take(MAX_LABEL_CHARS)
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.trim().is_empty() {
        "none".into()
    } else {
        clean
    }
}
