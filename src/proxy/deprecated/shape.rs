//! How the envelope treats a step's call: the route it records, how its outcome is read, whether
//! its lifecycle gate runs and which marks its reply gets.

/// How the envelope treats a step's call (see [`super::outcome`] for the two families).
#[derive(Debug, Clone, Copy)]
pub struct Shape<'a> {
    /// The route template in the audit record.
    pub route: &'a str,
    pub family: Family,
    /// Whether the rule's lifecycle gate runs (a gone step is refused anyway: its answer is
    /// the rule's, not a brownout's).
    pub gated: bool,
    /// Whether a `{uid}`/`{bdb_uid}` path parameter names a database (not R4/R5's module uid).
    pub records_bdb: bool,
    pub marks: Marks,
    /// What the log line tells the caller to migrate to, when the step always has one.
    pub successor: Option<&'static str>,
}

/// How a step's outcome is read: see [`super::outcome`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Built,
    Streamed,
}

/// Which deprecation headers the reply gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marks {
    /// The seed route's configured `shim.deprecation` headers (API.md §5.9).
    Seed,
    /// The rule's own marks (or its gone band's).
    Rule,
}
