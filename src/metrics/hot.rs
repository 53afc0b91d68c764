//! The metrics every proxied request touches — requests answered, upstream latency, requests
//! in flight — kept per worker (issue 15: nothing on the pass-through path is shared between
//! workers, not even a cache line) and merged when `/metrics` is scraped. Exposed under the
//! same names, types and labels as single series would be. A scrape reads the shards one after
//! another, so the in-flight gauge may count a request that ended on one worker and one that
//! started on another in between: off by at most the worker count minus one, for that scrape.

use super::latency::{Latency, Merged};
use super::{ClassLabels, RequestLabels, RouteClass};
use crate::workers::PerWorker;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

/// Statuses counted (every code `http::StatusCode` can hold).
const STATUSES: std::ops::RangeInclusive<u16> = 100..=999;

/// One worker's counts.
#[derive(Debug)]
struct Shard {
    /// Per route class, per status (index: status − 100).
    requests: [Box<[AtomicU64]>; 2],
    latency: [Latency; 2],
    in_flight: AtomicI64,
}

impl Shard {
    fn new() -> Shard {
        let statuses = || {
            STATUSES
                .map(|_| AtomicU64::new(0))
                .collect::<Vec<_>>()
                .into_boxed_slice()
        };
        Shard {
            requests: [statuses(), statuses()],
            latency: Default::default(),
            in_flight: AtomicI64::new(0),
        }
    }
}

/// The hot metrics of every worker.
#[derive(Debug)]
pub struct Hot {
    shards: PerWorker<Shard>,
}

impl Hot {
    pub fn new(workers: usize) -> Arc<Hot> {
        Arc::new(Hot {
            shards: PerWorker::new(workers, Shard::new),
        })
    }

    /// Counts one answered request (a status outside 100–999 cannot be built by `http`; it
    /// would be dropped).
    pub fn request(&self, class: RouteClass, status: u16) {
        let slot = usize::from(status)
            .checked_sub(usize::from(*STATUSES.start()))
            .and_then(|i| self.shards.get().requests[class.index()].get(i));
        if let Some(counter) = slot {
            counter.fetch_add(1, Relaxed);
        }
    }

    pub fn latency(&self, class: RouteClass, elapsed: Duration) {
        self.shards.get().latency[class.index()].observe(elapsed);
    }

    /// Counts a request in flight on this worker until the guard is dropped (on whichever
    /// thread: the guard remembers its shard).
    pub fn in_flight(self: &Arc<Self>) -> HotInFlight {
        let shard = crate::workers::current();
        self.shard_in_flight(shard).fetch_add(1, Relaxed);
        HotInFlight {
            hot: self.clone(),
            shard,
        }
    }

    fn shard_in_flight(&self, shard: usize) -> &AtomicI64 {
        &self.shards.at(shard).in_flight
    }
}

/// See [`Hot::in_flight`].
#[derive(Debug)]
pub struct HotInFlight {
    hot: Arc<Hot>,
    shard: usize,
}

impl Drop for HotInFlight {
    fn drop(&mut self) {
        self.hot.shard_in_flight(self.shard).fetch_sub(1, Relaxed);
    }
}

/// Registers [`Hot`]'s series with the registry, merged over the workers at each scrape.
#[derive(Debug)]
pub struct HotCollector(pub Arc<Hot>);

impl Collector for HotCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let shards = &self.0.shards;
        let classes = [RouteClass::PassThrough, RouteClass::Deprecated];
        {
            let mut requests = encoder.encode_descriptor(
                "requests",
                "Downstream requests answered, by route class and status",
                None,
                MetricType::Counter,
            )?;
            for class in classes {
                for (i, status) in STATUSES.enumerate() {
                    let total: u64 = shards
                        .iter()
                        .map(|s| s.requests[class.index()][i].load(Relaxed))
                        .sum();
                    if total > 0 {
                        let labels = RequestLabels {
                            route_class: class,
                            status,
                        };
                        requests
                            .encode_family(&labels)?
                            .encode_counter::<NoLabelSet, _, u64>(&total, None)?;
                    }
                }
            }
        }
        {
            let mut latency = encoder.encode_descriptor(
                "upstream_latency",
                "Time from sending a request upstream to its reply head",
                Some(&Unit::Seconds),
                MetricType::Histogram,
            )?;
            for class in classes {
                let merged = Merged::of(shards.iter().map(|s| &s.latency[class.index()]));
                let labels = ClassLabels { route_class: class };
                merged.encode(latency.encode_family(&labels)?)?;
            }
        }
        let mut in_flight = encoder.encode_descriptor(
            "in_flight_requests",
            "Downstream requests being served",
            None,
            MetricType::Gauge,
        )?;
        let total: i64 = shards.iter().map(|s| s.in_flight.load(Relaxed)).sum();
        in_flight.encode_gauge(&total)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Metrics, RouteClass};
    use std::time::Duration;

    fn line<'a>(text: &'a str, series: &str) -> &'a str {
        text.lines()
            .find(|l| l.starts_with(series))
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
    }

    #[test]
    fn counts_from_every_worker_are_summed_at_scrape_time() {
        let m = Metrics::with_workers(2);
        std::thread::scope(|s| {
            for worker in 1..=2 {
                let m = &m;
                s.spawn(move || {
                    crate::workers::enter(worker);
                    for _ in 0..worker * 10 {
                        m.request(RouteClass::PassThrough, 200);
                        m.upstream_latency(RouteClass::PassThrough, Duration::from_millis(7));
                    }
                    m.request(RouteClass::Deprecated, 503);
                });
            }
        });
        // And one from a thread that is no worker (slot 0).
        m.request(RouteClass::PassThrough, 200);
        let text = m.encode();
        assert!(line(
            &text,
            "deprecation_shim_requests_total{route_class=\"pass_through\",status=\"200\"}"
        )
        .ends_with(" 31"));
        assert!(line(
            &text,
            "deprecation_shim_requests_total{route_class=\"deprecated\",status=\"503\"}"
        )
        .ends_with(" 2"));
        // 7 ms is above the 5 ms bucket, within the 10 ms one; buckets are cumulative.
        assert!(line(&text, "deprecation_shim_upstream_latency_seconds_bucket{le=\"0.005\",route_class=\"pass_through\"}").ends_with(" 0"));
        assert!(line(&text, "deprecation_shim_upstream_latency_seconds_bucket{le=\"0.01\",route_class=\"pass_through\"}").ends_with(" 30"));
        assert!(line(&text, "deprecation_shim_upstream_latency_seconds_bucket{le=\"+Inf\",route_class=\"pass_through\"}").ends_with(" 30"));
        assert!(line(
            &text,
            "deprecation_shim_upstream_latency_seconds_count{route_class=\"pass_through\"}"
        )
        .ends_with(" 30"));
        let sum: f64 = line(
            &text,
            "deprecation_shim_upstream_latency_seconds_sum{route_class=\"pass_through\"}",
        )
        .rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .expect("sum");
        assert!((sum - 0.21).abs() < 1e-9, "{sum}");
        // Unseen pairs have no series.
        assert!(!text.contains("status=\"404\""));
    }

    #[test]
    fn an_in_flight_request_is_uncounted_from_its_own_shard_wherever_it_ends() {
        let m = Metrics::with_workers(2);
        let guard = std::thread::scope(|s| {
            s.spawn(|| {
                crate::workers::enter(2);
                m.in_flight()
            })
            .join()
            .expect("worker")
        });
        assert!(line(&m.encode(), "deprecation_shim_in_flight_requests").ends_with(" 1"));
        // Dropped here, on a thread that is no worker.
        drop(guard);
        assert!(line(&m.encode(), "deprecation_shim_in_flight_requests").ends_with(" 0"));
    }
}
