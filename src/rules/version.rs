//! Redis Software versions: parsing what the cluster reports, comparing numerically, and reading
//! it from the version look-ups (API-RULES §6, R11).
//!
//! Decisions:
//! - The accepted form is exactly `^(\d+)\.(\d+)\.(\d+)(?:-(\d+))?$` (§6, proposal): no spaces, no
//!   `v` prefix, no two-part `7.4`. Anything else, or a number that does not fit `u32`, is
//!   unknown (`None`), and an unknown version means pass-through (§1.1).
//! - Comparison is numeric, so 7.22 > 7.8 and 7.8.6-119 > 7.8.6-95 (a string compare gets both
//!   wrong). **Lower-bound gates** (`Gate::from`, [`Version::at_least`]) compare the triple only:
//!   7.8.2-34 and 7.8.2-1 sit in the same band (API-RULES §6, API-CATALOGUE §11).
//! - The build is kept when the cluster reports one (`7.8.6-95`); a version without one (the
//!   config's `rules.rs_version = "7.8.2"`) has an **unknown** build. The total order
//!   ([`Ord`], used to sort and to pick the lowest node) puts a missing build below every build:
//!   `7.8.2 < 7.8.2-0 < 7.8.2-34`, so `v >= Version::new(7, 8, 2)` is exactly
//!   `v.at_least(V7_8_2)`. **Build ranges** do not use that order for a build-less version: there
//!   membership can be "maybe" ([`super::build_range`], §11).
//! - With `version_source = "nodes-min"` the lowest node wins (a rolling upgrade is gated by its
//!   oldest node), by the total order, build included, so a build range sees the oldest build;
//!   one node with an unparsable version makes the whole answer unknown.

use serde_json::Value;
use std::cmp::Ordering;
use std::fmt;

/// A parsed RS version, `MAJOR.MINOR.PATCH[-BUILD]`.
///
/// The derived order is numeric, field by field (the fields' order matters): `None < Some(0)`
/// makes a missing build the lowest of its release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    /// The build number, `None` when not given. Lower-bound gates ignore it; build ranges read it.
    pub build: Option<u32>,
}

/// 7.2.0: `/v2/modules` is the successor (R4/R5 gate start; RS 7.2.4-52 deprecated `/v1/modules`).
pub const V7_2_0: Version = Version::new(7, 2, 0);
/// 7.2.4: `POST/DELETE /v1/modules` deprecated (§1.5).
pub const V7_2_4: Version = Version::new(7, 2, 4);
/// 7.4.2: `/v1/debuginfo/...` deprecated and its successors introduced (§5).
pub const V7_4_2: Version = Version::new(7, 4, 2);
/// 7.8.2: authorize reads the `Authorization` header only (§2); module-upgrade route deprecated.
pub const V7_8_2: Version = Version::new(7, 8, 2);
/// 7.22.2: `update_cert` deprecated, `PUT /v1/cluster/certificates` introduced (§3).
pub const V7_22_2: Version = Version::new(7, 22, 2);
/// 7.22.0: `optimize_shards_placement` and the v1 statistics routes deprecated
/// (API-CATALOGUE §5, §8).
pub const V7_22_0: Version = Version::new(7, 22, 0);
/// 8.0.0: `/v1/modules` and `/v2/modules` uploads left the docs (§4.8).
pub const V8_0_0: Version = Version::new(8, 0, 0);
/// 8.2.0: `old_password` ignored on password PUT/POST (API-CATALOGUE §3.1).
pub const V8_2_0: Version = Version::new(8, 2, 0);

impl Version {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Version {
            major,
            minor,
            patch,
            build: None,
        }
    }

    /// A full version, `MAJOR.MINOR.PATCH-BUILD`.
    pub const fn with_build(major: u32, minor: u32, patch: u32, build: u32) -> Self {
        Version {
            major,
            minor,
            patch,
            build: Some(build),
        }
    }

    /// The same release without its build.
    pub const fn release(self) -> Version {
        Version::new(self.major, self.minor, self.patch)
    }

    /// Parses `MAJOR.MINOR.PATCH[-BUILD]`; `None` (unknown) for anything else.
    pub fn parse(s: &str) -> Option<Version> {
        let (core, build) = match s.split_once('-') {
            Some((core, build)) => (core, Some(number(build)?)),
            None => (s, None),
        };
        let mut parts = core.split('.');
        let major = number(parts.next()?)?;
        let minor = number(parts.next()?)?;
        let patch = number(parts.next()?)?;
        if parts.next().is_some() {
            return None;
        }
        Some(Version {
            major,
            minor,
            patch,
            build,
        })
    }

    /// Orders by `MAJOR.MINOR.PATCH` only, as gates do.
    pub fn cmp_release(&self, other: &Version) -> Ordering {
        (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch))
    }

    /// `self >= other`, build ignored.
    pub fn at_least(&self, other: Version) -> bool {
        self.cmp_release(&other) != Ordering::Less
    }
}

fn number(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        match self.build {
            Some(b) => write!(f, "-{b}"),
            None => Ok(()),
        }
    }
}

/// Why the cluster's version is not known for a call (issue 20).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    /// The cluster could not say (unreachable, 5xx, no usable version): cached briefly for
    /// every caller.
    Cluster,
    /// This caller's look-up failed by its own doing (401/403, another 4xx, a malformed or
    /// oversized credential): never cached for others.
    Caller,
    /// Not asked: the call carries no credentials, or the rule only reads what is cached (R1).
    NotAsked,
}

/// What a rule's decision knew of the cluster's version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// The decision does not depend on it.
    NotNeeded,
    Known(Version),
    Unknown(Unknown),
}

impl Seen {
    /// The version, when known.
    pub fn version(self) -> Option<Version> {
        match self {
            Seen::Known(v) => Some(v),
            Seen::NotNeeded | Seen::Unknown(_) => None,
        }
    }

    /// The audit record's `cluster_version`: the version, `unknown`, or nothing.
    pub fn audit_text(self) -> Option<String> {
        match self {
            Seen::NotNeeded => None,
            Seen::Known(v) => Some(v.to_string()),
            Seen::Unknown(_) => Some("unknown".to_owned()),
        }
    }
}

/// Where the cluster's version is learned (config `rules.version_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VersionSource {
    /// `GET /v1/bootstrap`, `local_node_info.software_version`: one call, the answering node.
    #[default]
    Bootstrap,
    /// `GET /v1/nodes`, the lowest `software_version` of every node.
    NodesMin,
}

impl VersionSource {
    /// The look-up to send (a `GET`, with the caller's `Authorization`, §1.2).
    pub fn path(self) -> &'static str {
        match self {
            VersionSource::Bootstrap => "/v1/bootstrap",
            VersionSource::NodesMin => "/v1/nodes",
        }
    }

    /// Reads the version from the look-up's 200 body; `None` (unknown) when it is not there.
    pub fn read(self, body: &[u8]) -> Option<Version> {
        let value: Value = serde_json::from_slice(body).ok()?;
        match self {
            VersionSource::Bootstrap => from_bootstrap(&value),
            VersionSource::NodesMin => min_of_nodes(&value),
        }
    }
}

fn from_bootstrap(v: &Value) -> Option<Version> {
    Version::parse(
        v.get("local_node_info")?
            .get("software_version")?
            .as_str()?,
    )
}

fn min_of_nodes(v: &Value) -> Option<Version> {
    let mut lowest: Option<Version> = None;
    for node in v.as_array()? {
        let version = Version::parse(node.get("software_version")?.as_str()?)?;
        if lowest.is_none_or(|l| version < l) {
            lowest = Some(version);
        }
    }
    lowest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn release_builds_parse_with_their_build_number() {
        assert_eq!(
            v("7.22.2-14"),
            Version {
                major: 7,
                minor: 22,
                patch: 2,
                build: Some(14)
            }
        );
        assert_eq!(v("8.0.2"), Version::new(8, 0, 2));
        assert_eq!(v("7.4.6-22").to_string(), "7.4.6-22");
        assert_eq!(v("0.90.0-1").to_string(), "0.90.0-1");
    }

    #[test]
    fn seven_twenty_two_is_newer_than_seven_eight() {
        assert_eq!(v("7.22.0").cmp_release(&v("7.8.2")), Ordering::Greater);
        assert!(v("7.22.2-14").at_least(V7_8_2));
        assert!(!v("7.8.2-34").at_least(V7_22_2));
        assert!(v("7.10.0").at_least(v("7.9.99")));
        assert!(v("10.0.0").at_least(V8_0_0));
    }

    #[test]
    fn gates_ignore_the_build_number() {
        assert_eq!(v("7.8.2-34").cmp_release(&v("7.8.2-1")), Ordering::Equal);
        assert!(v("7.8.2-1").at_least(V7_8_2));
        assert!(!v("7.8.1-999").at_least(V7_8_2));
    }

    #[test]
    fn the_total_order_reads_the_build_and_puts_a_missing_build_lowest() {
        assert!(v("7.8.6-119") > v("7.8.6-95"));
        assert!(v("7.22.0-95") > v("7.8.6-303"));
        assert!(v("7.8.2") < v("7.8.2-0"));
        assert!(v("7.8.2-0") < v("7.8.2-34"));
        assert!(v("7.8.1-999") < v("7.8.2"));
        assert!(v("7.8.2-34") > v("7.8.1"));
        let mut sorted = [v("8.0.2-17"), v("7.8.6-95"), v("7.8.6"), v("7.8.6-119")];
        sorted.sort();
        let text: Vec<String> = sorted.iter().map(Version::to_string).collect();
        assert_eq!(text, ["7.8.6", "7.8.6-95", "7.8.6-119", "8.0.2-17"]);
    }

    #[test]
    fn a_lower_bound_gate_is_the_total_order_against_a_build_less_bound() {
        let bounds = [V7_2_0, V7_2_4, V7_4_2, V7_8_2, V7_22_2, V8_0_0];
        let seen = [
            "7.2.0",
            "7.2.4-52",
            "7.4.1-999",
            "7.4.2",
            "7.4.2-0",
            "7.8.1-1",
            "7.8.2-34",
            "7.22.1",
            "7.22.2-14",
            "8.0.0-1",
            "8.2.0-25",
        ];
        for bound in bounds {
            for s in seen {
                assert_eq!(v(s) >= bound, v(s).at_least(bound), "{s} vs {bound}");
            }
        }
    }

    #[test]
    fn with_build_and_release_round_trip() {
        assert_eq!(Version::with_build(7, 8, 6, 119), v("7.8.6-119"));
        assert_eq!(v("7.8.6-119").release(), v("7.8.6"));
        assert_eq!(Version::with_build(7, 8, 6, 0).to_string(), "7.8.6-0");
    }

    #[test]
    fn anything_else_is_unknown() {
        for bad in [
            "",
            "7",
            "7.4",
            "7.4.2.1",
            "v7.4.2",
            " 7.4.2",
            "7.4.2 ",
            "7.4.2-",
            "7.4.2-x",
            "7.4.2-1-2",
            "7..2",
            "7.4.-2",
            "7.4.+2",
            "7.4.2+5",
            "99999999999.0.0",
            "7.4.2-99999999999",
            "7.4.2--1",
            "-7.4.2",
            "7.4.2-1 ",
            "7.4.2-0x1",
            "seven",
        ] {
            assert_eq!(Version::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn bootstrap_reports_the_answering_nodes_version() {
        let body = br#"{"bootstrap_status":{"state":"completed"},
            "local_node_info":{"uid":2,"software_version":"7.22.2-14"}}"#;
        assert_eq!(VersionSource::Bootstrap.read(body), Some(v("7.22.2-14")));
        assert_eq!(VersionSource::Bootstrap.path(), "/v1/bootstrap");
        let unparsable = br#"{"local_node_info":{"software_version":"7.22"}}"#;
        assert_eq!(VersionSource::Bootstrap.read(unparsable), None);
        assert_eq!(VersionSource::Bootstrap.read(b"not json"), None);
        assert_eq!(VersionSource::Bootstrap.read(b"{}"), None);
    }

    #[test]
    fn nodes_min_takes_the_lowest_node_and_any_bad_node_is_unknown() {
        let body = br#"[{"uid":1,"software_version":"8.0.2-17"},
                        {"uid":2,"software_version":"7.22.2-14"},
                        {"uid":3,"software_version":"7.8.2-34"}]"#;
        assert_eq!(VersionSource::NodesMin.read(body), Some(v("7.8.2-34")));
        // Same release, the older build wins, whatever the order the nodes come in.
        let builds = br#"[{"software_version":"7.8.6-119"},{"software_version":"7.8.6-95"}]"#;
        assert_eq!(VersionSource::NodesMin.read(builds), Some(v("7.8.6-95")));
        assert_eq!(VersionSource::NodesMin.path(), "/v1/nodes");
        let one_bad = br#"[{"software_version":"8.0.2-17"},{"software_version":"?"}]"#;
        assert_eq!(VersionSource::NodesMin.read(one_bad), None);
        assert_eq!(VersionSource::NodesMin.read(b"[]"), None);
        assert_eq!(VersionSource::NodesMin.read(b"{}"), None);
    }
}
