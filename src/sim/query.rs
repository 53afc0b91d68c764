//! Query parameters of the simulator's statistics and log routes (`?interval=1hour&stime=…`)
//! and the ISO 8601 / RFC 3339 times they carry. Pure.
//!
//! Decisions:
//! - `%XX` and `+` are decoded; a parameter given twice: the first wins; names are
//!   case-sensitive; an empty value counts as absent.
//! - Times are read loosely: `YYYY-MM-DDTHH:MM:SS` with optional fraction and `Z` (a space
//!   for the `T` too), or a date alone (midnight UTC); no other offset. Anything else is
//!   400 `invalid_time` naming the parameter (our code: RS documents none). Times are whole
//!   Unix seconds, written back as `2015-05-27T12:00:00Z` (the docs' format).
//! - The simulated clock is fixed at [`SIM_NOW`], 2025-06-01T12:00:00Z: replies that depend
//!   on "now" (the latest statistics interval, the event log's window) are the same on every
//!   run, so a native reply and a proxied one can be compared byte for byte.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::ApiError;

/// The simulated "now": 2025-06-01T12:00:00Z, in Unix seconds.
pub const SIM_NOW: u64 = 1_748_779_200;

/// The decoded value of `name`, if present and not empty.
pub fn param(query: Option<&str>, name: &str) -> Option<String> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| decode(k) == name)
        .map(|(_, v)| decode(v))
        .filter(|v| !v.is_empty())
}

/// The time in `name`, in Unix seconds; 400 `invalid_time` when it does not parse.
pub fn time(query: Option<&str>, name: &str) -> Result<Option<u64>, ApiError> {
    let Some(raw) = param(query, name) else {
        return Ok(None);
    };
    parse_time(&raw).map(Some).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_time",
            format!("{name} must be an ISO 8601 time such as 2015-05-27T12:00:00Z"),
        )
        .with("field", name)
    })
}

/// `2015-05-27T12:00:00Z` (also without `Z`, with a fraction, or a date alone) → Unix seconds.
pub fn parse_time(raw: &str) -> Option<u64> {
    let raw = raw.trim();
    let full = if raw.len() == 10 {
        format!("{raw}T00:00:00Z")
    } else {
        raw.to_owned()
    };
    let t = humantime::parse_rfc3339_weak(&full).ok()?;
    t.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}

/// The last second humantime can print (9999-12-31T23:59:59Z).
const MAX_SECS: u64 = 253_402_300_799;

/// Unix seconds → `2015-05-27T12:00:00Z` (at most 9999-12-31T23:59:59Z).
pub fn format_time(secs: u64) -> String {
    let t: SystemTime = UNIX_EPOCH + Duration::from_secs(secs.min(MAX_SECS));
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Percent-decoding of a query component (`+` is a space); bytes that do not form UTF-8 are
/// replaced.
fn decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_decoded_and_the_first_wins() {
        let q = Some("interval=1hour&stime=2014-08-28T10%3A00%3A00Z&interval=1sec&x&e=");
        assert_eq!(param(q, "interval").as_deref(), Some("1hour"));
        assert_eq!(param(q, "stime").as_deref(), Some("2014-08-28T10:00:00Z"));
        assert_eq!(param(q, "x"), None);
        assert_eq!(param(q, "e"), None);
        assert_eq!(param(None, "interval"), None);
        assert_eq!(decode("a+b%2"), "a b%2");
        assert_eq!(decode("%zz%41"), "%zzA");
    }

    #[test]
    fn times_read_loosely_and_print_as_the_docs_do() {
        assert_eq!(parse_time("2025-06-01T12:00:00Z"), Some(SIM_NOW));
        assert_eq!(parse_time("2025-06-01T12:00:00"), Some(SIM_NOW));
        assert_eq!(parse_time("2025-06-01 12:00:00.250Z"), Some(SIM_NOW));
        assert_eq!(parse_time("2025-06-01"), Some(SIM_NOW - 12 * 3600));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(format_time(SIM_NOW), "2025-06-01T12:00:00Z");
        assert_eq!(format_time(u64::MAX), "9999-12-31T23:59:59Z");
        let e = time(Some("etime=soon"), "etime").expect_err("400");
        assert_eq!(
            (e.status.as_u16(), e.error_code.as_str()),
            (400, "invalid_time")
        );
    }
}
