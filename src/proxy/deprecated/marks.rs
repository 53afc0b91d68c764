//! Step 6 of the envelope ([`super::envelope`]): the deprecation headers a reply gets.

use super::Marks;
use crate::proxy::app::App;
use crate::rules::Matched;
use http::HeaderMap;

/// How the reply is to be marked.
pub(super) struct MarkAs {
    pub refused_by_lifecycle: bool,
    pub unmarked: bool,
    pub gone: bool,
}

/// Step 6: the rule's `Deprecation` / `Link` / `Sunset` marks on the reply, errors included: the
/// seed route's configured headers, the rule's own, or its gone band's for R4/R5 on 8.x.
/// A lifecycle refusal always carries the rule's marks (its successor `Link`).
pub(super) fn mark(
    app: &App,
    matched: &Matched<'_>,
    marks: Marks,
    how: MarkAs,
    successor: Option<String>,
    headers: &mut HeaderMap,
) {
    let rule = matched.rule;
    match marks {
        Marks::Seed => app
            .config
            .shim
            .headers
            .apply(headers, matched.params.int("uid")),
        Marks::Rule if how.refused_by_lifecycle => {
            rule.marks
                .apply(headers, matched.successor_path().as_deref());
        }
        Marks::Rule if how.unmarked => {}
        Marks::Rule => match (&rule.gone_band, how.gone) {
            (Some(band), true) => {
                let successor = band.successor.render(&matched.params);
                band.marks.apply(headers, successor.as_deref());
            }
            _ => rule.marks.apply(
                headers,
                successor.or_else(|| matched.successor_path()).as_deref(),
            ),
        },
    }
}
