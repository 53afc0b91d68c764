//! The lifecycle's metrics (issue 13): calls refused, would-be-refused (dry run) and let through
//! by an exemption, per rule and caller, and the days to each rule's Sunset. A struct of its own,
//! registered into the process registry by [`LifecycleMetrics::register`], so the request path
//! can hold it next to [`Metrics`](super::Metrics).
//!
//! Decisions:
//! - Served calls are not counted here (every call is already counted per rule and caller
//!   elsewhere); only the three outcomes a lifecycle adds: `refused`, `would_refuse`, `exempt`.
//! - Callers are labelled as in `deprecated_calls`: only a verified user gets its own
//!   (user, User-Agent) series, at most [`MAX_CALLER_SERIES`](super::MAX_CALLER_SERIES) of them
//!   across rules, then `other`; unverified calls count under `unverified`. Rule names come from
//!   the configuration and are sanitised like any label value.
//! - Days to Sunset is computed when the registry is encoded (a scrape), from the lifecycles
//!   last given to [`LifecycleMetrics::set_lifecycles`], so it never goes stale between calls.
//!   Rules without a Sunset have no series.

use super::{label_value, CallerSeries};
use crate::lifecycle::{Clock, Decision, Lifecycle, SystemClock};
use arc_swap::ArcSwap;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct DecisionLabels {
    rule: String,
    /// `refused`, `would_refuse`, `exempt`.
    decision: &'static str,
    user: String,
    user_agent: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RuleLabels {
    rule: String,
}

/// Each rule's lifecycle, and the clock that says "now" for them (the data port's, issue 20).
struct Schedules {
    rules: BTreeMap<String, Lifecycle>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Schedules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schedules")
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

type Shared = Arc<ArcSwap<Schedules>>;

/// Counters and the days-to-Sunset gauge of the lifecycles.
#[derive(Debug)]
pub struct LifecycleMetrics {
    decisions: Family<DecisionLabels, Counter>,
    lifecycles: Shared,
    callers_seen: CallerSeries,
}

/// Computes `lifecycle_days_to_sunset` at each scrape.
#[derive(Debug)]
struct DaysToSunset {
    lifecycles: Shared,
}

impl Collector for DaysToSunset {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let schedules = self.lifecycles.load();
        let now = schedules.clock.now();
        let family = Family::<RuleLabels, Gauge>::default();
        for (name, lc) in schedules.rules.iter() {
            if let Some(days) = lc.days_to_sunset(now) {
                family
                    .get_or_create(&RuleLabels {
                        rule: label_value(Some(name)),
                    })
                    .set(days);
            }
        }
        let metric = encoder.encode_descriptor(
            "lifecycle_days_to_sunset",
            "Whole days to each rule's Sunset, rounded towards it; 0 on the day, negative after (rules with a Sunset only)",
            None,
            family.metric_type(),
        )?;
        family.encode(metric)
    }
}

impl LifecycleMetrics {
    /// Registers the counter family and the gauge collector into `registry` (the process
    /// registry, prefix `deprecation_shim`).
    pub fn register(registry: &mut Registry) -> LifecycleMetrics {
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "lifecycle_decisions",
            "Calls of a deprecated route refused, would-be-refused (dry run) or let through by an exemption, by rule and caller (verified user and User-Agent; capped, \"other\" past the cap; \"unverified\" otherwise)",
            decisions.clone(),
        );
        let lifecycles: Shared = Arc::new(ArcSwap::from_pointee(Schedules {
            rules: BTreeMap::new(),
            clock: Arc::new(SystemClock),
        }));
        registry.register_collector(Box::new(DaysToSunset {
            lifecycles: lifecycles.clone(),
        }));
        LifecycleMetrics {
            decisions,
            lifecycles,
            callers_seen: CallerSeries::default(),
        }
    }

    /// The lifecycles the gauge reports (`config.lifecycle.rules`), at start and on reload.
    pub fn set_lifecycles(&self, lifecycles: &BTreeMap<String, Lifecycle>, clock: Arc<dyn Clock>) {
        self.lifecycles.store(Arc::new(Schedules {
            rules: lifecycles.clone(),
            clock,
        }));
    }

    /// Counts one call's lifecycle decision; [`Decision::Serve`] is not counted.
    pub fn decision(
        &self,
        rule: &str,
        decision: &Decision,
        verified: bool,
        user: Option<&str>,
        user_agent: Option<&str>,
    ) {
        let name = match decision {
            Decision::Serve => return,
            other => other.name(),
        };
        let (user, user_agent) = self.callers_seen.labels(verified, user, user_agent);
        self.decisions
            .get_or_create(&DecisionLabels {
                rule: label_value(Some(rule)),
                decision: name,
                user,
                user_agent,
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::{AfterSunset, Answer, Day, Plan};
    use crate::metrics::MAX_CALLER_SERIES;
    use std::time::Duration;
    use std::time::SystemTime;

    fn encode(registry: &Registry) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, registry).unwrap();
        out
    }

    fn lifecycle(sunset: Option<SystemTime>) -> Lifecycle {
        Lifecycle::new(Plan {
            deprecation: Day::from_ymd(2024, 11, 1).start(),
            sunset,
            brownouts: vec![],
            after_sunset: AfterSunset::Gone,
            answer: Answer::Gone,
            enforce: true,
            warn_before_sunset: Duration::ZERO,
            exemptions: vec![],
        })
        .unwrap()
    }

    #[test]
    fn decisions_are_counted_per_rule_and_caller_and_serve_is_not() {
        let mut registry = Registry::with_prefix("deprecation_shim");
        let m = LifecycleMetrics::register(&mut registry);
        let refusal = crate::lifecycle::Refusal {
            status: http::StatusCode::GONE,
            error_code: crate::lifecycle::ROUTE_BROWNOUT,
            retry_after: None,
            text: String::new(),
        };
        m.decision(
            "module_upload",
            &Decision::Serve,
            true,
            Some("ops"),
            Some("rmadm/1.4"),
        );
        for _ in 0..2 {
            m.decision(
                "module_upload",
                &Decision::Refuse(refusal.clone()),
                true,
                Some("ops"),
                Some("rmadm/1.4"),
            );
        }
        m.decision(
            "update_cert",
            &Decision::WouldRefuse {
                why: refusal.clone(),
            },
            false,
            Some("forged"),
            Some("curl/8"),
        );
        let text = encode(&registry);
        assert!(text.contains("deprecation_shim_lifecycle_decisions_total{rule=\"module_upload\",decision=\"refused\",user=\"ops\",user_agent=\"rmadm/1.4\"} 2"), "{text}");
        assert!(text.contains("deprecation_shim_lifecycle_decisions_total{rule=\"update_cert\",decision=\"would_refuse\",user=\"unverified\",user_agent=\"unverified\"} 1"), "{text}");
        assert!(!text.contains("decision=\"served\""), "{text}");
    }

    #[test]
    fn caller_series_are_capped_across_rules() {
        let mut registry = Registry::default();
        let m = LifecycleMetrics::register(&mut registry);
        let why = crate::lifecycle::Refusal {
            status: http::StatusCode::GONE,
            error_code: crate::lifecycle::ROUTE_SUNSET,
            retry_after: None,
            text: String::new(),
        };
        for i in 0..(MAX_CALLER_SERIES + 7) {
            let d = Decision::WouldRefuse { why: why.clone() };
            m.decision("r", &d, true, Some(&format!("u{i}")), None);
        }
        let text = encode(&registry);
        let series = text
            .lines()
            .filter(|l| l.starts_with("lifecycle_decisions_total{"))
            .count();
        assert_eq!(series, MAX_CALLER_SERIES + 1, "{text}");
        assert!(
            text.contains("user=\"other\",user_agent=\"other\"} 7"),
            "{text}"
        );
    }

    #[test]
    fn days_to_sunset_is_reported_per_rule_with_a_sunset_at_each_scrape() {
        let mut registry = Registry::with_prefix("deprecation_shim");
        let m = LifecycleMetrics::register(&mut registry);
        assert!(!encode(&registry).contains("days_to_sunset{"));
        let in_ten_days = SystemTime::now() + Duration::from_secs(10 * 86_400 + 60);
        let mut all = BTreeMap::new();
        all.insert("module_upgrade".to_owned(), lifecycle(Some(in_ten_days)));
        all.insert("update_cert".to_owned(), lifecycle(None));
        m.set_lifecycles(&all, Arc::new(SystemClock));
        let text = encode(&registry);
        assert!(
            text.contains("# TYPE deprecation_shim_lifecycle_days_to_sunset gauge"),
            "{text}"
        );
        assert!(
            text.contains("deprecation_shim_lifecycle_days_to_sunset{rule=\"module_upgrade\"} 10"),
            "{text}"
        );
        assert!(
            !text.contains("days_to_sunset{rule=\"update_cert\"}"),
            "{text}"
        );
        m.set_lifecycles(&BTreeMap::new(), Arc::new(SystemClock));
        assert!(!encode(&registry).contains("days_to_sunset{"));
    }
}
