//! The request target in one spelling (issue 20 item 8): the path is normalised once, before the
//! rule table reads it, and the request is forwarded in that same form, so the shim and the
//! cluster read the same path. Pure: strings in, strings out.
//!
//! Decisions:
//! - [`normalise`] does three things to the path, and nothing to the query:
//!   - decodes percent-encoded *unreserved* characters (RFC 3986 §2.3: ALPHA, DIGIT, `-`, `.`,
//!     `_`, `~`; hex digits in either case), which §6.2.2.2 says never changes what a URI means.
//!     Every other `%XX` is left exactly as sent (its hex case too), and so is a malformed `%`,
//!     unless a decoded digit would complete it into an escape that was not sent (`%%36%31`
//!     would become `%61`, which a cluster decoding once reads as `a`): that path is
//!     [`Ambiguous`] and the caller refuses it;
//!   - removes dot segments (§5.2.4), after the decoding, so `%2e`/`%2E` count as dots;
//!   - collapses runs of `/` into one, before the dots are resolved, as nginx's default
//!     `merge_slashes` does (`/a//../b` is `/b`). RFC 3986 does not make `//` equivalent to
//!     `/`, but common front ends (nginx by default) treat them alike, and a rule must not be
//!     skipped by a spelling the cluster may read as the rule's path.
//!
//!   A trailing slash stays (one), and a path ending in a dot segment keeps the slash §5.2.4
//!   gives it (`/a/b/..` is `/a/`). A target that is not a path (`*`, authority-form) is left
//!   alone.
//! - What cannot be normalised safely is not rewritten but refused, by the caller, when it would
//!   otherwise spell a rule's path: [`suspicious`] says whether a target that matched no rule may
//!   still spell one in a reading some server would take (a `;` path parameter, a letter of
//!   another case, an encoded or literal slash or backslash, a lower-case method); [`lenient`]
//!   gives those readings, for a case-insensitive match. Both run only after the ordinary match
//!   found nothing, and only on a suspicious target, so an ordinary request pays one scan of its
//!   path and allocates nothing.
//! - Linear time: one scan when the path is already normal (the common case, returned
//!   borrowed); otherwise one pass writing the result, where `..` removes the last segment
//!   written (each byte is written and removed at most once).

use super::matcher::split_query;
use std::borrow::Cow;

/// A path whose decoding would create a percent-escape that was not sent (see the module's
/// decisions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ambiguous;

impl std::fmt::Display for Ambiguous {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "the request target's path has a malformed percent-escape next to an encoded character",
        )
    }
}

/// `path_and_query` with its path [`normalise`]d and its query as sent; borrowed when the path
/// is already normal.
pub fn normalise_target(path_and_query: &str) -> Result<Cow<'_, str>, Ambiguous> {
    let (path, query) = split_query(path_and_query);
    Ok(match normalise(path)? {
        Cow::Borrowed(_) => Cow::Borrowed(path_and_query),
        Cow::Owned(mut normal) => {
            if let Some(query) = query {
                normal.reserve_exact(query.len() + 1);
                normal.push('?');
                normal.push_str(query);
            }
            Cow::Owned(normal)
        }
    })
}

/// The path (no query) with unreserved characters decoded, runs of `/` collapsed and dot
/// segments removed; see the module's decisions.
pub fn normalise(path: &str) -> Result<Cow<'_, str>, Ambiguous> {
    if !path.starts_with('/') || is_normal(path.as_bytes()) {
        return Ok(Cow::Borrowed(path));
    }
    let mut out = String::with_capacity(path.len());
    let mut segments = path[1..].split('/').peekable();
    let mut trailing_slash = false;
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        let start = out.len();
        out.push('/');
        push_decoded(&mut out, segment)?;
        match &out[start + 1..] {
            "" | "." => {
                out.truncate(start);
                trailing_slash = last;
            }
            ".." => {
                out.truncate(start);
                let parent = out.rfind('/').unwrap_or(0);
                out.truncate(parent);
                trailing_slash = last;
            }
            _ => trailing_slash = false,
        }
    }
    if out.is_empty() || trailing_slash {
        out.push('/');
    }
    Ok(Cow::Owned(out))
}

/// Whether a target that matched no rule as normalised could still spell one in another
/// server's reading: `method` has a lower-case letter (RFC 9110 §9.1: methods are
/// case-sensitive, and every method a rule names is upper-case), or `path` has a `;`, a `\`,
/// an encoded `/` or `\` (`%2F`, `%5C`), or an upper-case letter outside a `%XX` escape.
/// One scan, no allocation.
pub fn suspicious(method: &str, path: &str) -> bool {
    if method.bytes().any(|b| b.is_ascii_lowercase()) {
        return true;
    }
    let b = path.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b';' | b'\\' | b'A'..=b'Z' => return true,
            b'%' => match hex2(b, i + 1) {
                Some(b'/' | b'\\') => return true,
                Some(_) => i += 2,
                None => {}
            },
            _ => {}
        }
        i += 1;
    }
    false
}

/// The readings of a suspicious `path` that a lenient server might take, [`normalise`]d: `\`,
/// `%2F` and `%5C` read as `/`, and every segment's `;` parameters dropped, once with the
/// slashes decoded first and once with the parameters dropped first (the order differs between
/// servers). Matched case-insensitively by the caller; a reading that cannot be normalised is
/// left out.
pub fn lenient(path: &str) -> impl Iterator<Item = String> {
    let slashes_first = strip_params(&decode_slashes(path));
    let params_first = decode_slashes(&strip_params(path));
    [slashes_first, params_first]
        .into_iter()
        .filter_map(|p| Some(normalise(&p).ok()?.into_owned()))
}

/// `path` with `\`, `%2F` and `%5C` (either case) as `/`.
fn decode_slashes(path: &str) -> String {
    let b = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut last = 0;
    let mut i = 0;
    while i < b.len() {
        let skip = match b[i] {
            b'\\' => 1,
            b'%' if matches!(hex2(b, i + 1), Some(b'/' | b'\\')) => 3,
            _ => 0,
        };
        if skip == 0 {
            i += 1;
            continue;
        }
        out.push_str(&path[last..i]);
        out.push('/');
        i += skip;
        last = i;
    }
    out.push_str(&path[last..]);
    out
}

/// `path` without the `;…` part of each segment.
fn strip_params(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(segment.split(';').next().unwrap_or_default());
    }
    out
}

/// One scan: no empty segment after the first `/`, no `.` or `..` segment, no encoded
/// unreserved character.
fn is_normal(b: &[u8]) -> bool {
    let mut segment_start = 1;
    for i in 1..b.len() {
        match b[i] {
            b'/' => {
                if is_dot_or_empty(&b[segment_start..i]) {
                    return false;
                }
                segment_start = i + 1;
            }
            b'%' if hex2(b, i + 1).is_some_and(is_unreserved) => return false,
            _ => {}
        }
    }
    // The last segment may be empty: one trailing slash is normal.
    !matches!(&b[segment_start.min(b.len())..], b"." | b"..")
}

fn is_dot_or_empty(segment: &[u8]) -> bool {
    matches!(segment, b"" | b"." | b"..")
}

/// Appends `segment` with its encoded unreserved characters decoded; [`Ambiguous`] when a
/// decoded hex digit would follow a `%` or a `%` and one hex digit.
fn push_decoded(out: &mut String, segment: &str) -> Result<(), Ambiguous> {
    let b = segment.as_bytes();
    let mut last = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let Some(c) = hex2(b, i + 1).filter(|&c| is_unreserved(c)) {
                // `%` and the hex digits are ASCII: `last` and `i` are char boundaries.
                out.push_str(&segment[last..i]);
                if c.is_ascii_hexdigit() && completes_escape(out.as_bytes()) {
                    return Err(Ambiguous);
                }
                out.push(char::from(c));
                i += 3;
                last = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&segment[last..]);
    Ok(())
}

/// Whether a hex digit appended to `out` would end it in a `%XX` escape.
fn completes_escape(out: &[u8]) -> bool {
    match out {
        [.., b'%'] => true,
        [.., b'%', h] => h.is_ascii_hexdigit(),
        _ => false,
    }
}

/// The byte two hex digits at `b[at..at + 2]` encode.
fn hex2(b: &[u8], at: usize) -> Option<u8> {
    let digit = |i: usize| char::from(*b.get(i)?).to_digit(16);
    let (hi, lo) = (digit(at)?, digit(at + 1)?);
    u8::try_from(hi * 16 + lo).ok()
}

/// RFC 3986 §2.3.
fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

#[cfg(test)]
#[path = "target_tests.rs"]
mod tests;
