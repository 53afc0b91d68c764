//! `[audit]` validated: the file's path, `fsync`, what a failed write does, whose forwarded
//! address is trusted, and the file's mode. Each check names its key.

use super::*;

pub(super) fn audit(raw: RawAudit) -> Result<Audit, ConfigError> {
    let (trust_forwarded_for, trusted_proxies) = forwarded_trust(&raw)?;
    Ok(Audit {
        path: raw.path.filter(|s| !s.is_empty()).map(PathBuf::from),
        fsync: raw.fsync.unwrap_or(false),
        on_write_failure: match raw.on_write_failure.as_deref().unwrap_or("fail") {
            "fail" => AuditFailure::Fail,
            "continue" => AuditFailure::Continue,
            other => {
                return Err(ConfigError::new(
                    "audit.on_write_failure",
                    format!("\"{other}\" is not one of \"fail\", \"continue\""),
                ))
            }
        },
        trust_forwarded_for,
        trusted_proxies,
        file_mode: match raw.file_mode.as_deref() {
            None => DEFAULT_AUDIT_FILE_MODE,
            Some(s) => file_mode(s).map_err(|p| ConfigError::new("audit.file_mode", p))?,
        },
    })
}

/// `trusted_proxies` implies `trust_forwarded_for`; saying both "these proxies" and "trust no
/// header" is a contradiction, refused rather than guessed.
fn forwarded_trust(raw: &RawAudit) -> Result<(bool, crate::cidr::CidrList), ConfigError> {
    let proxies = crate::cidr::CidrList::parse(raw.trusted_proxies.as_deref().unwrap_or(&[]))
        .map_err(|p| ConfigError::new("audit.trusted_proxies", p))?;
    match raw.trust_forwarded_for {
        Some(false) if !proxies.is_empty() => Err(ConfigError::new(
            "audit.trusted_proxies",
            "is set while audit.trust_forwarded_for = false; remove one of them",
        )),
        trust => Ok((trust.unwrap_or(false) || !proxies.is_empty(), proxies)),
    }
}

/// An octal mode such as "0600" or "640": read/write bits only, never world-writable.
fn file_mode(s: &str) -> Result<u32, String> {
    let mode = u32::from_str_radix(s.trim().trim_start_matches("0o"), 8)
        .map_err(|_| format!("\"{s}\" is not an octal mode such as \"0600\""))?;
    if mode & !0o666 != 0 || mode & 0o002 != 0 || mode & 0o600 != 0o600 {
        return Err(format!(
            "\"{s}\": the audit file needs owner read/write (0600), may add group/other read \
             (0640, 0644), and takes no execute or world-write bit"
        ));
    }
    Ok(mode)
}
