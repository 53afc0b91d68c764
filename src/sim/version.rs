//! The simulated Redis Software release ([`SimVersion`]) and what differs between releases:
//! node `software_version`, the bundled Redis database versions, and the defaults of the new
//! upgrade route. Also the dotted-version arithmetic every compatibility check uses.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// Which Redis Software release the simulator behaves like.
///
/// - `7.4`: the old module-upgrade route works; an upgrade without `redis_version` keeps Redis and
///   `latest_with_modules` defaults to false (pre-7.8.2 behaviour).
/// - `7.8`: the old route still works (deprecated, 7.8.2-34); the new route has the 7.8.2 trap.
/// - `7.22`: as 7.8, plus `PUT /v1/cluster/certificates` (7.22.2-14).
/// - `8.0`: the old route is gone (404); the new route has the trap and bundles Redis 8.0;
///   module upload moves to the user-defined APIs (`/v1|v2/modules` POST/DELETE → 404).
/// - `8.2`: as 8.0, bundles Redis 8.2; module uploads disabled by default and Basic auth can
///   be switched off (`allow_modules_upload`, `control_plane_basic_authentication`).
///
/// Every release here is at least 7.4.2, so `7.4` stands for 7.4.2 where API-RULES gates on it
/// (the new debuginfo paths).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum SimVersion {
    V7_4,
    V7_8,
    V7_22,
    #[default]
    V8_0,
    V8_2,
}

/// A Redis database version the release can run: `redis_version` ("7.2") and the full `version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundledRedis {
    pub redis_version: &'static str,
    pub version: &'static str,
}

const fn bundled(redis_version: &'static str, version: &'static str) -> BundledRedis {
    BundledRedis {
        redis_version,
        version,
    }
}

// Bundled database versions per release, from the "Default Redis database versions" table of
// the RS upgrade-database docs (7.4.x: 6.0/6.2/7.2, 7.8.x: 6.2/7.2/7.4, 8.0.x adds 8.0). The last
// entry is the release's default, i.e. what an unpinned upgrade moves to.
const BUNDLED_7_4: &[BundledRedis] = &[
    bundled("6.0", "6.0.20"),
    bundled("6.2", "6.2.14"),
    bundled("7.2", "7.2.4"),
];
const BUNDLED_7_8: &[BundledRedis] = &[
    bundled("6.2", "6.2.14"),
    bundled("7.2", "7.2.4"),
    bundled("7.4", "7.4.2"),
];
const BUNDLED_8_0: &[BundledRedis] = &[
    bundled("6.2", "6.2.14"),
    bundled("7.2", "7.2.4"),
    bundled("7.4", "7.4.2"),
    bundled("8.0", "8.0.2"),
];
const BUNDLED_8_2: &[BundledRedis] = &[
    bundled("6.2", "6.2.14"),
    bundled("7.2", "7.2.4"),
    bundled("7.4", "7.4.2"),
    bundled("8.0", "8.0.2"),
    bundled("8.2", "8.2.1"),
];

impl SimVersion {
    /// Every simulated release, oldest first.
    pub const ALL: [SimVersion; 5] = [
        SimVersion::V7_4,
        SimVersion::V7_8,
        SimVersion::V7_22,
        SimVersion::V8_0,
        SimVersion::V8_2,
    ];

    /// The nodes' `software_version` in the seed state.
    pub fn software_version(self) -> &'static str {
        match self {
            SimVersion::V7_4 => "7.4.6-77",
            SimVersion::V7_8 => "7.8.2-34",
            SimVersion::V7_22 => "7.22.2-14",
            SimVersion::V8_0 => "8.0.2-17",
            SimVersion::V8_2 => "8.2.0-25",
        }
    }

    pub fn bundled_redis(self) -> &'static [BundledRedis] {
        match self {
            SimVersion::V7_4 => BUNDLED_7_4,
            SimVersion::V7_8 | SimVersion::V7_22 => BUNDLED_7_8,
            SimVersion::V8_0 => BUNDLED_8_0,
            SimVersion::V8_2 => BUNDLED_8_2,
        }
    }

    /// The release's default Redis version (the newest bundled one).
    pub fn latest_redis(self) -> BundledRedis {
        let list = self.bundled_redis();
        list[list.len() - 1]
    }

    /// Looks up a bundled version by `redis_version` ("7.4") or full version ("7.4.2").
    pub fn find_bundled(self, wanted: &str) -> Option<BundledRedis> {
        self.bundled_redis()
            .iter()
            .copied()
            .find(|b| b.redis_version == wanted || b.version == wanted)
    }

    /// Whether `POST /v1/modules/upgrade/bdb/{uid}` exists (removed from the 8.0 docs).
    pub fn old_route_enabled(self) -> bool {
        !self.is_8x()
    }

    /// RS 8.0 or later.
    pub fn is_8x(self) -> bool {
        self >= SimVersion::V8_0
    }

    /// 7.8.2 moved `POST /v1/users/authorize` credentials from the body to the header.
    pub fn authorize_reads_header(self) -> bool {
        self >= SimVersion::V7_8
    }

    /// `PUT /v1/cluster/certificates` exists from 7.22.2.
    pub fn has_certificates_route(self) -> bool {
        self >= SimVersion::V7_22
    }

    /// 8.2 added `allow_modules_upload` and `control_plane_basic_authentication`.
    pub fn has_8_2_switches(self) -> bool {
        self >= SimVersion::V8_2
    }

    /// (major, minor) of the release's builds.
    fn major_minor(self) -> (u64, u64) {
        match self {
            SimVersion::V7_4 => (7, 4),
            SimVersion::V7_8 => (7, 8),
            SimVersion::V7_22 => (7, 22),
            SimVersion::V8_0 => (8, 0),
            SimVersion::V8_2 => (8, 2),
        }
    }

    /// Checks a build override ([`crate::sim::SimConfig::with_build`]): exactly
    /// `MAJOR.MINOR.PATCH-BUILD`, of this release (`7.8.2-34` for 7.8).
    pub fn check_build(self, build: &str) -> Result<Build, String> {
        let exact = build.split(['.', '-']).count() == 4 && build.contains('-');
        let parsed = parse_build(build).filter(|_| exact).ok_or_else(|| {
            format!("build {build:?} is not MAJOR.MINOR.PATCH-BUILD (e.g. 7.8.2-34)")
        })?;
        if (parsed.0, parsed.1) != self.major_minor() {
            return Err(format!(
                "build {build} is not a build of the simulated release {self} \
                 (a {self} build looks like {})",
                self.software_version()
            ));
        }
        Ok(parsed)
    }

    /// 7.8.2 changed `POST /v1/bdbs/{uid}/upgrade`: without `redis_version` it moves Redis to
    /// the release default, and `latest_with_modules` defaults to true (the trap, API.md §3).
    pub fn has_upgrade_trap(self) -> bool {
        !matches!(self, SimVersion::V7_4)
    }
}

impl fmt::Display for SimVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SimVersion::V7_4 => "7.4",
            SimVersion::V7_8 => "7.8",
            SimVersion::V7_22 => "7.22",
            SimVersion::V8_0 => "8.0",
            SimVersion::V8_2 => "8.2",
        })
    }
}

impl FromStr for SimVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "7.4" => Ok(SimVersion::V7_4),
            "7.8" => Ok(SimVersion::V7_8),
            "7.22" => Ok(SimVersion::V7_22),
            "8.0" => Ok(SimVersion::V8_0),
            "8.2" => Ok(SimVersion::V8_2),
            other => Err(format!(
                "unknown simulated release {other:?}: expected 7.4, 7.8, 7.22, 8.0 or 8.2"
            )),
        }
    }
}

/// A full RS version as a numeric 4-tuple, (major, minor, patch, build): tuples order as
/// API-CATALOGUE §11 wants (7.22.0-95 > 7.8.6-303, 7.8.6-119 > 7.8.6-95).
pub type Build = (u64, u64, u64, u64);

/// `MAJOR.MINOR.PATCH[-BUILD]` as a [`Build`]; a missing patch or build counts as 0 (a state
/// file's build-less "7.8.6" is 7.8.6-0). `None` when a part is not a number or there are
/// too many.
pub fn parse_build(v: &str) -> Option<Build> {
    let (release, build) = match v.trim().split_once('-') {
        Some((r, b)) => (r, Some(b)),
        None => (v.trim(), None),
    };
    let mut parts = release.split('.');
    let mut next = || parts.next().map(str::parse::<u64>).transpose().ok();
    let (major, minor, patch) = (next()??, next()??, next()?.unwrap_or(0));
    if next()?.is_some() {
        return None;
    }
    let build = match build {
        Some(b) => b.parse().ok()?,
        None => 0,
    };
    Some((major, minor, patch, build))
}

/// Compares dotted versions numerically, a build suffix counting as one more component:
/// "7.8.2-34" > "7.8.2" > "7.8.1", "7.10" > "7.9". Missing components count as 0, and a
/// component that is not a number ends the comparison there.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (pa, pb) = (numeric_parts(a), numeric_parts(b));
    let len = pa.len().max(pb.len());
    for i in 0..len {
        let x = pa.get(i).copied().unwrap_or(0);
        let y = pb.get(i).copied().unwrap_or(0);
        match x.cmp(&y) {
            Ordering::Equal => continue,
            other => return other,
        }
    }
    Ordering::Equal
}

fn numeric_parts(v: &str) -> Vec<u64> {
    v.trim()
        .split(['.', '-'])
        .map_while(|p| p.parse::<u64>().ok())
        .collect()
}

/// The catalog's integer `version` for a semantic version: major·10000 + minor·100 + patch.
pub fn version_number(semantic_version: &str) -> u64 {
    let parts = numeric_parts(semantic_version);
    let part = |i: usize| parts.get(i).copied().unwrap_or(0);
    part(0) * 10_000 + part(1) * 100 + part(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_releases() {
        for v in SimVersion::ALL {
            assert_eq!(v.to_string().parse::<SimVersion>(), Ok(v));
        }
        assert!("7.2".parse::<SimVersion>().is_err());
    }

    #[test]
    fn build_suffix_counts_as_a_component() {
        assert_eq!(compare_versions("7.8.2-34", "7.8.2"), Ordering::Greater);
        assert_eq!(compare_versions("7.8.6", "7.8.2-34"), Ordering::Greater);
        assert_eq!(compare_versions("7.10", "7.9.9"), Ordering::Greater);
        assert_eq!(compare_versions("7.2", "7.2.0"), Ordering::Equal);
    }

    #[test]
    fn builds_parse_to_tuples_that_order_numerically() {
        assert_eq!(parse_build("7.8.6-119"), Some((7, 8, 6, 119)));
        assert_eq!(parse_build("7.8.6"), Some((7, 8, 6, 0)));
        assert_eq!(parse_build("7.22"), Some((7, 22, 0, 0)));
        assert!(parse_build("7.22.0-95") > parse_build("7.8.6-303"));
        assert!(parse_build("7.8.6-119") > parse_build("7.8.6-95"));
        for bad in ["7", "7.x.2", "7.8.2-", "7.8.2-a", "7.8.2.1"] {
            assert_eq!(parse_build(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_build_override_must_belong_to_the_release() {
        assert_eq!(
            SimVersion::V7_8.check_build("7.8.6-119"),
            Ok((7, 8, 6, 119))
        );
        assert_eq!(
            SimVersion::V7_22.check_build("7.22.0-95"),
            Ok((7, 22, 0, 95))
        );
        let wrong = SimVersion::V7_8
            .check_build("7.22.0-95")
            .expect_err("7.22 on 7.8");
        assert!(
            wrong.contains("not a build of the simulated release 7.8"),
            "{wrong}"
        );
        for bad in ["7.8.2", "7.8-34", "7.8.2-34-1", "seven"] {
            assert!(SimVersion::V7_8.check_build(bad).is_err(), "{bad}");
        }
        for v in SimVersion::ALL {
            assert!(v.check_build(v.software_version()).is_ok(), "{v}");
        }
    }

    #[test]
    fn version_number_follows_the_catalog_rule() {
        assert_eq!(version_number("2.6.17"), 20617);
        assert_eq!(version_number("8.0.2"), 80002);
    }

    #[test]
    fn latest_redis_is_the_release_default() {
        assert_eq!(SimVersion::V7_4.latest_redis().redis_version, "7.2");
        assert_eq!(SimVersion::V7_8.latest_redis().redis_version, "7.4");
        assert_eq!(SimVersion::V8_0.latest_redis().version, "8.0.2");
        assert_eq!(
            SimVersion::V7_8
                .find_bundled("7.2.4")
                .map(|b| b.redis_version),
            Some("7.2")
        );
    }
}
