//! The deprecated routes' per-call metrics: `deprecated_calls` (by caller) and
//! `translation_outcomes` (by error code). A struct of its own, registered into the process
//! registry by [`CallMetrics::register`] and held by [`Metrics`](super::Metrics).
//!
//! Decisions:
//! - Every series names its rule (`rule`, from the table or the configuration, sanitised like
//!   any label value); the rules are a bounded set, so the label multiplies the caps below by
//!   the number of rules at most.
//! - Only a verified user (the cluster accepted its credentials) gets a (user, User-Agent)
//!   series of its own, at most [`MAX_CALLER_SERIES`] pairs across rules, then `other`; every other call
//!   counts under `unverified`, so junk credentials cannot use up the cap.
//! - Error codes can come from the cluster: at most [`MAX_ERROR_CODE_SERIES`], then `other`.

use super::{label_value, CallerSeries, MAX_ERROR_CODE_SERIES, OTHER};
use crate::locks::lock;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use std::collections::HashSet;
use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CallerLabels {
    rule: String,
    user: String,
    user_agent: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabels {
    rule: String,
    error_code: String,
}

/// The per-call counters of the deprecated routes and their label caps.
#[derive(Debug)]
pub struct CallMetrics {
    deprecated_calls: Family<CallerLabels, Counter>,
    translation_outcomes: Family<OutcomeLabels, Counter>,
    /// The (user, User-Agent) pairs with a series of their own, across rules.
    callers_seen: CallerSeries,
    codes_seen: Mutex<HashSet<String>>,
}

impl CallMetrics {
    /// Registers both families in `registry`.
    pub fn register(registry: &mut Registry) -> CallMetrics {
        let deprecated_calls = Family::<CallerLabels, Counter>::default();
        registry.register(
            "deprecated_calls",
            "Calls of the deprecated routes by rule, verified Basic-auth user and User-Agent (capped; \"other\" past the cap; \"unverified\" when the cluster did not accept the credentials)",
            deprecated_calls.clone(),
        );
        let translation_outcomes = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "translation_outcomes",
            "Audited calls by rule and error_code (\"ok\" for success)",
            translation_outcomes.clone(),
        );
        CallMetrics {
            deprecated_calls,
            translation_outcomes,
            callers_seen: CallerSeries::default(),
            codes_seen: Mutex::new(HashSet::new()),
        }
    }

    /// Counts one call of rule `rule` by its caller (verified users only get their own
    /// series). `None`: a call no rule names, counted under `rule="none"`.
    pub fn call(
        &self,
        rule: Option<&str>,
        verified: bool,
        user: Option<&str>,
        user_agent: Option<&str>,
    ) {
        self.call_counter(rule, verified, user, user_agent).inc();
    }

    /// The counter [`call`](Self::call) increments for this caller (shared, not a copy).
    pub fn call_counter(
        &self,
        rule: Option<&str>,
        verified: bool,
        user: Option<&str>,
        user_agent: Option<&str>,
    ) -> Counter {
        let rule = label_value(rule);
        let (user, user_agent) = self.callers_seen.labels(verified, user, user_agent);
        let labels = CallerLabels {
            rule,
            user,
            user_agent,
        };
        self.deprecated_calls.get_or_create(&labels).clone()
    }

    /// Counts how a call of rule `rule` ended: `error_code` `None` is success ("ok").
    pub fn outcome(&self, rule: Option<&str>, error_code: Option<&str>) {
        self.outcome_counter(rule, error_code).inc();
    }

    /// The counter [`outcome`](Self::outcome) increments (shared, not a copy).
    pub fn outcome_counter(&self, rule: Option<&str>, error_code: Option<&str>) -> Counter {
        let code = match error_code {
            None => "ok".to_owned(),
            Some(c) => label_value(Some(c)),
        };
        let code = {
            let mut seen = lock(&self.codes_seen);
            if seen.contains(&code) || seen.len() < MAX_ERROR_CODE_SERIES {
                seen.insert(code.clone());
                code
            } else {
                OTHER.to_owned()
            }
        };
        self.translation_outcomes
            .get_or_create(&OutcomeLabels {
                rule: label_value(rule),
                error_code: code,
            })
            .clone()
    }
}
