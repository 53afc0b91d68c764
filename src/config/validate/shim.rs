//! `[shim]` validated: the translation's mode, wait, bounds on bodies and concurrent calls, and
//! the deprecation headers of the module-upgrade route. Each check names its key.

use super::*;

pub(super) fn shim(raw: RawShim) -> Result<Shim, ConfigError> {
    let mode = match raw.mode.as_deref().unwrap_or("wait") {
        "wait" => ShimMode::Wait,
        "accept" => ShimMode::Accept,
        other => {
            return Err(ConfigError::new(
                "shim.mode",
                format!("\"{other}\" is not one of \"wait\", \"accept\""),
            ))
        }
    };
    use crate::rules::module_upgrade::translate::Prevalidate;
    let prevalidate = match raw.prevalidate.as_deref().unwrap_or("enforce") {
        "enforce" => Prevalidate::Enforce,
        "warn" => Prevalidate::Warn,
        "off" => Prevalidate::Off,
        other => {
            return Err(ConfigError::new(
                "shim.prevalidate",
                format!("\"{other}\" is not one of \"enforce\", \"warn\", \"off\""),
            ))
        }
    };
    let deprecation = match raw.deprecation_date {
        Some(s) => parse_date("shim.deprecation_date", &s)?,
        None => SystemTime::UNIX_EPOCH + Duration::from_secs(DEFAULT_DEPRECATION_EPOCH),
    };
    let sunset = raw
        .sunset_date
        .filter(|s| !s.is_empty())
        .map(|s| parse_date("shim.sunset_date", &s))
        .transpose()?;
    if sunset.is_some_and(|s| s < deprecation) {
        return Err(ConfigError::new("shim.sunset_date", "is earlier than shim.deprecation_date; a route cannot sunset before it is deprecated (RFC 8594 §3)"));
    }
    let docs_url = raw.docs_url.unwrap_or_else(|| DEFAULT_DOCS_URL.into());
    let headers =
        crate::rules::deprecation_headers::DeprecationHeaders::new(deprecation, sunset, &docs_url)
            .map_err(|e| {
                let key = if e.starts_with("sunset") {
                    "shim.sunset_date"
                } else if e.starts_with("deprecation") {
                    "shim.deprecation_date"
                } else {
                    "shim.docs_url"
                };
                ConfigError::new(key, e)
            })?;
    let poll_interval = opt_duration(
        "shim.poll_interval",
        raw.poll_interval,
        Duration::from_secs(1),
    )?;
    if poll_interval.is_zero() {
        return Err(ConfigError::new(
            "shim.poll_interval",
            "must be greater than 0",
        ));
    }
    let wait_deadline = opt_duration(
        "shim.wait_deadline",
        raw.wait_deadline,
        Duration::from_secs(600),
    )?;
    let max_body_size = opt_size("shim.max_body_size", raw.max_body_size, 1024 * 1024)?;
    let max_buffered_bodies = opt_size(
        "shim.max_buffered_bodies",
        raw.max_buffered_bodies,
        DEFAULT_MAX_BUFFERED_BODIES,
    )?;
    if max_buffered_bodies < max_body_size {
        return Err(ConfigError::new(
            "shim.max_buffered_bodies",
            format!("must be at least shim.max_body_size ({max_body_size} bytes), or no body of the largest size could ever be read"),
        ));
    }
    let max_concurrent_calls = raw
        .max_concurrent_calls
        .unwrap_or(DEFAULT_MAX_CONCURRENT_CALLS);
    if max_concurrent_calls == 0 {
        return Err(ConfigError::new(
            "shim.max_concurrent_calls",
            "must be at least 1",
        ));
    }
    let max_unverified_calls_per_ip = raw
        .max_unverified_calls_per_ip
        .unwrap_or(crate::config::DEFAULT_MAX_UNVERIFIED_CALLS_PER_IP);
    if max_unverified_calls_per_ip == 0 {
        return Err(ConfigError::new(
            "shim.max_unverified_calls_per_ip",
            "must be at least 1",
        ));
    }
    Ok(Shim {
        mode,
        prevalidate,
        poll_interval,
        wait_deadline,
        max_body_size,
        translate_sibling: raw.translate_sibling.unwrap_or(false),
        max_buffered_bodies,
        max_concurrent_calls,
        max_unverified_calls_per_ip,
        // The longest wait, plus a minute for the look-ups before it and the read after it.
        shutdown_grace: opt_duration(
            "shim.shutdown_grace",
            raw.shutdown_grace,
            wait_deadline + Duration::from_secs(60),
        )?,
        headers,
        deprecation,
        sunset,
        docs_url,
    })
}
