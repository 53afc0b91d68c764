//! The documents of the report: one [`Row`] per rule and caller, the [`Totals`] under them,
//! and the per-call counters ([`Outcomes`], [`Phases`]) they carry.

use super::rules::RuleStatus;
use super::DEFAULT_RULE;
use crate::audit::record::Outcome;
use serde::{Deserialize, Serialize};

/// One caller of one rule, as the report and `/deprecations` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// The rule the calls matched ([`DEFAULT_RULE`] for records that name none).
    #[serde(default = "default_rule")]
    pub rule: String,
    pub user: Option<String>,
    /// Whether the cluster accepted this user's credentials on these calls. Verified and
    /// unverified calls under one name are separate rows: a forged name cannot hide among
    /// the real user's calls.
    #[serde(default)]
    pub verified: bool,
    pub client: String,
    pub user_agent: Option<String>,
    pub calls: u64,
    pub first_seen: String,
    pub last_seen: String,
    pub databases: Vec<u64>,
    pub outcomes: Outcomes,
    /// What the calls met: served, exempt, would_refuse (dry run), refused.
    #[serde(default)]
    pub phases: Phases,
    /// The replicas (`instance` of the records) that served this caller.
    #[serde(default)]
    pub instances: Vec<String>,
}

fn default_rule() -> String {
    DEFAULT_RULE.to_owned()
}

/// The lifecycle phase one call met (the record's `phase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallPhase {
    Served,
    Exempt,
    WouldRefuse,
    Refused,
}

impl CallPhase {
    /// The record's text (`would_refuse`), as [`crate::lifecycle::Decision::name`] writes it.
    pub fn parse(s: &str) -> Option<CallPhase> {
        Some(match s {
            "served" => CallPhase::Served,
            "exempt" => CallPhase::Exempt,
            "would_refuse" => CallPhase::WouldRefuse,
            "refused" => CallPhase::Refused,
            _ => return None,
        })
    }
}

/// Calls per lifecycle phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phases {
    pub served: u64,
    pub exempt: u64,
    pub would_refuse: u64,
    pub refused: u64,
}

impl Phases {
    /// Counts `n` calls in phase `p`.
    pub(super) fn add(&mut self, p: CallPhase, n: u64) {
        match p {
            CallPhase::Served => self.served += n,
            CallPhase::Exempt => self.exempt += n,
            CallPhase::WouldRefuse => self.would_refuse += n,
            CallPhase::Refused => self.refused += n,
        }
    }

    pub(super) fn sum(&mut self, o: &Phases) {
        self.served += o.served;
        self.exempt += o.exempt;
        self.would_refuse += o.would_refuse;
        self.refused += o.refused;
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcomes {
    pub ok: u64,
    pub client_error: u64,
    pub upstream_error: u64,
    /// Of `upstream_error`: calls whose end was not recorded, interrupted by a stop or with an
    /// intent record and no outcome after it (issue 20).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub interrupted: u64,
    /// Of `upstream_error`: calls whose request was sent and never answered, with no node
    /// showing it started (outcome `unknown`, issue 21).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unknown: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Outcomes {
    /// Counts `n` calls that ended `o`.
    pub(super) fn add(&mut self, o: Outcome, n: u64) {
        match o {
            Outcome::Ok => self.ok += n,
            Outcome::ClientError => self.client_error += n,
            // Interrupted by a stop: the call did not get its answer from the cluster.
            Outcome::UpstreamError => self.upstream_error += n,
            Outcome::Interrupted => {
                self.upstream_error += n;
                self.interrupted += n;
            }
            Outcome::Unknown => {
                self.upstream_error += n;
                self.unknown += n;
            }
        }
    }
}

/// Totals under the rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub callers: u64,
    pub calls: u64,
    pub outcomes: Outcomes,
    #[serde(default)]
    pub phases: Phases,
    /// Lines that were not audit records (corrupt, truncated, too long).
    pub skipped_lines: u64,
}

/// The JSON document of `report --format json` and of `GET /deprecations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// One entry per rule: its calls and phases, and its schedule when one is configured.
    #[serde(default)]
    pub rules: Vec<RuleStatus>,
    pub callers: Vec<Row>,
    pub totals: Totals,
}
