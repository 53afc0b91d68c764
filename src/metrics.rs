//! Prometheus metrics of the process, served on the admin port's `/metrics` in the OpenMetrics
//! text format (prometheus-client). The per-request series are per-worker shards merged at
//! scrape time ([`hot`]): no allocation, lock or shared cache line per request. Labels that come
//! from callers (user, User-Agent, error codes from the cluster) are sanitised and capped: past
//! the cap, new values are counted under `"other"`.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

/// The `Content-Type` of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Distinct (user, User-Agent) pairs given their own series; later ones count as "other".
pub const MAX_CALLER_SERIES: usize = 100;
/// Distinct translation `error_code`s given their own series (codes can come from the cluster).
pub const MAX_ERROR_CODE_SERIES: usize = 50;
/// Longest label value kept from caller-supplied text.
pub const MAX_LABEL_CHARS: usize = 64;
/// The label value that absorbs everything past a cap.
pub const OTHER: &str = "other";
/// The user and User-Agent label of every call whose credentials the cluster did not accept.
pub const UNVERIFIED: &str = "unverified";

/// Which kind of route a request took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteClass {
    /// Streamed through untouched.
    PassThrough,
    /// The old module-upgrade route, translated by the shim.
    Deprecated,
}

impl RouteClass {
    fn index(self) -> usize {
        match self {
            RouteClass::PassThrough => 0,
            RouteClass::Deprecated => 1,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RouteClass::PassThrough => "pass_through",
            RouteClass::Deprecated => "deprecated",
        }
    }
}

impl EncodeLabelValue for RouteClass {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    route_class: RouteClass,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ClassLabels {
    route_class: RouteClass,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RefusalLabels {
    reason: &'static str,
}

/// Every metric of the process, in one registry.
pub struct Metrics {
    registry: Registry,
    /// Requests, upstream latency and in-flight requests: per worker, merged at scrape time.
    hot: Arc<hot::Hot>,
    deprecated_tasks: Gauge,
    deprecated_body_bytes: Gauge,
    deprecated_refused: Family<RefusalLabels, Counter>,
    deprecated_interrupted: Counter,
    field_bodies_skipped: Family<RefusalLabels, Counter>,
    audit_write_failures: Counter,
    audit_records: Counter,
    audit_coalesced: Counter,
    cluster_up: Gauge,
    draining: Gauge,
    calls: calls::CallMetrics,
    lifecycle: lifecycle::LifecycleMetrics,
    nodes: Arc<nodes::NodeSlot>,
    roles: roles::RoleCounters,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Metrics for a process without worker threads (tests, tools): one shard.
    pub fn new() -> Metrics {
        Metrics::with_workers(0)
    }

    /// Metrics with a shard of the hot series per worker (see [`crate::workers::slots`]).
    pub fn with_workers(workers: usize) -> Metrics {
        let mut registry = Registry::with_prefix("deprecation_shim");
        let hot = hot::Hot::new(workers);
        registry.register_collector(Box::new(hot::HotCollector(hot.clone())));
        let calls = calls::CallMetrics::register(&mut registry);
        let nodes = Arc::new(nodes::NodeSlot::default());
        registry.register_collector(Box::new(nodes::NodesCollector(nodes.clone())));
        let deprecated_tasks = Gauge::default();
        registry.register(
            "deprecated_tasks",
            "Deprecated-route calls running in their own task, those whose client hung up included (bounded by shim.max_concurrent_calls)",
            deprecated_tasks.clone(),
        );
        let deprecated_body_bytes = Gauge::default();
        registry.register(
            "deprecated_body_bytes",
            "Bytes of deprecated-route bodies reserved against shim.max_buffered_bodies",
            deprecated_body_bytes.clone(),
        );
        let deprecated_refused = Family::<RefusalLabels, Counter>::default();
        registry.register(
            "deprecated_refused",
            "Deprecated-route calls refused by a bound (reason: body_budget, concurrency: 503; unverified_per_ip: 429)",
            deprecated_refused.clone(),
        );
        let deprecated_interrupted = Counter::default();
        registry.register(
            "deprecated_interrupted",
            "Deprecated-route calls interrupted when shim.shutdown_grace ran out",
            deprecated_interrupted.clone(),
        );
        let field_bodies_skipped = Family::<RefusalLabels, Counter>::default();
        registry.register(
            "field_bodies_skipped",
            "Bodies on a field rule's route passed through uninspected (reason: content_type, too_large, budget, not_json)",
            field_bodies_skipped.clone(),
        );
        let audit_write_failures = Counter::default();
        registry.register(
            "audit_write_failures",
            "Audit records that could not be written",
            audit_write_failures.clone(),
        );
        let audit_records = Counter::default();
        registry.register(
            "audit_records",
            "Audit records written",
            audit_records.clone(),
        );
        let audit_coalesced = Counter::default();
        registry.register(
            "audit_coalesced_calls",
            "Unverified callers' failed calls counted into a coalesced audit record instead of a line of their own (issue 20)",
            audit_coalesced.clone(),
        );
        let cluster_up = Gauge::default();
        registry.register(
            "cluster_up",
            "1 when the last background probe of the cluster got an HTTP answer (401 included)",
            cluster_up.clone(),
        );
        let draining = Gauge::default();
        registry.register(
            "draining",
            "1 from the stop signal on (/readyz answers 503)",
            draining.clone(),
        );
        let lifecycle = lifecycle::LifecycleMetrics::register(&mut registry);
        let roles = roles::RoleCounters::register(&mut registry);
        // Process-wide (the exporters outlive reloads): the same counters in every registry.
        for signal in [
            crate::telemetry::Signal::Traces,
            crate::telemetry::Signal::Logs,
        ] {
            registry
                .sub_registry_with_label(("signal".into(), signal.label().into()))
                .register(
                    "telemetry_dropped",
                    "Spans (signal=traces) or audit log records (signal=logs) dropped before export: the queue (telemetry.queue_size) was full, or the collector refused or did not answer",
                    crate::telemetry::dropped_counter(signal),
                );
        }
        Metrics {
            roles,
            nodes,
            calls,
            lifecycle,
            registry,
            hot,
            deprecated_tasks,
            deprecated_body_bytes,
            deprecated_refused,
            deprecated_interrupted,
            field_bodies_skipped,
            audit_write_failures,
            audit_records,
            audit_coalesced,
            cluster_up,
            draining,
        }
    }

    /// F1's role cache counters, for the cache of each `App` (see [`roles`]).
    pub fn role_counters(&self) -> roles::RoleCounters {
        self.roles.clone()
    }

    /// Points the upstream node series at the nodes of the `App` built last.
    pub fn set_nodes(&self, nodes: Arc<crate::upstream::nodes::NodeSet>) {
        self.nodes.set(nodes);
    }

    /// Counts one answered request. Hot path: one relaxed add on this worker's shard.
    pub fn request(&self, class: RouteClass, status: u16) {
        self.hot.request(class, status);
    }

    /// Records the time an upstream call took (request sent → reply head received).
    pub fn upstream_latency(&self, class: RouteClass, elapsed: Duration) {
        self.hot.latency(class, elapsed);
    }

    /// Counts one audited call of rule `rule` by its caller (see [`calls`]).
    pub fn rule_call(
        &self,
        rule: Option<&str>,
        verified: bool,
        user: Option<&str>,
        user_agent: Option<&str>,
    ) {
        self.calls.call(rule, verified, user, user_agent);
    }

    /// The counters [`rule_call`](Self::rule_call) and [`rule_outcome`](Self::rule_outcome)
    /// increment for this caller and outcome, to count its repeats without labelling again.
    pub fn rule_counters(
        &self,
        rule: Option<&str>,
        verified: bool,
        (user, user_agent): (Option<&str>, Option<&str>),
        error_code: Option<&str>,
    ) -> [prometheus_client::metrics::counter::Counter; 2] {
        [
            self.calls.call_counter(rule, verified, user, user_agent),
            self.calls.outcome_counter(rule, error_code),
        ]
    }

    /// Counts how an audited call of rule `rule` ended: `None` is success ("ok").
    pub fn rule_outcome(&self, rule: Option<&str>, error_code: Option<&str>) {
        self.calls.outcome(rule, error_code);
    }

    /// [`Metrics::rule_call`] for a call no rule names (`rule="none"`).
    pub fn deprecated_call(&self, verified: bool, user: Option<&str>, user_agent: Option<&str>) {
        self.calls.call(None, verified, user, user_agent);
    }

    /// [`Metrics::rule_outcome`] for a call no rule names (`rule="none"`).
    pub fn translation_outcome(&self, error_code: Option<&str>) {
        self.calls.outcome(None, error_code);
    }

    /// Marks a request in flight until the guard is dropped.
    /// The lifecycles' decisions and days to Sunset (issue 13).
    pub fn lifecycle(&self) -> &lifecycle::LifecycleMetrics {
        &self.lifecycle
    }

    pub fn in_flight(&self) -> InFlight {
        InFlight::Request(self.hot.in_flight())
    }

    /// Marks a deprecated-route task running until the guard is dropped.
    pub fn deprecated_task(&self) -> InFlight {
        self.deprecated_tasks.inc();
        InFlight::Gauge(self.deprecated_tasks.clone())
    }

    /// Moves the reserved deprecated-route body bytes by `delta`.
    pub fn deprecated_body_bytes(&self, delta: i64) {
        self.deprecated_body_bytes.inc_by(delta);
    }

    /// Counts a deprecated-route call refused by a bound (`"body_budget"`, `"concurrency"`).
    pub fn deprecated_refused(&self, reason: &'static str) {
        self.deprecated_refused
            .get_or_create(&RefusalLabels { reason })
            .inc();
    }

    /// Counts a body on a field rule's route that was passed through uninspected.
    pub fn field_body_skipped(&self, reason: &'static str) {
        self.field_bodies_skipped
            .get_or_create(&RefusalLabels { reason })
            .inc();
    }

    /// Counts a deprecated-route call interrupted at the end of `shim.shutdown_grace`.
    pub fn deprecated_interrupted(&self) {
        self.deprecated_interrupted.inc();
    }

    pub fn audit_write_failed(&self) {
        self.audit_write_failures.inc();
    }

    pub fn set_cluster_up(&self, up: bool) {
        self.cluster_up.set(i64::from(up));
    }

    pub fn set_draining(&self) {
        self.draining.set(1);
    }

    pub fn audit_written(&self) {
        self.audit_records.inc();
    }

    pub fn audit_coalesced(&self) {
        self.audit_coalesced.inc();
    }

    pub fn audit_write_failures(&self) -> u64 {
        self.audit_write_failures.get()
    }

    /// The whole registry in the OpenMetrics text format (ends with `# EOF`).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; an encoder error would mean a bug in a label type.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        out
    }
}

/// Decrements its gauge (in-flight requests, deprecated-route tasks) when dropped (also when the request future is cancelled).
#[derive(Debug)]
pub enum InFlight {
    /// A downstream request (per-worker shard).
    Request(hot::HotInFlight),
    /// A deprecated-route task.
    Gauge(Gauge),
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let InFlight::Gauge(g) = self {
            g.dec();
        }
    }
}

mod calls;
mod labels;
use labels::{label_value, CallerSeries};
mod hot;
pub(crate) mod latency;
pub mod lifecycle;
pub mod nodes;
pub mod roles;

#[cfg(test)]
mod tests;
