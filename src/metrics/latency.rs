//! One latency histogram kept in atomics (no lock on the request path) and read at scrape time:
//! the buckets of `upstream_latency{route_class}` ([`super::hot`]) and of
//! `upstream_node_latency{node}` ([`super::nodes`]).
//!
//! Decisions:
//! - One set of bounds for both: 5 ms … ~82 s, doubling (look-ups and reads are milliseconds,
//!   a certificate replacement or a debuginfo package can take minutes), so the per-node
//!   quantiles compare with the per-class ones.
//! - Counts are kept per bucket (not cumulative: one increment per observation); the encoder
//!   makes them cumulative.

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// How many finite buckets.
pub const BUCKETS: usize = 15;

/// Upper bounds of the finite buckets, seconds.
pub fn bounds() -> impl Iterator<Item = f64> {
    (0..BUCKETS).map(|i| 0.005 * 2f64.powi(i as i32))
}

/// Observations of one series.
#[derive(Debug, Default)]
pub struct Latency {
    /// Non-cumulative counts per bucket; the last one is +Inf.
    buckets: [AtomicU64; BUCKETS + 1],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Latency {
    pub fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let bucket = bounds().position(|b| secs <= b).unwrap_or(BUCKETS);
        self.buckets[bucket].fetch_add(1, Relaxed);
        self.count.fetch_add(1, Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Relaxed);
    }
}

/// Several [`Latency`]s (one per worker) summed for one scrape.
#[derive(Debug, Default)]
pub struct Merged {
    per_bucket: [u64; BUCKETS + 1],
    count: u64,
    sum_nanos: u64,
}

impl Merged {
    pub fn of<'a>(parts: impl IntoIterator<Item = &'a Latency>) -> Merged {
        let mut m = Merged::default();
        for l in parts {
            m.count += l.count.load(Relaxed);
            m.sum_nanos = m.sum_nanos.saturating_add(l.sum_nanos.load(Relaxed));
            for (b, n) in m.per_bucket.iter_mut().zip(&l.buckets) {
                *b += n.load(Relaxed);
            }
        }
        m
    }
}

impl EncodeMetric for Merged {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let buckets: Vec<(f64, u64)> = bounds()
            .chain(std::iter::once(f64::MAX))
            .zip(self.per_bucket)
            .collect();
        encoder.encode_histogram::<NoLabelSet>(
            Duration::from_nanos(self.sum_nanos).as_secs_f64(),
            self.count,
            &buckets,
            None,
        )
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}
