//! The deprecated routes' per-call metrics: `deprecated_calls` (by caller) and
//! `translation_outcomes` (by error code). A struct of its own, registered into the process
//! registry by [`CallMetrics::register`] and held by [`Metrics`](super::Metrics).
//!
//! Decisions:
//! - Only a verified user (the cluster accepted its credentials) gets a (user, User-Agent)
//!   series of its own, at most [`MAX_CALLER_SERIES`] of them, then `other`; every other call
//!   counts under `unverified`, so junk credentials cannot use up the cap.
//! - Error codes can come from the cluster: at most [`MAX_ERROR_CODE_SERIES`], then `other`.

use super::{label_value, MAX_CALLER_SERIES, MAX_ERROR_CODE_SERIES, OTHER, UNVERIFIED};
use crate::locks::lock;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use std::collections::HashSet;
use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CallerLabels {
    user: String,
    user_agent: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabels {
    error_code: String,
}

/// The per-call counters of the deprecated routes and their label caps.
#[derive(Debug)]
pub struct CallMetrics {
    deprecated_calls: Family<CallerLabels, Counter>,
    translation_outcomes: Family<OutcomeLabels, Counter>,
    callers_seen: Mutex<HashSet<CallerLabels>>,
    codes_seen: Mutex<HashSet<String>>,
}

impl CallMetrics {
    /// Registers both families in `registry`.
    pub fn register(registry: &mut Registry) -> CallMetrics {
        let deprecated_calls = Family::<CallerLabels, Counter>::default();
        registry.register(
            "deprecated_calls",
            "Calls of the deprecated route by verified Basic-auth user and User-Agent (capped; \"other\" past the cap; \"unverified\" when the cluster did not accept the credentials)",
            deprecated_calls.clone(),
        );
        let translation_outcomes = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "translation_outcomes",
            "Translated calls by error_code (\"ok\" for success)",
            translation_outcomes.clone(),
        );
        CallMetrics {
            deprecated_calls,
            translation_outcomes,
            callers_seen: Mutex::new(HashSet::new()),
            codes_seen: Mutex::new(HashSet::new()),
        }
    }

    /// Counts one call by its caller (verified users only get their own series).
    pub fn call(&self, verified: bool, user: Option<&str>, user_agent: Option<&str>) {
        if !verified {
            let labels = CallerLabels {
                user: UNVERIFIED.into(),
                user_agent: UNVERIFIED.into(),
            };
            self.deprecated_calls.get_or_create(&labels).inc();
            return;
        }
        let labels = CallerLabels {
            user: label_value(user),
            user_agent: label_value(user_agent),
        };
        let labels = {
            let mut seen = lock(&self.callers_seen);
            if seen.contains(&labels) || seen.len() < MAX_CALLER_SERIES {
                seen.insert(labels.clone());
                labels
            } else {
                CallerLabels {
                    user: OTHER.into(),
                    user_agent: OTHER.into(),
                }
            }
        };
        self.deprecated_calls.get_or_create(&labels).inc();
    }

    /// Counts how a translation ended: `None` is success ("ok").
    pub fn outcome(&self, error_code: Option<&str>) {
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
            .get_or_create(&OutcomeLabels { error_code: code })
            .inc();
    }
}
