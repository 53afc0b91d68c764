//! `[lifecycle.<rule>]`: the migration lifecycle of each rule, raw (as written in TOML) and
//! validated into [`crate::lifecycle::Lifecycle`]. Errors name the key
//! (`lifecycle.module_upgrade.brownouts[1].start`).
//!
//! Decisions:
//! - A Sunset before the Deprecation is refused (RFC 9745 §4: the Sunset "MUST NOT be earlier").
//! - A brownout starting before the Deprecation date is refused: a route cannot be rehearsed
//!   for retirement before it is even deprecated.
//! - A brownout before the Sunset is allowed, as the staged retirement issue 13 asks for, but
//!   it does change the behaviour of a merely deprecated route, which RFC 9745 §5 (Resource
//!   Behavior) says deprecation alone must not do: each such brownout yields one warning string
//!   in [`Lifecycles::warnings`], which the caller logs once at WARN (at start and on reload).
//! - `enforce` defaults to `false` (dry run): a schedule is rehearsed in the audit trail and
//!   the metrics before any call is refused; `enforce = true` is an explicit decision.
//! - `after_sunset` defaults to `gone`, `answer` to `410`, `warn_before_sunset` to 30 days.
//! - Rule names are `[a-z0-9_]+`; whether a name is a known rule is checked by the caller, which
//!   owns the rule table.

use super::validate::{parse_date, parse_duration};
use super::ConfigError;
use crate::lifecycle::window::{Brownout, MAX_WINDOWS};
use crate::lifecycle::{
    calendar::rfc3339, exempt::Glob, AfterSunset, Answer, Exemption, Grant, Lifecycle, Plan,
    Weekday,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// Most brownout entries and exemptions one rule may list.
pub const MAX_ENTRIES: usize = 1_000;
const DEFAULT_WARN_BEFORE_SUNSET: Duration = Duration::from_secs(30 * 86_400);
const WEEK: Duration = Duration::from_secs(7 * 86_400);

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLifecycle {
    pub deprecation_date: Option<String>,
    pub sunset_date: Option<String>,
    pub after_sunset: Option<String>,
    pub answer: Option<u16>,
    pub enforce: Option<bool>,
    pub warn_before_sunset: Option<String>,
    #[serde(default)]
    pub brownouts: Vec<RawBrownout>,
    #[serde(default)]
    pub exemptions: Vec<RawExemption>,
}

/// Either `start` + `duration`, or `weekday` + `time` + `duration` + `from` + `until`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBrownout {
    pub start: Option<String>,
    pub duration: Option<String>,
    pub weekday: Option<String>,
    pub time: Option<String>,
    pub from: Option<String>,
    pub until: Option<String>,
}

/// Exactly one of `user`, `user_agent`, `client`; `expires` optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExemption {
    pub user: Option<String>,
    pub user_agent: Option<String>,
    pub client: Option<String>,
    pub expires: Option<String>,
}

/// The dates a rule carries itself, used when its lifecycle leaves them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleDates {
    pub deprecation: SystemTime,
    pub sunset: Option<SystemTime>,
}

/// Every rule's lifecycle, and the warnings to log once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lifecycles {
    pub rules: BTreeMap<String, Lifecycle>,
    pub warnings: Vec<String>,
}

/// Validates every `[lifecycle.<rule>]`; `dates(rule)` supplies the rule's own dates, if any.
pub fn lifecycles(
    raw: BTreeMap<String, RawLifecycle>,
    dates: impl Fn(&str) -> Option<RuleDates>,
) -> Result<Lifecycles, ConfigError> {
    let mut out = Lifecycles::default();
    for (name, raw) in raw {
        let key = format!("lifecycle.{name}");
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(ConfigError::new(
                &key,
                "a rule name is lowercase letters, digits and '_' (e.g. module_upgrade)",
            ));
        }
        let lc = lifecycle(&key, raw, dates(&name), &mut out.warnings)?;
        out.rules.insert(name, lc);
    }
    Ok(out)
}

/// One rule's lifecycle under `key` (`lifecycle.<rule>`); warnings are appended to `warnings`.
pub fn lifecycle(
    key: &str,
    raw: RawLifecycle,
    inherited: Option<RuleDates>,
    warnings: &mut Vec<String>,
) -> Result<Lifecycle, ConfigError> {
    let k = |sub: &str| format!("{key}.{sub}");
    let deprecation = match (&raw.deprecation_date, inherited) {
        (Some(s), _) => parse_date(&k("deprecation_date"), s)?,
        (None, Some(d)) => d.deprecation,
        (None, None) => {
            return Err(ConfigError::new(
                &k("deprecation_date"),
                "required: the date the route was deprecated, e.g. \"2024-11-01\"",
            ))
        }
    };
    let sunset = match (&raw.sunset_date, inherited) {
        (Some(s), _) => Some(parse_date(&k("sunset_date"), s)?),
        (None, d) => d.and_then(|d| d.sunset),
    };
    if let Some(s) = sunset.filter(|s| *s < deprecation) {
        return Err(ConfigError::new(
            &k("sunset_date"),
            format!(
                "{} is before the deprecation_date {}; RFC 9745 §4: the Sunset must not be earlier than the Deprecation",
                rfc3339(s),
                rfc3339(deprecation)
            ),
        ));
    }
    let after_sunset = match raw.after_sunset.as_deref().unwrap_or("gone") {
        "gone" => AfterSunset::Gone,
        "keep" => AfterSunset::Keep,
        other => {
            return Err(ConfigError::new(
                &k("after_sunset"),
                format!("\"{other}\" is not one of \"gone\", \"keep\""),
            ))
        }
    };
    let answer = match raw.answer.unwrap_or(410) {
        410 => Answer::Gone,
        503 => Answer::Unavailable,
        other => {
            return Err(ConfigError::new(
                &k("answer"),
                format!("{other} is not one of 410, 503"),
            ))
        }
    };
    let warn_before_sunset = match &raw.warn_before_sunset {
        Some(s) => parse_duration(&k("warn_before_sunset"), s)?,
        None => DEFAULT_WARN_BEFORE_SUNSET,
    };
    for (list, len) in [
        ("brownouts", raw.brownouts.len()),
        ("exemptions", raw.exemptions.len()),
    ] {
        if len > MAX_ENTRIES {
            return Err(ConfigError::new(
                &k(list),
                format!("{len} entries; at most {MAX_ENTRIES}"),
            ));
        }
    }
    let mut brownouts = Vec::with_capacity(raw.brownouts.len());
    // Brownouts before the Sunset, by index, and the earliest start: one warning per rule.
    let mut early: (Vec<String>, Option<SystemTime>) = (Vec::new(), None);
    for (i, b) in raw.brownouts.into_iter().enumerate() {
        let bk = k(&format!("brownouts[{i}]"));
        let (b, first_key) = brownout(&bk, b)?;
        let Some(first) = b.first() else {
            return Err(ConfigError::new(
                &format!("{bk}.from"),
                "no occurrence of this weekday and time between from and until",
            ));
        };
        if first.start < deprecation {
            return Err(ConfigError::new(
                &format!("{bk}.{first_key}"),
                format!(
                    "a brownout at {} is before the deprecation_date {}: a route is not browned out before it is deprecated",
                    rfc3339(first.start),
                    rfc3339(deprecation)
                ),
            ));
        }
        match sunset {
            Some(s) if first.start >= s && after_sunset == AfterSunset::Gone => {
                warnings.push(format!(
                    "{bk}: never applies: the route is gone from its Sunset ({}) on",
                    rfc3339(s)
                ))
            }
            Some(s) if first.start >= s => {}
            _ => {
                early.0.push(format!("brownouts[{i}]"));
                early.1 = Some(early.1.map_or(first.start, |t| t.min(first.start)));
            }
        }
        brownouts.push(b);
    }
    if let Some(from) = early.1 {
        warnings.push(format!(
            "{key}: {} from {} change the behaviour of a route before its Sunset ({}); RFC 9745 §5 says deprecation alone must not change behaviour, so tell its callers the schedule",
            early.0.join(", "),
            rfc3339(from),
            sunset.map_or_else(|| "none set".to_owned(), rfc3339)
        ));
    }
    let mut exemptions = Vec::with_capacity(raw.exemptions.len());
    for (i, e) in raw.exemptions.into_iter().enumerate() {
        exemptions.push(exemption(&k(&format!("exemptions[{i}]")), e)?);
    }
    let plan = Plan {
        deprecation,
        sunset,
        brownouts,
        after_sunset,
        answer,
        enforce: raw.enforce.unwrap_or(false),
        warn_before_sunset,
        exemptions,
    };
    Lifecycle::new(plan).map_err(|e| {
        ConfigError::new(
            &k(&format!("brownouts[{}]", e.index)),
            format!("the brownouts expand to more than {MAX_WINDOWS} windows"),
        )
    })
}

/// The brownout and the sub-key its first window is reported under.
fn brownout(bk: &str, b: RawBrownout) -> Result<(Brownout, &'static str), ConfigError> {
    let k = |sub: &str| format!("{bk}.{sub}");
    let duration = match &b.duration {
        Some(s) => parse_duration(&k("duration"), s)?,
        None => return Err(ConfigError::new(&k("duration"), "required, e.g. \"15m\"")),
    };
    if duration.is_zero() {
        return Err(ConfigError::new(&k("duration"), "must be longer than 0"));
    }
    if let Some(start) = &b.start {
        if let Some(extra) = [
            ("weekday", &b.weekday),
            ("time", &b.time),
            ("from", &b.from),
            ("until", &b.until),
        ]
        .into_iter()
        .find_map(|(n, v)| v.as_ref().map(|_| n))
        {
            return Err(ConfigError::new(
                &k(extra),
                "not with start: a brownout is either start + duration or weekday + time + duration + from + until",
            ));
        }
        let start = parse_date(&k("start"), start)?;
        return Ok((Brownout::Once { start, duration }, "start"));
    }
    let need = |sub: &str, v: &Option<String>| {
        v.clone().ok_or_else(|| {
            ConfigError::new(
                &k(sub),
                "required: a brownout is either start + duration or weekday + time + duration + from + until",
            )
        })
    };
    let weekday = need("weekday", &b.weekday)?;
    let weekday = Weekday::parse(&weekday).ok_or_else(|| {
        ConfigError::new(
            &k("weekday"),
            format!("\"{weekday}\" is not a weekday like \"tuesday\" or \"tue\""),
        )
    })?;
    let time = need("time", &b.time)?;
    let time_of_day = time_of_day(&time).ok_or_else(|| {
        ConfigError::new(
            &k("time"),
            format!("\"{time}\" is not a UTC time like \"14:00\" or \"14:00:30\""),
        )
    })?;
    let from = parse_date(&k("from"), &need("from", &b.from)?)?;
    let until = parse_date(&k("until"), &need("until", &b.until)?)?;
    if until <= from {
        return Err(ConfigError::new(&k("until"), "must be after from"));
    }
    if duration >= WEEK {
        return Err(ConfigError::new(
            &k("duration"),
            "a weekly brownout must be shorter than a week",
        ));
    }
    Ok((
        Brownout::Weekly {
            weekday,
            time_of_day,
            duration,
            from,
            until,
        },
        "from",
    ))
}

/// `HH:MM` or `HH:MM:SS`, UTC.
fn time_of_day(s: &str) -> Option<Duration> {
    let parts: Vec<&str> = s.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2) {
        return None;
    }
    let n: Vec<u64> = parts
        .iter()
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let (h, m, sec) = (n[0], n[1], n.get(2).copied().unwrap_or(0));
    (h < 24 && m < 60 && sec < 60).then(|| Duration::from_secs(h * 3600 + m * 60 + sec))
}

fn exemption(ek: &str, e: RawExemption) -> Result<Exemption, ConfigError> {
    let k = |sub: &str| format!("{ek}.{sub}");
    let expires = e
        .expires
        .as_deref()
        .map(|s| parse_date(&k("expires"), s))
        .transpose()?;
    let grant = match (e.user, e.user_agent, e.client) {
        (Some(u), None, None) if !u.is_empty() => Grant::User(u),
        (None, Some(p), None) => Grant::UserAgent(
            Glob::new(&p).map_err(|err| ConfigError::new(&k("user_agent"), err.to_string()))?,
        ),
        (None, None, Some(c)) => Grant::Client(parse_cidr(&c).ok_or_else(|| {
            ConfigError::new(
                &k("client"),
                format!("\"{c}\" is not an address or CIDR like \"10.0.0.0/8\""),
            )
        })?),
        _ => {
            return Err(ConfigError::new(
                ek,
                "exactly one of user (non-empty), user_agent, client is required",
            ))
        }
    };
    Ok(Exemption { grant, expires })
}

/// `10.0.0.0/8`, `2001:db8::/32`, or a single address (as `/32` or `/128`).
fn parse_cidr(s: &str) -> Option<ipnet::IpNet> {
    s.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

#[cfg(test)]
mod tests;
