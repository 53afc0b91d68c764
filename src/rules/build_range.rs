//! Build-range gates (API-CATALOGUE §11): a half-open range `[from, to)` of full RS versions,
//! `MAJOR.MINOR.PATCH-BUILD`, for breaks that exist on some builds of a release only (RS161290 on
//! `[7.8.2-0, 7.8.6-119)` and `[7.22.0-0, 7.22.0-216)`, §3.1). Pure.
//!
//! Decisions (§11):
//! - Both bounds carry a build ([`BuildRange::new`] refuses a bound without one, or an empty
//!   range): a range is about builds, and "7.8.6" alone does not say which.
//! - A version with a build is in or out by the numeric 4-tuple order.
//! - A version **without** a build (the config's `rules.rs_version = "7.8.6"`) is in when every
//!   build of its release is in (7.8.4, or 7.8.2 against a `7.8.2-0` bound), out when none is
//!   (7.8.1, 7.8.7), and [`Membership::Maybe`] when it depends on the build (7.8.6 against
//!   `7.8.6-119`; 7.22.0 against `[7.22.0-0, 7.22.0-216)`). The contract calls every build-less
//!   version between the bounds' triples "maybe"; this is the same rule made exact: a build-less
//!   release wholly inside the range is inside whatever its build.
//! - What "maybe" means is the caller's: a **safety** gate (a refusal) treats it as inside
//!   ([`Membership::fires_safety`]), a **translation** gate as unknown, i.e. pass-through
//!   ([`Membership::translation`]).
//! - A list of ranges, or of nodes, is in when any member is in, else maybe when any is maybe
//!   ([`any`]): a safety gate fires if any node is in range (§11, `GET /v1/nodes`).

use super::version::Version;
use std::fmt;

/// A half-open range of full versions, `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BuildRange {
    from: Version,
    to: Version,
}

/// Whether a version is in a [`BuildRange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Membership {
    In,
    Out,
    /// The version has no build and the answer depends on it.
    Maybe,
}

impl Membership {
    /// A safety gate (a refusal) fires on [`In`](Membership::In) and on
    /// [`Maybe`](Membership::Maybe).
    pub fn fires_safety(self) -> bool {
        self != Membership::Out
    }

    /// For a translation gate: `Some(true)` in, `Some(false)` out, `None` unknown (pass-through).
    pub fn translation(self) -> Option<bool> {
        match self {
            Membership::In => Some(true),
            Membership::Out => Some(false),
            Membership::Maybe => None,
        }
    }
}

impl BuildRange {
    /// `[from, to)`; `None` when a bound has no build or the range is empty.
    pub const fn new(from: Version, to: Version) -> Option<BuildRange> {
        match (from.build, to.build) {
            (Some(_), Some(_)) if lt(from, to) => Some(BuildRange { from, to }),
            _ => None,
        }
    }

    pub fn from(&self) -> Version {
        self.from
    }

    pub fn to(&self) -> Version {
        self.to
    }

    /// Parses `[7.8.2-0, 7.8.6-119)` (the form [`Display`](fmt::Display) writes).
    pub fn parse(s: &str) -> Option<BuildRange> {
        let inner = s.trim().strip_prefix('[')?.strip_suffix(')')?;
        let (from, to) = inner.split_once(',')?;
        BuildRange::new(Version::parse(from.trim())?, Version::parse(to.trim())?)
    }

    /// See the module's decisions.
    pub fn contains(&self, v: Version) -> Membership {
        if v.build.is_some() {
            return if self.from <= v && v < self.to {
                Membership::In
            } else {
                Membership::Out
            };
        }
        // Which builds of v's release are inside: none, all, or some.
        let release = v.release();
        let (from_release, to_release) = (self.from.release(), self.to.release());
        if release < from_release || release > to_release {
            return Membership::Out;
        }
        let every_build_above_from = release > from_release || self.from.build == Some(0);
        let every_build_below_to = release < to_release;
        if release == to_release && self.to.build == Some(0) {
            return Membership::Out;
        }
        if every_build_above_from && every_build_below_to {
            Membership::In
        } else {
            Membership::Maybe
        }
    }
}

/// RS161290 (API-CATALOGUE §3.1, §11): these builds ignore the body's `username` of
/// `/v1/users/password` and change the caller's own password; fixed in 7.8.6-119 and 7.22.0-216.
/// The first user of build ranges (the R13 guard, a safety gate, is not built yet: issue 22).
pub const RS161290: [BuildRange; 2] = [
    checked(
        Version::with_build(7, 8, 2, 0),
        Version::with_build(7, 8, 6, 119),
    ),
    checked(
        Version::with_build(7, 22, 0, 0),
        Version::with_build(7, 22, 0, 216),
    ),
];

/// A constant range: a bad one fails the build, not a request.
const fn checked(from: Version, to: Version) -> BuildRange {
    match BuildRange::new(from, to) {
        Some(r) => r,
        None => panic!("a built-in build range needs builds on both bounds and from < to"),
    }
}

/// `a < b` in a `const fn` (the derived `Ord` is not const).
const fn lt(a: Version, b: Version) -> bool {
    let (ab, bb) = match (a.build, b.build) {
        (Some(x), Some(y)) => (x, y),
        _ => (0, 0),
    };
    if a.major != b.major {
        return a.major < b.major;
    }
    if a.minor != b.minor {
        return a.minor < b.minor;
    }
    if a.patch != b.patch {
        return a.patch < b.patch;
    }
    ab < bb
}

/// In when any member is in, else maybe when any is maybe, else out (several ranges of one
/// gate, or every node of the cluster).
pub fn any(members: impl IntoIterator<Item = Membership>) -> Membership {
    let mut seen = Membership::Out;
    for m in members {
        match m {
            Membership::In => return Membership::In,
            Membership::Maybe => seen = Membership::Maybe,
            Membership::Out => {}
        }
    }
    seen
}

/// Where a list of ranges stands for every node's version (§11: a safety gate fires if any node
/// is in range).
pub fn any_node(ranges: &[BuildRange], nodes: &[Version]) -> Membership {
    any(nodes
        .iter()
        .flat_map(|v| ranges.iter().map(move |r| r.contains(*v))))
}

impl fmt::Display for BuildRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {})", self.from, self.to)
    }
}

#[cfg(test)]
#[path = "build_range_tests.rs"]
mod tests;
