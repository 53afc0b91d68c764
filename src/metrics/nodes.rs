//! The upstream nodes' series (issue 21), read at scrape time from the live [`NodeSet`]:
//! `upstream_node_up{node}`, `upstream_node_master{node}`, `upstream_node_requests{node}`,
//! `upstream_node_failures{node}`, `upstream_node_latency_seconds{node}` (a histogram of each
//! attempt's time to its response head or failure, issue 24) and `upstream_redirects{outcome}`.
//!
//! Decisions:
//! - The node set belongs to the `App` (a reload may change the list), the registry to the
//!   process: the App built last points the collector at its set, and the counters start anew
//!   with it, as Prometheus expects of a counter reset.
//! - `node` is the configured URL (scheme, host, port): no credentials ever sit in it.

use crate::upstream::nodes::NodeSet;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;
use std::sync::{Arc, Mutex};

/// How a series reads its value from a node.
type Read<T> = fn(&crate::upstream::NodeView) -> T;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct NodeLabels {
    node: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// The node set the collector reads (none before the first `App`).
#[derive(Default)]
pub struct NodeSlot(Mutex<Option<Arc<NodeSet>>>);

impl NodeSlot {
    pub fn set(&self, nodes: Arc<NodeSet>) {
        *crate::locks::lock(&self.0) = Some(nodes);
    }

    fn get(&self) -> Option<Arc<NodeSet>> {
        crate::locks::lock(&self.0).clone()
    }
}

#[derive(Debug)]
pub struct NodesCollector(pub Arc<NodeSlot>);

impl std::fmt::Debug for NodeSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NodeSlot")
    }
}

impl Collector for NodesCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(set) = self.0.get() else {
            return Ok(());
        };
        let view = set.view();
        let gauges: [(&str, &str, Read<i64>); 2] = [
            (
                "upstream_node_up",
                "1 while the node is not in a connect-failure backoff",
                |n| i64::from(n.up),
            ),
            (
                "upstream_node_master",
                "1 for the node the shim sends to first (the master as learned)",
                |n| i64::from(n.master),
            ),
        ];
        for (name, help, value) in gauges {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for n in &view {
                let labels = NodeLabels {
                    node: n.url.clone(),
                };
                family.encode_family(&labels)?.encode_gauge(&value(n))?;
            }
        }
        let counters: [(&str, &str, Read<u64>); 2] = [
            (
                "upstream_node_requests",
                "Requests sent to the node (each attempt)",
                |n| n.requests,
            ),
            (
                "upstream_node_failures",
                "Attempts on the node that got no reply (connect, TLS, reset, timeout)",
                |n| n.failures,
            ),
        ];
        for (name, help, value) in counters {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for n in &view {
                let labels = NodeLabels {
                    node: n.url.clone(),
                };
                family
                    .encode_family(&labels)?
                    .encode_counter::<NoLabelSet, _, u64>(&value(n), None)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "upstream_node_latency",
            "Time from sending an attempt to the node to its response head or failure",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        for (node, latency) in set.latencies() {
            latency.encode(family.encode_family(&NodeLabels { node })?)?;
        }
        let (followed, refused) = set.redirects();
        let mut family = encoder.encode_descriptor(
            "upstream_redirects",
            "Node redirects followed to a configured node, and refused (502 upstream_redirect)",
            None,
            MetricType::Counter,
        )?;
        for (outcome, n) in [("followed", followed), ("refused", refused)] {
            family
                .encode_family(&OutcomeLabels { outcome })?
                .encode_counter::<NoLabelSet, _, u64>(&n, None)?;
        }
        Ok(())
    }
}
