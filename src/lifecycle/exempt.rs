//! Exemptions: callers granted more time, by verified user, User-Agent pattern or client
//! network, each until an optional expiry.
//!
//! Decisions:
//! - An exemption applies while `now < expires` (the expiry instant itself is no longer
//!   exempt, like a window's end).
//! - Users match exactly (case-sensitive), and only a *verified* user name counts: an
//!   unverified Basic-auth name is the caller's claim, not an identity.
//! - User-Agent patterns are globs where `*` matches any run of characters (empty too) and every
//!   other character matches itself, ASCII case-insensitively, over the whole value:
//!   `rmadm/*` matches `rmadm/1.4` but not `my-rmadm/1.4`. Matching is linear in the header
//!   (each literal piece is found left-most, which is optimal for `*`-only globs).
//! - A client address matches a CIDR; an IPv4-mapped IPv6 address (`::ffff:10.1.2.3`, as a
//!   dual-stack listener reports IPv4 peers) is compared as the IPv4 address it carries.

use super::calendar::rfc3339;
use ipnet::IpNet;
use std::fmt;
use std::net::IpAddr;
use std::time::SystemTime;

/// Longest User-Agent pattern accepted (config-controlled; keeps a match cheap).
pub const MAX_PATTERN_LEN: usize = 256;

/// Who a call comes from, as far as the request path knows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caller<'a> {
    /// The user name the cluster (or the shim) has verified; `None` when unverified.
    pub verified_user: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub client_ip: Option<IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    User(String),
    UserAgent(Glob),
    Client(IpNet),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exemption {
    pub grant: Grant,
    /// First instant at which the exemption no longer applies.
    pub expires: Option<SystemTime>,
}

impl Exemption {
    pub fn applies(&self, now: SystemTime, caller: &Caller<'_>) -> bool {
        if self.expires.is_some_and(|e| now >= e) {
            return false;
        }
        match &self.grant {
            Grant::User(u) => caller.verified_user == Some(u.as_str()),
            Grant::UserAgent(g) => caller.user_agent.is_some_and(|ua| g.matches(ua)),
            Grant::Client(net) => caller
                .client_ip
                .is_some_and(|ip| net.contains(&canonical(ip))),
        }
    }
}

/// `user "alice"`, `user_agent "rmadm/*"`, `client 10.0.0.0/8`, then ` until <RFC 3339>`: the
/// text an audit record and a log line carry.
impl fmt::Display for Exemption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.grant {
            Grant::User(u) => write!(f, "user {u:?}")?,
            Grant::UserAgent(g) => write!(f, "user_agent {:?}", g.as_str())?,
            Grant::Client(n) => write!(f, "client {n}")?,
        }
        if let Some(e) = self.expires {
            write!(f, " until {}", rfc3339(e))?;
        }
        Ok(())
    }
}

/// The first exemption in `list` that lets `caller` through at `now`.
pub fn find<'l>(
    list: &'l [Exemption],
    now: SystemTime,
    caller: &Caller<'_>,
) -> Option<&'l Exemption> {
    list.iter().find(|e| e.applies(now, caller))
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// A `*`-only glob, matched ASCII case-insensitively over the whole string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: String,
    lower: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlobError {
    Empty,
    TooLong,
}

impl fmt::Display for GlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GlobError::Empty => write!(f, "the pattern is empty"),
            GlobError::TooLong => write!(f, "the pattern is longer than {MAX_PATTERN_LEN} bytes"),
        }
    }
}

impl Glob {
    pub fn new(pattern: &str) -> Result<Glob, GlobError> {
        if pattern.is_empty() {
            return Err(GlobError::Empty);
        }
        if pattern.len() > MAX_PATTERN_LEN {
            return Err(GlobError::TooLong);
        }
        Ok(Glob {
            pattern: pattern.to_owned(),
            lower: pattern.to_ascii_lowercase(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    pub fn matches(&self, s: &str) -> bool {
        let s = s.to_ascii_lowercase();
        let mut pieces = self.lower.split('*');
        let first = pieces.next().unwrap_or("");
        let Some(mut rest) = s.strip_prefix(first) else {
            return false;
        };
        let mut middle: Vec<&str> = pieces.collect();
        // No `*` at all: the pattern is a literal and must be the whole value.
        let Some(last) = middle.pop() else {
            return rest.is_empty();
        };
        for piece in middle {
            match rest.find(piece) {
                Some(i) => rest = &rest[i + piece.len()..],
                None => return false,
            }
        }
        rest.len() >= last.len() && rest.ends_with(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn glob(p: &str) -> Glob {
        Glob::new(p).unwrap()
    }

    #[test]
    fn globs_match_the_whole_value_with_star_as_any_run() {
        assert!(glob("rmadm/*").matches("rmadm/1.4.2"));
        assert!(glob("rmadm/*").matches("RMADM/"));
        assert!(!glob("rmadm/*").matches("my-rmadm/1.4"));
        assert!(glob("*python-requests*").matches("redis-enterprise python-requests/2.31"));
        assert!(glob("curl/*").matches("curl/8.5.0"));
        assert!(!glob("curl/8").matches("curl/8.5.0"));
        assert!(glob("curl/8.5.0").matches("Curl/8.5.0"));
        assert!(glob("a*b*a").matches("aba"));
        assert!(!glob("a*b*a").matches("ab"));
        assert!(glob("*").matches(""));
        assert!(glob("**x").matches("yx"));
        assert!(
            !glob("ab*ba").matches("aba"),
            "prefix and suffix may not share characters"
        );
        assert_eq!(Glob::new(""), Err(GlobError::Empty));
        assert_eq!(
            Glob::new(&"*".repeat(MAX_PATTERN_LEN + 1)),
            Err(GlobError::TooLong)
        );
    }

    #[test]
    fn each_kind_of_exemption_matches_its_caller_field_only() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let user = Exemption {
            grant: Grant::User("ops".into()),
            expires: None,
        };
        let ua = Exemption {
            grant: Grant::UserAgent(glob("rmadm/*")),
            expires: None,
        };
        let net = Exemption {
            grant: Grant::Client("10.1.0.0/16".parse().unwrap()),
            expires: None,
        };
        let anyone = Caller::default();
        assert!(
            !user.applies(now, &anyone) && !ua.applies(now, &anyone) && !net.applies(now, &anyone)
        );
        assert!(user.applies(
            now,
            &Caller {
                verified_user: Some("ops"),
                ..anyone
            }
        ));
        assert!(!user.applies(
            now,
            &Caller {
                verified_user: Some("Ops"),
                ..anyone
            }
        ));
        assert!(ua.applies(
            now,
            &Caller {
                user_agent: Some("rmadm/2"),
                ..anyone
            }
        ));
        let ip = |s: &str| Caller {
            client_ip: Some(s.parse().unwrap()),
            ..anyone
        };
        assert!(net.applies(now, &ip("10.1.200.3")));
        assert!(
            net.applies(now, &ip("::ffff:10.1.200.3")),
            "IPv4-mapped IPv6 counts as IPv4"
        );
        assert!(!net.applies(now, &ip("10.2.0.1")));
        let v6 = Exemption {
            grant: Grant::Client("2001:db8::/32".parse().unwrap()),
            expires: None,
        };
        assert!(v6.applies(now, &ip("2001:db8::7")));
    }

    #[test]
    fn an_exemption_ends_at_its_expiry_instant() {
        let expires = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let e = Exemption {
            grant: Grant::User("ops".into()),
            expires: Some(expires),
        };
        let ops = Caller {
            verified_user: Some("ops"),
            ..Caller::default()
        };
        assert!(e.applies(expires - Duration::from_nanos(1), &ops));
        assert!(!e.applies(expires, &ops));
        assert_eq!(e.to_string(), "user \"ops\" until 2027-01-15T08:00:00Z");
        assert_eq!(find(std::slice::from_ref(&e), expires, &ops), None);
    }
}
