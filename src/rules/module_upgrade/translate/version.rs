//! Numeric comparison of dotted versions (`"7.2" < "7.2.4" < "7.10"`), as RS writes them for
//! Redis, Redis Software and module semantic versions.

use std::cmp::Ordering;

/// Compares two dotted versions component by component, numerically; missing trailing components
/// count as 0 (`"7.2" == "7.2.0"`). A build suffix after `-` or `+` is ignored
/// (`"7.8.2-34"` is 7.8.2). `None` when either side is not a dotted list of decimal numbers: the
/// caller then skips its check rather than guess, and the cluster judges.
pub fn compare_versions(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (parse(a)?, parse(b)?);
    let len = a.len().max(b.len());
    let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
    Some(
        (0..len)
            .map(|i| at(&a, i).cmp(&at(&b, i)))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal),
    )
}

/// True when `a` is known to be strictly lower than `b`.
pub(crate) fn is_lower(a: &str, b: &str) -> bool {
    compare_versions(a, b) == Some(Ordering::Less)
}

fn parse(version: &str) -> Option<Vec<u64>> {
    let core = version.trim().split(['-', '+']).next()?;
    core.split('.')
        .map(|part| {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::{Equal, Greater, Less};

    #[test]
    fn numeric_not_lexical_order() {
        assert_eq!(compare_versions("7.2", "7.2.4"), Some(Less));
        assert_eq!(compare_versions("7.2.4", "7.10"), Some(Less));
        assert_eq!(compare_versions("7.10", "7.9.99"), Some(Greater));
        assert_eq!(compare_versions("2.10.0", "2.9.1"), Some(Greater));
        assert_eq!(compare_versions("10", "9.9"), Some(Greater));
    }

    #[test]
    fn missing_components_are_zero() {
        assert_eq!(compare_versions("7.2", "7.2.0"), Some(Equal));
        assert_eq!(compare_versions("7", "7.0.0.0"), Some(Equal));
        assert_eq!(compare_versions(" 7.4 ", "7.4"), Some(Equal));
    }

    #[test]
    fn build_suffix_is_ignored() {
        assert_eq!(compare_versions("7.8.2-34", "7.8.2"), Some(Equal));
        assert_eq!(compare_versions("7.8.2-34", "7.8.3"), Some(Less));
        assert_eq!(compare_versions("7.4.2-54", "7.4.6-1"), Some(Less));
        assert_eq!(compare_versions("2.6.17+build", "2.6.17"), Some(Equal));
    }

    #[test]
    fn garbage_is_incomparable() {
        for bad in [
            "",
            "x",
            "7..2",
            "7.2.",
            ".7",
            "v7.2",
            "7.-2",
            "7.+2",
            "99999999999999999999",
        ] {
            assert_eq!(compare_versions(bad, "7.2"), None, "{bad:?}");
            assert_eq!(compare_versions("7.2", bad), None, "{bad:?}");
        }
        assert!(!is_lower("x", "7.2"));
        assert!(is_lower("7.2", "7.4"));
        assert!(!is_lower("7.4", "7.4"));
    }
}
